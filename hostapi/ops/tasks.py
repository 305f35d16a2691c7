"""Task operations of the REST API that the task service (F2) does not offer: details, listing, edit,
delete, comments, batches, statistics, audit trail (reference §7.4, §13).

One transaction per request (`store.tx()`), SQL in `utask.core.storage.queries.api_tasks`, rights in
`utask.core.engine.rights`, JSON shapes in `utask.hostapi.views`. Errors carry µTask's texts.
"""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from utask.core.engine import audit, rights
from utask.core.engine.service import PARENT_TAG, Caller, ServiceError, valid_text
from utask.core.engine.states import TaskState as TS
from utask.core.engine.store import NotFoundError, Store, TaskRecord, Tx, utcnow
from utask.core.storage.queries import api_tasks as q
from utask.core.storage.queries import tasks as tq
from utask.core.templates.cache import DECODED_TEMPLATES

from .. import views
from ..http.errors import BadRequest, Forbidden, NotFound

BUILTIN_STATS_STATES = ("TODO", "BLOCKED", "RUNNING", "WONTFIX", "DONE", "CANCELLED")


async def load_template(store: Store, tx: Tx, template_id: int, version: str | None = None) -> Any:
    """The decoded template of a task (shared object: callers must not modify it), from the process-wide
    cache (`utask.core.templates.cache`) when `version` (the row's xmin, read with the task) still matches."""
    if version is not None:
        tpl = DECODED_TEMPLATES.get(store.url, template_id, version)
        if tpl is not None:
            return tpl
    try:
        return await store.decoded_template(tx, template_id=template_id)
    except NotFoundError:
        raise NotFound("Failed to load template from id: sql: no rows in result set") from None


@contextlib.asynccontextmanager
async def read_tx(store: Store) -> AsyncIterator[Tx]:
    """Reads without BEGIN/COMMIT (autocommit statements), like µTask's read handlers: two round trips
    fewer per request."""
    async with store.connection() as conn:
        yield Tx(conn)


def _mask(caller: Caller, tpl: Any, values: dict | None) -> dict | None:
    if rights.sees_passwords(caller):
        return values
    from utask.core.templates.inputs import mask_passwords

    return mask_passwords(tpl.inputs or [], values)


def _client_errors(steps: dict[str, dict]) -> list[dict[str, str]]:
    return [{"step": st.get("description") or "", "error": st.get("error") or ""}
            for _, st in sorted(steps.items()) if st.get("state") == "CLIENT_ERROR"]


async def comments_of(tx: Tx, task_id: int) -> list[dict]:
    return await tx.fetchall(q.SELECT_COMMENTS_OF_TASK, {"id_task": task_id})


@dataclass
class TaskView:
    """A loaded task with what rights and rendering need."""

    task: TaskRecord
    template: Any
    resolution: Any = None
    comments: list[dict] = field(default_factory=list)


async def _load_view(store: Store, tx: Tx, public_id: str, *, lock: bool = False, steps: bool = False,
                     comments: bool = True) -> TaskView:
    task = await store.load_task(tx, public_id, lock=lock)
    tpl = await load_template(store, tx, task.id_template)
    res = None
    if task.resolution_public_id is not None:
        res = await store.load_resolution(tx, task.resolution_public_id, with_steps=steps)
    coms = await comments_of(tx, task.id) if comments else []
    return TaskView(task, tpl, res, coms)


def render_task(caller: Caller, view: TaskView) -> dict[str, Any]:
    task, tpl = view.task, view.template
    errors = None
    if task.state == TS.BLOCKED and view.resolution is not None and view.resolution.steps:
        errors = _client_errors(view.resolution.steps)
    return views.task_json(task, input=_mask(caller, tpl, task.input), result=task.result,
                           comments=view.comments, errors=errors, resolver_inputs=tpl.resolver_inputs)


