"""The JSON shapes of reference §7.5, built from the store's records (Go's `omitempty` rules applied).

Pure functions: no database, no rights decisions (callers say what to hide).
"""

from __future__ import annotations

from typing import Any

STEP_HIDDEN_FIELDS = ("output", "metadata", "children", "item")


def _input_json(definition: Any) -> Any:
    return definition.to_json() if hasattr(definition, "to_json") else definition


def task_json(
    task: Any,
    *,
    input: Any = None,
    result: Any = None,
    comments: list[dict] | None = None,
    errors: list[dict] | None = None,
    resolver_inputs: list[Any] | None = None,
) -> dict[str, Any]:
    """µTask's `task.Task` JSON. `input` None renders `null` (listings never decrypt)."""
    out: dict[str, Any] = {
        "id": task.public_id,
        "title": task.title,
        "requester_username": task.requester_username or "",
        "created": task.created,
        "state": task.state,
        "steps_done": task.steps_done,
        "steps_total": task.steps_total,
        "last_activity": task.last_activity,
        "template_name": task.template_name,
        "input": input,
    }
    for name in ("requester_groups", "watcher_usernames", "watcher_groups", "resolver_usernames", "resolver_groups"):
        value = getattr(task, name)
        if value:
            out[name] = value
    if task.tags:
        out["tags"] = task.tags
    if result:
        out["result"] = result
    if task.resolution_public_id is not None:
        out["resolution"] = task.resolution_public_id
    if task.last_start is not None:
        out["last_start"] = task.last_start
    if task.last_stop is not None:
        out["last_stop"] = task.last_stop
    if task.resolver_username is not None:
        out["resolver_username"] = task.resolver_username
    if comments:
        out["comments"] = [comment_json(c) for c in comments]
    if task.batch_public_id is not None:
        out["batch"] = task.batch_public_id
    if errors:
        out["errors"] = errors
    if resolver_inputs:
        out["resolver_inputs"] = [_input_json(i) for i in resolver_inputs]
    return out


def comment_json(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "username": c.get("username") or "", "created": c["created"],
            "updated": c["updated"], "content": c["content"]}


def hide_step_outputs(step: dict[str, Any]) -> dict[str, Any]:
    out = dict(step)
    for name in STEP_HIDDEN_FIELDS:
        if name in out:
            out[name] = None
    out.pop("logs", None)  # ours (what the plugin logged and printed tells its output): left out, not nulled
    return out


def resolution_json(res: Any, *, show_outputs: bool = True, task_title: str | None = None) -> dict[str, Any]:
    """µTask's `resolution.Resolution` JSON; `show_outputs` False nulls step outputs and resolver inputs."""
    out: dict[str, Any] = {
        "id": res.public_id,
        "resolver_username": res.resolver_username or "",
        "state": res.state,
    }
    if res.instance_id is not None:
        out["instance_id"] = res.instance_id
    out["created"] = res.created
    for name in ("last_start", "last_stop", "next_retry"):
        value = getattr(res, name)
        if value is not None:
            out[name] = value
    out["run_count"] = res.run_count
    out["run_max"] = res.run_max
    out["base_configurations"] = res.base_configurations
    out["task_id"] = res.task_public_id
    out["task_title"] = res.task_title if task_title is None else task_title
    steps = res.steps or {}
    if steps:
        out["steps"] = steps if show_outputs else {n: hide_step_outputs(s) for n, s in steps.items()}
    if show_outputs and res.resolver_inputs:
        out["resolver_inputs"] = res.resolver_inputs
    return out


TEMPLATE_LIST_FIELDS = (
    "name", "description", "long_description", "doc_link", "allowed_resolver_groups",
    "allowed_resolver_usernames", "allow_all_resolver_usernames", "auto_runnable", "blocked", "hidden",
    "retry_max", "allow_task_start_over", "inputs", "resolver_inputs", "base_configurations", "tags",
)


def template_json(tpl: Any, *, full: bool = True) -> dict[str, Any]:
    data = tpl.to_json() if hasattr(tpl, "to_json") else dict(tpl)
    if full:
        return data
    return {k: v for k, v in data.items() if k in TEMPLATE_LIST_FIELDS}


def function_json(fn: Any) -> dict[str, Any]:
    return fn.to_json() if hasattr(fn, "to_json") else dict(fn)
