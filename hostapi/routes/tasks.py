"""Tasks, their comments, batches and audit trails (reference §7.4; `/task/:id/audit` is ours)."""

from __future__ import annotations

from fastapi import Depends, Query, Request
from starlette.responses import Response
from utask.core.engine.store import utcnow

from .. import views
from ..http.errors import BadRequest
from ..http.paging import normalize_page_size, paging_headers, task_next_link
from ..models import CommentIn, CreateBatchIn, CreateTaskIn, UpdateTaskIn
from ..ops import tasks as ops
from .common import (
    ADMIN_WRITE,
    SECURED,
    WRITE,
    body,
    check_uuid,
    metadata,
    openapi_body,
    parse_time,
    respond,
    router,
    services,
)
from .meta import parse_tags

api = router()

TASK_TYPES = ("own", "resolvable", "all")


@api.post("/task", dependencies=WRITE, status_code=201, name="createTask", summary="Create a task",
          openapi_extra=openapi_body(CreateTaskIn))
async def create_task(request: Request) -> Response:
    s = services(request)
    caller = request.state.caller
    b = await body(request, CreateTaskIn)
    metadata(request, template_name=b.template_name)
    task = await s.tasks.create_task(
        caller, b.template_name or "", b.input, comment=b.comment, watcher_usernames=b.watcher_usernames,
        watcher_groups=b.watcher_groups, resolver_usernames=b.resolver_usernames,
        resolver_groups=b.resolver_groups, delay=b.delay, tags=b.tags)
    metadata(request, task_id=task.public_id, resolution_id=task.resolution_public_id)
    comments = []
    if b.comment:
        async with ops.read_tx(s.store) as tx:
            comments = await ops.comments_of(tx, task.id)
    if task.resolution_public_id is not None:
        s.metrics.valid_times.labels(template=task.template_name).observe(
            max(0.0, (utcnow() - task.created).total_seconds()))
    out = views.task_json(task, input=task.input, result=task.result, comments=comments)
    return respond(request, 201, out)


def task_filter(type: str, state: str | None, batch: str | None, template: str | None,  # noqa: A002
                page_size: int | None, last: str | None, after: str | None, before: str | None,
                tag: list[str] | None) -> ops.TaskFilter:
    """The query of GET /task (and of its event stream) checked as µTask binds it."""
    if type not in TASK_TYPES:
        raise BadRequest(f"binding error on field 'Type' of type 'listTasksIn': value '{type}' is not valid, "
                         "must be one of own, resolvable, all")
    if page_size is not None and page_size < 0:
        raise BadRequest(f"binding error on field 'PageSize' of type 'listTasksIn': strconv.ParseUint: "
                         f"parsing \"{page_size}\": invalid syntax")
    tags = parse_tags(tag)
    if batch is not None:
        check_uuid(batch, "batch")
    if last is not None:
        check_uuid(last, "task")
    return ops.TaskFilter(type=type, state=state, batch=batch, template=template,
                          page_size=normalize_page_size(page_size), last=last,
                          after=parse_time(after, "After", "listTasksIn"),
                          before=parse_time(before, "Before", "listTasksIn"), tags=tags)


def task_query(
    request: Request,
    type: str = Query(default="own"),  # noqa: A002 - µTask's query name
    state: str | None = Query(default=None),
    batch: str | None = Query(default=None),
    template: str | None = Query(default=None),
    page_size: int | None = Query(default=None),
    last: str | None = Query(default=None),
    after: str | None = Query(default=None),
    before: str | None = Query(default=None),
    tag: list[str] | None = Query(default=None),
) -> ops.TaskFilter:
    """GET /task's query parameters (shared with its event stream), checked; the template names the log line."""
    metadata(request, template_name=template)
    return task_filter(type, state, batch, template, page_size, last, after, before, tag)


@api.get("/task", dependencies=SECURED, name="listTasks", summary="List tasks")
async def list_tasks(request: Request, f: ops.TaskFilter = Depends(task_query)) -> Response:
    items = await ops.list_tasks(services(request).store, request.state.caller, f)
    link = task_next_link(f.type, f.state, f.batch, f.page_size, items[-1]["id"]) if items else None
    return respond(request, 200, items, paging_headers(f.page_size, len(items), link))