async def get_task(store: Store, caller: Caller, public_id: str, state: Any = None) -> dict[str, Any]:
    """GET /task/:id: one query in the common case (task, template version, comments)."""
    async with read_tx(store) as tx:
        row = await tx.fetchone(q.SELECT_TASK_DETAIL, {"public_id": public_id})
        if row is None:
            raise NotFound("Failed to load task from public id: sql: no rows in result set")
        comments = [_comment_row(c) for c in (row.get("comments_json") or [])]
        task = store._task_from_row(row)
        tpl = await load_template(store, tx, task.id_template, row["template_version"])
        res: Any = None
        if task.resolution_public_id is not None:
            # Rights only need the resolver; the steps only a BLOCKED task's `errors`.
            if task.state == TS.BLOCKED:
                res = await store.load_resolution(tx, task.resolution_public_id, with_steps=True)
            else:
                res = SimpleNamespace(resolver_username=task.resolver_username, steps=None)
    if not rights.can_read_task(caller, tpl, task, res):
        raise Forbidden("Can't display task details")
    _sudo(state, caller, tpl, task, res)
    return render_task(caller, TaskView(task, tpl, res, comments))


def _comment_row(c: dict) -> dict:
    # json_build_object gives timestamps as ISO text: back to datetimes for Go's RFC 3339 output.
    return {**c, "created": datetime.fromisoformat(c["created"]), "updated": datetime.fromisoformat(c["updated"])}


def _sudo(state: Any, caller: Caller, tpl: Any, task: Any, res: Any = None) -> None:
    if state is not None and rights.is_sudo(caller, tpl, task, res):
        state.sudo = True


@dataclass
class TaskFilter:
    type: str = "own"
    state: str | None = None
    batch: str | None = None
    template: str | None = None
    page_size: int = 1000
    last: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)


def _row_task(row: dict) -> Any:
    data = dict(row)
    data["resolver_username"] = data.pop("resolution_resolver_username")
    return SimpleNamespace(**data)


async def list_tasks(store: Store, caller: Caller, f: TaskFilter) -> list[dict[str, Any]]:
    """GET /task: one page, newest activity first (items are not decrypted: `input` is null)."""
    async with read_tx(store) as tx:
        filters, params = await task_filters(tx, caller, f)
        rows = await tx.fetchall(q.list_tasks(filters), params)
    return [views.task_json(_row_task(r), input=None, resolver_inputs=r["template_resolver_inputs"]) for r in rows]


async def task_filters(tx: Tx, caller: Caller, f: TaskFilter) -> tuple[set[str], dict[str, Any]]:
    """The WHERE fragments (`utask.core.storage.queries.api_tasks`) and parameters of a task filter; an
    unknown batch or `last` task is a 404."""
    filters: set[str] = set()
    params: dict[str, Any] = {"limit": f.page_size, "user": caller.username, "groups": list(caller.groups)}
    if f.state is not None:
        filters.add("state")
        params["state"] = f.state
    if f.template is not None:
        filters.add("template")
        params["template"] = f.template
    if f.batch is not None:
        row = await tx.fetchone(q.SELECT_BATCH_BY_PUBLIC_ID, {"public_id": f.batch})
        if row is None:
            raise NotFound("Failed to load batch from public id: sql: no rows in result set")
        filters.add("batch")
        params["batch_id"] = row["id"]
    if f.last is not None:
        if await tx.fetchone(q.TASK_EXISTS, {"public_id": f.last}) is None:
            raise NotFound("Failed to load task from public id: sql: no rows in result set")
        filters.add("last")
        params["last"] = f.last
    if f.after is not None:
        filters.add("after")
        params["after"] = f.after
    if f.before is not None:
        filters.add("before")
        params["before"] = f.before
    if f.tags:
        filters.add("tags")
        params["tags"] = json.dumps(f.tags)
    if f.type == "own":
        filters.add("own")
    elif f.type == "resolvable":
        filters.add("resolvable")
    elif not caller.is_admin:
        filters.add("all")
    return filters, params


