"""The rights vocabulary of reference §7.3 / §8, as pure functions of the caller and the records.

`caller` has `username`, `groups`, `is_admin`; `task` has `requester_username`, `watcher_usernames`,
`watcher_groups`, `resolver_usernames`, `resolver_groups`; `template` has `allowed_resolver_usernames`,
`allowed_resolver_groups`, `allow_all_resolver_usernames`; `resolution` has `resolver_username`. Any
object (record, model, dict-free dataclass) with those attributes works.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _list(value: Iterable[str] | None) -> list[str]:
    return list(value or ())


def _intersects(a: Iterable[str] | None, b: Iterable[str] | None) -> bool:
    return bool(set(a or ()) & set(b or ()))


def is_admin(caller: Any) -> bool:
    return bool(caller.is_admin)


def is_requester(caller: Any, task: Any) -> bool:
    return caller.username == (task.requester_username or "")


def is_watcher(caller: Any, task: Any) -> bool:
    return caller.username in _list(task.watcher_usernames) or _intersects(caller.groups, task.watcher_groups)


def is_template_owner(caller: Any, template: Any) -> bool:
    return caller.username in _list(template.allowed_resolver_usernames) or _intersects(
        caller.groups, template.allowed_resolver_groups)


def is_resolution_manager(caller: Any, template: Any, task: Any, resolution: Any = None) -> bool:
    """Template owner, task resolver (user or group), or the resolution's resolver.

    `allow_all_resolver_usernames` does NOT make anyone a manager (µTask).
    """
    if is_template_owner(caller, template):
        return True
    if caller.username in _list(task.resolver_usernames):
        return True
    if resolution is not None and caller.username == (resolution.resolver_username or ""):
        return True
    return _intersects(caller.groups, task.resolver_groups)


def can_read_task(caller: Any, template: Any, task: Any, resolution: Any = None) -> bool:
    """GET task / resolution / step / comments: admin, requester, watcher, resolution manager."""
    return (is_admin(caller) or is_requester(caller, task) or is_watcher(caller, task)
            or is_resolution_manager(caller, template, task, resolution))


def sees_outputs(caller: Any, template: Any, task: Any, resolution: Any = None) -> bool:
    """Step outputs, metadata, children and resolver inputs: admins and managers only."""
    return is_admin(caller) or is_resolution_manager(caller, template, task, resolution)


def sees_passwords(caller: Any) -> bool:
    return is_admin(caller)


def can_manage_resolution(caller: Any, template: Any, task: Any, resolution: Any = None) -> bool:
    """Create resolution, run, pause (not forced), extend, cancel."""
    return is_admin(caller) or is_resolution_manager(caller, template, task, resolution)


def can_change_step_state(caller: Any, template: Any) -> bool:
    return is_admin(caller) or is_template_owner(caller, template)


def can_update_task(caller: Any, template: Any, task: Any, has_resolution: bool) -> bool:
    """Admin, template owner, or the requester while the task has no resolution."""
    return (is_admin(caller) or is_template_owner(caller, template)
            or (is_requester(caller, task) and not has_resolution))


def can_wontfix(caller: Any, template: Any, task: Any) -> bool:
    return is_admin(caller) or is_requester(caller, task) or is_resolution_manager(caller, template, task)


def can_set_resolvers(caller: Any, template: Any) -> bool:
    return is_admin(caller) or is_template_owner(caller, template)


def can_edit_comment(caller: Any, comment_author: str | None) -> bool:
    return is_admin(caller) or caller.username == (comment_author or "")


def autoruns(caller: Any, template: Any, task: Any) -> bool:
    """At creation: admin, resolution manager, or the requester when `allow_all_resolver_usernames`."""
    return (is_admin(caller) or (is_requester(caller, task) and bool(template.allow_all_resolver_usernames))
            or is_resolution_manager(caller, template, task))


def is_sudo(caller: Any, template: Any, task: Any, resolution: Any = None) -> bool:
    """An admin acting where no other right applies (the audit log's `sudo=true`)."""
    if not is_admin(caller):
        return False
    return not (is_requester(caller, task) or is_watcher(caller, task)
                or is_resolution_manager(caller, template, task, resolution))
