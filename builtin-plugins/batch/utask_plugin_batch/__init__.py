"""The batch action plugin (reference §10.4): spawns one task per input and waits until all are final.

Progress travels between runs in the step's metadata, a *string* holding
`{"batch_id":...,"remaining_tasks":N,"tasks_started":M}` with every `"` escaped as `\\"`, so it survives
being re-injected into the JSON context template. Tasks are created through the `batch.create` host call
(POST /batch's creation path, as the parent's requester, tagged with the parent task), at most
`sub_batch_size` running at once; `batch.get` counts the unfinished ones; when the batch is complete,
`run_max.increase` gives the parent resolution back the runs the children's wake-ups consumed (§6.8).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ClientError, ConfigError, PluginError, Result, WaitingError, hookimpl
from utask_sdk.goconv import go_float, go_quote

PARENT_TAG = "_utask_parent_task_id"


@dataclass
class BatchConfig:
    template_name: str = ""
    common_inputs: dict[str, Any] | None = None
    common_json_inputs: str = ""
    inputs: list[dict[str, Any]] | None = None
    json_inputs: str = ""
    comment: str = ""
    watcher_usernames: list[str] | None = None
    watcher_groups: list[str] | None = None
    tags: dict[str, str] | None = None
    resolver_usernames: str = ""  # QUIRK kept (§10.4): parsed nowhere
    resolver_groups: str = ""
    sub_batch_size: str = ""  # a string so it can be templated; "" or "0" = unlimited
    _utask_known_templates: list[str] | None = None  # sent by the server at template load only


@dataclass
class Progress:
    batch_id: str = ""
    remaining_tasks: int = 0
    tasks_started: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "remaining_tasks": self.remaining_tasks,
                "tasks_started": self.tasks_started}


def quoted(text: str) -> str:
    """µTask's quotedString.Format: every `"` escaped, so the text stays a string once re-templated."""
    return text.replace('"', '\\"')


def format_metadata(progress: Progress) -> str:
    return quoted(json.dumps(progress.to_json(), separators=(",", ":")))


def _go_json(text: str) -> Any:
    def number(s: str) -> Any:
        return go_float(float(s))

    return json.loads(text, parse_float=number, parse_int=number)