async def update_task(services: Any, caller: Caller, public_id: str, body: Any, state: Any = None) -> dict[str, Any]:
    """PUT /task/:id: replaces input, watchers and tags (absent → null, µTask quirk kept)."""
    from utask.core.templates.inputs import unmask_passwords

    store: Store = services.store
    async with store.tx() as tx:
        task = await store.load_task(tx, public_id, lock=True)
        tpl = await load_template(store, tx, task.id_template)
        has_res = task.resolution_public_id is not None
        if not rights.can_update_task(caller, tpl, task, has_res):
            raise Forbidden("Can't update task")
        if not (rights.is_requester(caller, task) and not has_res) and not rights.is_template_owner(caller, tpl):
            _mark_sudo(state)
        res = None
        if has_res:
            res = await store.load_resolution(tx, task.resolution_public_id, with_steps=False)
            if res.state != "PAUSED":
                raise BadRequest("Cannot update a task which resolution is not in state 'PAUSED'")
        new_input = unmask_passwords(tpl.inputs or [], dict(body.input or {}), task.input)
        tags = body.tags
        old_parent = (task.tags or {}).get(PARENT_TAG)
        new_has = tags is not None and PARENT_TAG in tags
        if (new_has and (old_parent is None or tags[PARENT_TAG] != old_parent)) or (not new_has and old_parent is not None):
            raise BadRequest(f"tag {PARENT_TAG} is read-only and cannot be modified")
        task.input = new_input
        task.watcher_usernames = body.watcher_usernames
        task.watcher_groups = body.watcher_groups
        task.tags = dict(tags) if tags is not None else None
        validate = getattr(services.tasks, "_validate_task", None)
        if validate is not None:
            try:
                validate(task, tpl)  # inputs checked (NotValid → 400), title re-rendered
            except ServiceError as e:  # µTask's Task.Update annotates its validation errors
                raise ServiceError(e.kind, f"Failed to update task: {e.message}") from None
        await store.update_task(tx, task)
        await store.add_comment(tx, task.id, caller.username, "manually edited task")
        await audit.append(tx, [audit.Event(kind=audit.MANUAL, task_public_id=task.public_id,
                                            resolution_public_id=task.resolution_public_id,
                                            actor=caller.username, instance_id=store.instance_id,
                                            details={"action": "edit_task"})], store.keyring)
        comments = await comments_of(tx, task.id)
    return render_task(caller, TaskView(task, tpl, res, comments))


def _mark_sudo(state: Any) -> None:
    if state is not None:
        state.sudo = True


async def delete_task(store: Store, caller: Caller, public_id: str) -> None:
    """DELETE /task/:id (admin, checked by the route): refused while RUNNING or BLOCKED; cascades."""
    async with store.tx() as tx:
        task = await store.load_task(tx, public_id, lock=True)
        if task.state in (TS.RUNNING, TS.BLOCKED):
            raise BadRequest(f'Task can\'t be deleted while in state "{task.state}"')
        # The trail outlives the task (no foreign key): it records who deleted it.
        await audit.append(tx, [audit.Event(kind=audit.MANUAL, task_public_id=task.public_id,
                                            from_state=task.state, actor=caller.username,
                                            instance_id=store.instance_id, details={"action": "delete_task"})],
                           store.keyring)
        await store.delete_task(tx, task.id)


# -- comments ----------------------------------------------------------------------------------------------


def _valid_comment(content: str, what: str) -> None:
    try:
        valid_text("task comment", content)
    except ServiceError as e:
        raise BadRequest(f"{what}: {e.message}") from None


async def _comment_context(store: Store, tx: Tx, caller: Caller, public_id: str, refusal: str) -> TaskView:
    view = await _load_view(store, tx, public_id, comments=False)
    if not rights.can_read_task(caller, view.template, view.task, view.resolution):
        raise Forbidden(refusal)
    return view


async def create_comment(store: Store, caller: Caller, public_id: str, content: str) -> dict[str, Any]:
    async with store.tx() as tx:
        view = await _comment_context(store, tx, caller, public_id, "Can't create comment")
        _valid_comment(content, "Failed to create comment")
        c = await store.add_comment(tx, view.task.id, caller.username, content)
    return views.comment_json(c)


async def list_comments(store: Store, caller: Caller, public_id: str) -> list[dict[str, Any]]:
    async with read_tx(store) as tx:
        view = await _comment_context(store, tx, caller, public_id, "Can't list comment")
        rows = await comments_of(tx, view.task.id)
    return [views.comment_json(c) for c in rows]


async def _load_comment(tx: Tx, comment_id: str) -> dict:
    row = await tx.fetchone(q.SELECT_COMMENT, {"public_id": comment_id})
    if row is None:
        raise NotFound("Failed to load comment from public id: sql: no rows in result set")
    return row


def _comment_out(row: dict) -> dict[str, Any]:
    return views.comment_json({**row, "id": row["id_public"]})


async def get_comment(store: Store, caller: Caller, public_id: str, comment_id: str) -> dict[str, Any]:
    async with read_tx(store) as tx:
        await _comment_context(store, tx, caller, public_id, "Can't get comment")
        # µTask does not check that the comment belongs to the task here.
        row = await _load_comment(tx, comment_id)
    return _comment_out(row)


