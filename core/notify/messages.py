"""Notification messages (reference §11.1) and the strategy checks (§11.3).

A `Message` is what every backend receives: the main text, the notification type and flat string fields.
The builders take the task record as the task service holds it (duck-typed: `public_id`, `title`,
`state`, `template_name`, `requester_username`, `resolver_username`, `steps_done`, `steps_total`,
`resolution_public_id`, `tags`), so this module depends on nothing of the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from utask.core import gojson

TASK_STATE_UPDATE = "task_state_update"
TASK_VALIDATION = "task_validation"
TASK_STEP_UPDATE = "task_step_update"
NOTIFICATION_TYPES = (TASK_VALIDATION, TASK_STATE_UPDATE, TASK_STEP_UPDATE)  # µTask's validation order

ALWAYS, SILENT, FAILURE_ONLY, FAILURE_OR_DONE = "always", "silent", "failure_only", "failure_or_done"
STRATEGIES = (ALWAYS, SILENT, FAILURE_ONLY, FAILURE_OR_DONE)

DASHBOARD_TASK_VIEW = "/ui/dashboard/#/task/"
_TASK_FAILED = "BLOCKED"
_DONE = "DONE"
_STEP_FAILURES = ("FATAL_ERROR", "CRASHED", "AFTERRUN_ERROR")


@dataclass(frozen=True)
class Message:
    main_message: str
    notification_type: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def task_id(self) -> str:
        return self.fields.get("task_id", "")

    @property
    def task_state(self) -> str:
        return self.fields.get("state", "")


def main_message(task_id: str, title: str) -> str:
    return f"#task #id:{task_id}\n{title}"


def task_url(base_url: str, dashboard_path_prefix: str, task_id: str) -> str:
    return base_url + dashboard_path_prefix + DASHBOARD_TASK_VIEW + task_id


def _tags(tags: Mapping[str, str] | None) -> str:
    # µTask's tasks always carry a (possibly empty) tag map, so the field is always there: `{}` for none.
    return gojson.dumps(dict(tags or {}))


def potential_resolvers(template: Any, requester: str | None) -> list[str]:
    """Template's allowed resolver usernames, plus the requester when the template allows anybody."""
    names = list(getattr(template, "allowed_resolver_usernames", None) or [])
    if getattr(template, "allow_all_resolver_usernames", False):
        names.append(requester or "")
    return names


def task_state_update(task: Any, url: str, resolvers: Iterable[str] | None = None) -> Message:
    fields = {"task_id": task.public_id, "title": task.title, "state": task.state, "template": task.template_name}
    if task.requester_username:
        fields["requester"] = task.requester_username
    if task.resolver_username:
        fields["resolver"] = task.resolver_username
    fields["steps"] = f"{task.steps_done}/{task.steps_total}"
    resolvers = list(resolvers or ())
    if resolvers:
        fields["potential_resolvers"] = " ".join(resolvers)  # a space, not the comma the README claims
    if task.resolution_public_id:
        fields["resolution_id"] = task.resolution_public_id
    fields["tags"] = _tags(task.tags)
    fields["url"] = url
    return Message(main_message(task.public_id, task.title), TASK_STATE_UPDATE, fields)


def task_validation(task: Any, url: str, resolvers: Iterable[str] | None = None) -> Message:
    fields = {"task_id": task.public_id, "title": task.title, "state": task.state, "template": task.template_name}
    if task.requester_username:
        fields["requester"] = task.requester_username
    resolvers = list(resolvers or ())
    if resolvers:
        fields["potential_resolvers"] = " ".join(resolvers)
    fields["tags"] = _tags(task.tags)
    fields["url"] = url
    return Message(main_message(task.public_id, task.title), TASK_VALIDATION, fields)


def task_step_update(task: Any, url: str, step_name: str, step_state: str) -> Message:
    fields = {
        "task_id": task.public_id, "title": task.title, "state": task.state, "template": task.template_name,
        "requester": task.requester_username or "", "resolver": task.resolver_username or "",
        "steps": f"{task.steps_done}/{task.steps_total}", "resolution_id": task.resolution_public_id or "",
        "tags": _tags(task.tags), "step_name": step_name, "step_state": step_state, "url": url,
    }
    return Message(main_message(task.public_id, task.title), TASK_STEP_UPDATE, fields)


# -- strategies (§11.3) ---------------------------------------------------------------------------------------


def _by_task_state(m: Message, strategy: str | None) -> bool:
    state = m.fields.get("state")
    if strategy == ALWAYS:
        return True
    if strategy == FAILURE_ONLY:
        return state == _TASK_FAILED
    if strategy == FAILURE_OR_DONE:
        return state in (_TASK_FAILED, _DONE)
    return False  # silent, or a type without a strategy (µTask drops those)


def _by_step_state(m: Message, strategy: str | None) -> bool:
    state = m.fields.get("step_state")
    if strategy == ALWAYS:
        return True
    if strategy == FAILURE_ONLY:
        return state in _STEP_FAILURES
    if strategy == FAILURE_OR_DONE:
        return state in (*_STEP_FAILURES, _DONE)
    return False


def should_deliver(m: Message, default_strategy: Mapping[str, str],
                   template_strategies: Mapping[str, list[Any]]) -> bool:
    """µTask's checkIfDeliverMessage: the first template rule naming the message's template decides (on the
    step state for step updates); otherwise the default strategy, on the *task* state even for step updates
    (QUIRK kept, §14.13)."""
    send = _by_task_state(m, default_strategy.get(m.notification_type))
    template = m.fields.get("template")
    if template is None:
        return send
    for rule in template_strategies.get(m.notification_type) or ():
        if template in rule.templates:
            if m.notification_type == TASK_STEP_UPDATE:
                return _by_step_state(m, rule.notification_strategy)
            return _by_task_state(m, rule.notification_strategy)
    return send