class Batch(ActionPlugin):
    name = "batch"
    version = "0.1"
    config_model = BatchConfig
    wants_known_templates = True

    def validate(self, config: BatchConfig) -> None:
        if config.tags and PARENT_TAG in config.tags:
            raise ConfigError(f'tag name "{PARENT_TAG}" not allowed')
        known = known_templates(config._utask_known_templates)
        if known is not None and config.template_name not in known:
            raise ConfigError(f'batch template "{config.template_name}" not found')

    def context(self, step_name: str) -> dict[str, Any]:
        return {
            "parent_task_id": "{{ .task.task_id }}",
            "requester_username": "{{.task.requester_username}}",
            "requester_groups": "{{ if .task.requester_groups }}{{ .task.requester_groups }}{{ end }}",
            "metadata": (f"{{{{ if (index .step `{step_name}` ) }}}}{{{{ if (index .step `{step_name}` `metadata`) }}}}"
                         f"{{{{ index .step `{step_name}` `metadata` }}}}{{{{ end }}}}{{{{ end }}}}"),
            "step_name": step_name,
        }

    def execute(self, ctx: Any, config: BatchConfig) -> Any:
        context = ctx.context or {}
        raw_metadata = str(context.get("metadata") or "")
        previous = quoted(raw_metadata)  # what an error keeps: the progress as it was
        try:
            progress, inputs, common, sub_batch_size = parse(config, raw_metadata)
        except PluginError as err:
            err.metadata = previous
            raise
        if not inputs:
            return Result(output=None, metadata=Progress().to_json())  # nothing to do: an object, not a string
        tags = dict(config.tags or {})
        step_name = str(context.get("step_name") or ctx.step_name)

        def populate(batch_id: str | None, running: int) -> tuple[str, int]:
            remaining = len(inputs) - progress.tasks_started
            to_start = sub_batch_size - running
            if remaining < to_start or sub_batch_size == 0:
                to_start = remaining
            to_start = max(0, to_start)
            chunk = inputs[progress.tasks_started:progress.tasks_started + to_start]
            options: dict[str, Any] = {"common_input": common, "comment": config.comment, "tags": tags,
                                       "watcher_usernames": config.watcher_usernames,
                                       "watcher_groups": config.watcher_groups}
            if batch_id:
                options["batch_id"] = batch_id
            created = ctx.host.create_batch(config.template_name, chunk, **options)
            return str(created["id"]), len(created.get("task_ids") or [])

        if progress.batch_id == "":
            # First run: create the batch and its first tasks. A failure keeps no metadata (µTask).
            batch_id, started = populate(None, 0)
            progress = Progress(batch_id=batch_id, remaining_tasks=len(inputs), tasks_started=started)
            raise WaitingError(f"tasks from batch {go_quote(batch_id)} will start shortly",
                               metadata=format_metadata(progress))
        try:
            progress = self._follow(ctx, progress, inputs, populate)
            if progress.remaining_tasks != 0:
                raise WaitingError(f"batch {go_quote(progress.batch_id)} is currently RUNNING",
                                   metadata=format_metadata(progress))
            # Done: compensate the runs the children's wake-ups consumed.
            ctx.host.call("run_max.increase", step_name=step_name)
        except WaitingError:
            raise
        except PluginError as err:
            err.metadata = previous
            raise
        except Exception as err:  # noqa: BLE001 - a plain error keeps the previous progress too
            raise _server_error(str(err), previous) from None
        return Result(output=None, metadata=format_metadata(progress))

    @staticmethod
    def _follow(ctx: Any, progress: Progress, inputs: list[Any], populate: Any) -> Progress:
        batch = ctx.host.get_batch(progress.batch_id)
        if not batch.get("exists"):
            # Collected by the garbage collector once its tasks were gone.
            if progress.tasks_started == len(inputs):
                progress.remaining_tasks = 0
                return progress
            # Tasks remain to start: re-created with the same public id (batch.create with batch_id).
            batch = {"running": 0}
        if progress.tasks_started < len(inputs):
            _, started = populate(progress.batch_id, int(batch.get("running") or 0))
            progress.tasks_started += started
            progress.remaining_tasks -= started
            return progress
        progress.remaining_tasks = int(batch.get("running") or 0)
        return progress


def _server_error(message: str, metadata: str) -> PluginError:
    from utask_sdk import ServerError

    return ServerError(message, metadata=metadata)


def parse(config: BatchConfig, raw_metadata: str) -> tuple[Progress, list[Any], dict[str, Any] | None, int]:
    progress = Progress()
    if raw_metadata != "":
        try:
            data = json.loads(raw_metadata)
            if not isinstance(data, dict):
                raise ValueError("json: cannot unmarshal into Go value of type pluginbatch.BatchMetadata")
            progress = Progress(batch_id=str(data.get("batch_id") or ""),
                                remaining_tasks=int(data.get("remaining_tasks") or 0),
                                tasks_started=int(data.get("tasks_started") or 0))
        except (ValueError, TypeError) as e:
            raise ClientError(f"metadata unmarshalling failure: {e}") from None
    common = dict(config.common_inputs) if config.common_inputs is not None else None
    if config.common_json_inputs != "":
        try:
            decoded = _go_json(config.common_json_inputs)
            if decoded is not None and not isinstance(decoded, dict):
                raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
        except ValueError as e:
            raise ClientError(f"JSON common input unmarshalling failure: {e}") from None
        if decoded is not None:
            common = {**(common or {}), **decoded}
    inputs = list(config.inputs or [])
    if config.json_inputs != "":
        try:
            decoded = _go_json(config.json_inputs)
            if decoded is not None and not (isinstance(decoded, list)
                                            and all(isinstance(i, dict | None) for i in decoded)):
                raise ValueError("json: cannot unmarshal into Go value of type []map[string]interface {}")
        except ValueError as e:
            raise ClientError(f"JSON inputs unmarshalling failure: {e}") from None
        inputs = list(decoded or [])
    size = 0
    if config.sub_batch_size != "":
        text = config.sub_batch_size
        try:
            if not text.lstrip("+-").isdigit() or not text.isascii():
                raise ValueError
            size = int(text)
        except ValueError:
            raise ClientError(f"parsing failure of field 'SubBatchSize': strconv.ParseInt: parsing "
                              f"{go_quote(text)}: invalid syntax") from None
    return progress, inputs, common, size


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
    return [Batch()]