@api.get("/task/{id}", dependencies=SECURED, name="getTask", summary="Task details")
async def get_task(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    return respond(request, 200, await ops.get_task(services(request).store, request.state.caller, id, request.state))


@api.put("/task/{id}", dependencies=WRITE, name="updateTask", summary="Edit a task",
         openapi_extra=openapi_body(UpdateTaskIn))
async def update_task(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    b = await body(request, UpdateTaskIn)
    out = await ops.update_task(services(request), request.state.caller, id, b, request.state)
    return respond(request, 200, out)


@api.post("/task/{id}/wontfix", dependencies=WRITE, status_code=204, name="wontfixTask",
          summary="Set a TODO task WONTFIX")
async def wontfix(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    await services(request).tasks.wontfix(request.state.caller, id)
    return respond(request, 204)


@api.delete("/task/{id}", dependencies=ADMIN_WRITE, status_code=204, name="deleteTask", summary="Delete a task")
async def delete_task(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    await ops.delete_task(services(request).store, request.state.caller, id)
    return respond(request, 204)


@api.get("/task/{id}/audit", dependencies=SECURED, name="getTaskAudit",
         summary="The task's audit trail and whether its hash chain verifies")
async def task_audit(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    return respond(request, 200, await ops.task_audit(services(request).store, request.state.caller, id))


# -- comments --------------------------------------------------------------------------------------------------


@api.post("/task/{id}/comment", dependencies=WRITE, status_code=201, name="createComment",
          summary="Comment a task", openapi_extra=openapi_body(CommentIn))
async def create_comment(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    b = await body(request, CommentIn)
    out = await ops.create_comment(services(request).store, request.state.caller, id, b.content or "")
    return respond(request, 201, out)


@api.get("/task/{id}/comment", dependencies=SECURED, name="listComments", summary="A task's comments")
async def list_comments(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    return respond(request, 200, await ops.list_comments(services(request).store, request.state.caller, id))


@api.get("/task/{id}/comment/{commentid}", dependencies=SECURED, name="getComment", summary="One comment")
async def get_comment(request: Request, id: str, commentid: str) -> Response:  # noqa: A002
    metadata(request, task_id=id, comment_id=commentid)
    check_uuid(id, "task")
    check_uuid(commentid, "comment")
    return respond(request, 200, await ops.get_comment(services(request).store, request.state.caller, id, commentid))


@api.put("/task/{id}/comment/{commentid}", dependencies=WRITE, name="updateComment", summary="Edit a comment",
         openapi_extra=openapi_body(CommentIn))
async def update_comment(request: Request, id: str, commentid: str) -> Response:  # noqa: A002
    metadata(request, task_id=id, comment_id=commentid)
    check_uuid(id, "task")
    check_uuid(commentid, "comment")
    b = await body(request, CommentIn)
    out = await ops.update_comment(services(request).store, request.state.caller, id, commentid, b.content or "")
    return respond(request, 200, out)


@api.delete("/task/{id}/comment/{commentid}", dependencies=WRITE, status_code=204, name="deleteComment",
            summary="Delete a comment")
async def delete_comment(request: Request, id: str, commentid: str) -> Response:  # noqa: A002
    metadata(request, task_id=id, comment_id=commentid)
    check_uuid(id, "task")
    check_uuid(commentid, "comment")
    await ops.delete_comment(services(request).store, request.state.caller, id, commentid)
    return respond(request, 204)


# -- batches ---------------------------------------------------------------------------------------------------


@api.post("/batch", dependencies=WRITE, status_code=201, name="createBatch", summary="Create a batch of tasks",
          openapi_extra=openapi_body(CreateBatchIn))
async def create_batch(request: Request) -> Response:
    b = await body(request, CreateBatchIn)
    metadata(request, template_name=b.template_name)
    out = await ops.create_batch(services(request), request.state.caller, b)
    metadata(request, batch_id=out["id"])
    return respond(request, 201, out)

