"""Server-sent event streams of the dashboard's live views (ours, beyond µTask): `GET /task/events` and
`GET /task/{id}/events`. Events and their shapes: `utask.hostapi.ops.events`.

Mounted before the task routes, so `/task/events` is not taken for `/task/{id}` with id "events".
"""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.responses import Response

from ..http.sse import MEDIA_TYPE, EventStream
from ..live import TaskChanges
from ..ops import events as ops
from ..ops.tasks import TaskFilter
from .common import SECURED, check_uuid, metadata, router, services
from .tasks import task_query

api = router()

_STREAM = {200: {"description": "text/event-stream (see the API documentation for the events)",
                 "content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}}


def hub(request: Request) -> TaskChanges:
    return request.app.state.live


@api.get("/task/events", dependencies=SECURED, name="streamTasks", responses=_STREAM,
         summary="Live task list: server-sent events `stats`, `changed` (ids) and `resync`",
         description="Same query filters and visibility as GET /task (paging parameters are ignored). "
                     "Events: `stats` (counts by state), `changed` ({ids}), `resync`; `: keepalive` every 15 s.")
async def stream_tasks(request: Request, f: TaskFilter = Depends(task_query)) -> Response:
    events = await ops.open_list_stream(services(request).store, hub(request), request.state.caller, f)
    return EventStream(events)


@api.get("/task/{id}/events", dependencies=SECURED, name="streamTask", responses=_STREAM,
         summary="Live task: server-sent events `task` and `resolution` (bodies of their GET routes), `gone`",
         description="Rights of GET /task/{id}. Events: `task`, `resolution`, then again on every change; "
                     "`gone` when the task is deleted; `: keepalive` every 15 s.")
async def stream_task(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, task_id=id)
    check_uuid(id, "task")
    events = await ops.open_task_stream(services(request).store, hub(request), request.state.caller, id)
    return EventStream(events)