async def update_comment(store: Store, caller: Caller, public_id: str, comment_id: str, content: str) -> dict[str, Any]:
    async with store.tx() as tx:
        task = await store.load_task(tx, public_id)
        row = await _load_comment(tx, comment_id)
        if not rights.can_edit_comment(caller, row["username"]):
            raise Forbidden("Not allowed to update comment")
        if row["id_task"] != task.id:
            raise BadRequest("Comment and task don't match")
        _valid_comment(content, "Failed to update comment")
        now = utcnow()
        await tx.execute(q.UPDATE_COMMENT, {"id": row["id"], "content": content, "updated": now})
        await tx.task_changed(task.public_id)
        row = {**row, "content": content, "updated": now}
    return _comment_out(row)


async def delete_comment(store: Store, caller: Caller, public_id: str, comment_id: str) -> None:
    async with store.tx() as tx:
        task = await store.load_task(tx, public_id)
        row = await _load_comment(tx, comment_id)
        if not rights.can_edit_comment(caller, row["username"]):
            raise Forbidden("Not allowed to delete comment")
        if row["id_task"] != task.id:
            raise BadRequest("Comment and task don't match")
        await tx.execute(q.DELETE_COMMENT, {"id": row["id"]})
        await tx.task_changed(task.public_id)


# -- batches -------------------------------------------------------------------------------------------------


def merge_inputs(common: dict | None, item: dict | None) -> dict[str, Any]:
    out = dict(copy.deepcopy(item or {}))
    for k, v in (common or {}).items():
        if k in out:
            raise BadRequest("Conflicting keys in input maps")
        out[k] = copy.deepcopy(v)
    return out


async def create_batch(services: Any, caller: Caller, body: Any) -> dict[str, str]:
    """POST /batch: one transaction; any failure rolls every task back."""
    if body.tags and PARENT_TAG in body.tags:
        raise BadRequest(f'tag name "{PARENT_TAG}" not allowed')
    store: Store = services.store
    async with store.tx() as tx:
        public_id = str(uuid.uuid4())
        row = await tx.fetchone(tq.INSERT_BATCH, {"public_id": public_id})
        # µTask loads the template once, before any input: an unknown name is a 404 even without inputs.
        await store.load_template(tx, name=body.template_name or "")
        for item in body.inputs or []:
            if item is not None and not isinstance(item, dict):
                raise BadRequest("error parsing request body: inputs must be a list of maps")
            await services.tasks.create_task(
                caller, body.template_name or "", merge_inputs(body.common_input, item), comment=body.comment,
                watcher_usernames=body.watcher_usernames, watcher_groups=body.watcher_groups,
                resolver_usernames=None, resolver_groups=None, tags=body.tags, batch_id=row["id"], tx=tx)
    return {"id": public_id}


# -- statistics and audit -----------------------------------------------------------------------------------------


async def stats(store: Store, tags: dict[str, str]) -> dict[str, Any]:
    """GET /unsecured/stats: every task counted by state (the six main states always present)."""
    async with read_tx(store) as tx:
        if tags:
            rows = await tx.fetchall(q.COUNT_BY_STATE_WITH_TAGS, {"tags": json.dumps(tags)})
        else:
            rows = await tx.fetchall(q.COUNT_BY_STATE)
    counts: dict[str, int] = dict.fromkeys(BUILTIN_STATS_STATES, 0)
    for r in rows:
        counts[r["state"]] = int(r["state_count"])
    return {"task_states": counts}


async def counts_by_group(store: Store) -> list[dict[str, Any]]:
    async with read_tx(store) as tx:
        return await tx.fetchall(q.COUNT_BY_GROUP_STATE_TEMPLATE)


async def task_audit(store: Store, caller: Caller, public_id: str) -> dict[str, Any]:
    """GET /task/:id/audit (beyond µTask): the events and whether the hash chain verifies."""
    async with store.tx() as tx:
        view = await _load_view(store, tx, public_id, comments=False)
        if not rights.can_read_task(caller, view.template, view.task, view.resolution):
            raise Forbidden("Can't display task details")
        events = await audit.read_events(tx, view.task.public_id, store.keyring)
        check = await audit.verify_chain(tx, view.task.public_id, store.keyring)
    return {"task_id": view.task.public_id, "events": events, "verified": check.ok, "problems": check.problems}
