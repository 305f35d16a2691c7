"""The subtask action plugin (reference §10.3): spawns a task from another template and follows it.

The plugin never touches the database: it creates and reads the child task through host calls
(`task.create`, `task.get`), which the server runs as the parent task's requester and tags with
`_utask_parent_task_id`. The child's id is kept in the step output, so later runs (woken when the child
ends, §6.8) read that task instead of creating another one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ClientError, ConfigError, RetryError, ServerError, WaitingError, hookimpl
from utask_sdk.goconv import go_float

PARENT_TAG = "_utask_parent_task_id"


@dataclass
class SubtaskConfig:
    template: str = ""
    input: dict[str, Any] | None = None
    json_input: str = ""
    # Each a *string* holding a JSON array (µTask's templating produces text).
    resolver_usernames: str = ""
    resolver_groups: str = ""
    watcher_usernames: str = ""
    watcher_groups: str = ""
    delay: str | None = None
    tags: dict[str, str] | None = None
    # Sent by the server at template load only (names of the known templates), see wants_known_templates.
    _utask_known_templates: list[str] | None = None


def validate_tags(tags: dict[str, str] | None) -> None:
    if tags and PARENT_TAG in tags:
        raise ConfigError(f'tag name "{PARENT_TAG}" not allowed')


def go_json_floats(text: str) -> Any:
    """json.Unmarshal into interface{}: every number becomes a float64 (written back the Go way)."""
    def number(s: str) -> Any:
        return go_float(float(s))

    return json.loads(text, parse_float=number, parse_int=number)


def json_row(text: str) -> list[str]:
    """utils.ConvertJSONRowToSlice: a JSON array of strings."""
    value = json.loads(text)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("json: cannot unmarshal into Go value of type []string")
    return value


class Subtask(ActionPlugin):
    name = "subtask"
    version = "0.1"
    config_model = SubtaskConfig
    wants_known_templates = True  # validation needs the templates being imported (µTask's templateimport)

    def validate(self, config: SubtaskConfig) -> None:
        validate_tags(config.tags)
        known = known_templates(config._utask_known_templates)
        if known is not None and config.template not in known:
            raise ConfigError(f'sub-task template "{config.template}" not found')

    def context(self, step_name: str) -> dict[str, Any]:
        return {
            "parent_task_id": "{{ .task.task_id }}",
            "task_id": (f"{{{{ if (index .step `{step_name}` ) }}}}{{{{ if (index .step `{step_name}` `output`) }}}}"
                        f"{{{{ index .step `{step_name}` `output` `id` }}}}{{{{ end }}}}{{{{ end }}}}"),
            "requester_username": "{{.task.requester_username}}",
            "requester_groups": "{{ if .task.requester_groups }}{{ .task.requester_groups }}{{ end }}",
        }

    def execute(self, ctx: Any, config: SubtaskConfig) -> Any:
        context = ctx.context or {}
        child_id = str(context.get("task_id") or "")
        if child_id:
            # Already spawned on a previous run: only follow it.
            task = ctx.host.get_task(child_id)
        else:
            options: dict[str, Any] = {}
            for field in ("resolver_usernames", "resolver_groups", "watcher_usernames", "watcher_groups"):
                text = getattr(config, field)
                if text != "":
                    try:
                        options[field] = json_row(text)
                    except ValueError as e:
                        raise ServerError(f"can't convert JSON to row slice: {e}") from None
            inputs = dict(config.input or {})
            if config.json_input != "":
                try:
                    decoded = go_json_floats(config.json_input)
                except ValueError as e:
                    raise ServerError(f"can't parse `json_input`: {e}") from None
                if decoded is not None:
                    if not isinstance(decoded, dict):
                        raise ServerError("can't parse `json_input`: json: cannot unmarshal into Go value of type "
                                          "map[string]interface {}")
                    inputs.update(decoded)  # decoded into the same map: its keys win
            parent = str(context.get("parent_task_id") or ctx.task_id)
            task = ctx.host.create_task(
                config.template, inputs, tags=dict(config.tags or {}), delay=config.delay,
                comment=f"Auto created subtask, parent task {parent}", **options)
        return outcome(task)


def outcome(task: dict[str, Any]) -> dict[str, Any]:
    """The child's state decides the step's (§10.3); the output (with the child's id) is kept either way."""
    output = {
        "id": task.get("id"), "state": task.get("state"), "result": task.get("result"),
        "resolver_username": task.get("resolver_username"), "requester_username": task.get("requester_username"),
    }
    state, public_id = task.get("state"), task.get("id")
    if state == "DONE":
        return output
    if state in ("CANCELLED", "WONTFIX", "BLOCKED"):
        raise ClientError(f"Task '{public_id}' changed state: {str(state).lower()}", output=output)
    if state == "TODO":
        if not task.get("resolution"):
            raise WaitingError(f'Task "{public_id}" is waiting for human validation', output=output)
        raise WaitingError(f'Task "{public_id}" will start shortly', output=output)
    if state == "RUNNING":
        raise RetryError(f'Task "{public_id}" is currently RUNNING', output=output)
    raise ServerError(f'Task "{public_id}" not done yet (current state is {state})', output=output)


def known_templates(sent: list[str] | None) -> set[str] | None:
    """The templates this configuration may name, or None when nobody said (then nothing is checked).

    In the sandbox the server sends them (`_utask_known_templates`, see `wants_known_templates`). Run in the
    server's own process (`utask templates check`), the validation's KNOWN_TEMPLATES context variable is
    visible; it is never empty there (it holds at least the template being checked).
    """
    if sent is not None:
        return set(sent)
    try:
        from utask.core.templates.catalogs import KNOWN_TEMPLATES
    except ImportError:  # the server is not installed beside the plugin: nothing to compare with
        return None
    names = KNOWN_TEMPLATES.get()
    return set(names) if names else None


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Subtask()]
