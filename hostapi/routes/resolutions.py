"""Resolutions: create, details, hot fixes, run, pause, extend, cancel, steps (reference §7.4)."""

from __future__ import annotations

from fastapi import Query, Request
from starlette.responses import Response

from .. import views
from ..http.body import decode, read_raw
from ..http.errors import BadRequest
from ..models import CreateResolutionIn, StepIn, StepStateIn, UpdateResolutionIn
from ..ops import resolutions as ops
from .common import (
    ADMIN_WRITE,
    SECURED,
    WRITE,
    body,
    check_uuid,
    metadata,
    openapi_body,
    respond,
    router,
    services,
)

api = router()


@api.post("/resolution", dependencies=WRITE, status_code=201, name="createResolution",
          summary="Create the resolution of a task", openapi_extra=openapi_body(CreateResolutionIn))
async def create_resolution(request: Request) -> Response:
    s = services(request)
    b = await body(request, CreateResolutionIn)
    metadata(request, task_id=b.task_id)
    check_uuid(b.task_id or "", "task")
    res = await ops.create(s, request.state.caller, b.task_id or "", b.resolver_inputs, bool(b.start_over))
    metadata(request, resolution_id=res.public_id)
    return respond(request, 201, views.resolution_json(res, task_title=""))


@api.get("/resolution/{id}", dependencies=SECURED, name="getResolution", summary="Resolution details")
async def get_resolution(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, resolution_id=id)
    check_uuid(id, "resolution")
    out = await ops.get_resolution(services(request).store, request.state.caller, id, request.state)
    return respond(request, 200, out)


@api.put("/resolution/{id}", dependencies=ADMIN_WRITE, status_code=204, name="updateResolution",
         summary="Hot-fix a PAUSED resolution", openapi_extra=openapi_body(UpdateResolutionIn))
async def update_resolution(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, resolution_id=id)
    check_uuid(id, "resolution")
    b = await body(request, UpdateResolutionIn)
    request.state.sudo = True
    await ops.update_resolution(services(request).store, request.state.caller, id, b)
    return respond(request, 204)


@api.post("/resolution/{id}/run", dependencies=WRITE, status_code=204, name="runResolution",
          summary="Run (or resume) a resolution")
async def run_resolution(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, resolution_id=id)
    check_uuid(id, "resolution")
    await ops.run(services(request), request.state.caller, id)
    return respond(request, 204)


@api.post("/resolution/{id}/pause", dependencies=WRITE, status_code=204, name="pauseResolution",
          summary="Pause a resolution (force: admins, any state)")
async def pause_resolution(request: Request, id: str, force: bool = Query(default=False)) -> Response:  # noqa: A002
    metadata(request, resolution_id=id)
    check_uuid(id, "resolution")
    await services(request).tasks.pause(request.state.caller, id, force=force)
    return respond(request, 204)


@api.post("/resolution/{id}/extend", dependencies=WRITE, status_code=204, name="extendResolution",
          summary="Give a BLOCKED_MAXRETRIES resolution more runs")
async def extend_resolution(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, resolution_id=id)
    check_uuid(id, "resolution")
    await services(request).tasks.extend(request.state.caller, id)
    return respond(request, 204)


@api.post("/resolution/{id}/cancel", dependencies=WRITE, status_code=204, name="cancelResolution",
          summary="Cancel a resolution and its task")
async def cancel_resolution(request: Request, id: str) -> Response:  # noqa: A002
    metadata(request, resolution_id=id)
    check_uuid(id, "resolution")
    await services(request).tasks.cancel(request.state.caller, id)
    return respond(request, 204)


@api.get("/resolution/{id}/step/{stepName}", dependencies=SECURED, name="getResolutionStep",
         summary="One step of a resolution")
async def get_step(request: Request, id: str, stepName: str) -> Response:  # noqa: A002, N803
    metadata(request, resolution_id=id, step_name=stepName)
    check_uuid(id, "resolution")
    return respond(request, 200, await ops.get_step(services(request).store, request.state.caller, id, stepName))


@api.put("/resolution/{id}/step/{stepName}", dependencies=ADMIN_WRITE, status_code=204,
         name="updateResolutionStep", summary="Replace a step of a PAUSED resolution",
         openapi_extra=openapi_body(StepIn, "a full step object"))
async def update_step(request: Request, id: str, stepName: str) -> Response:  # noqa: A002, N803
    metadata(request, resolution_id=id, step_name=stepName)
    check_uuid(id, "resolution")
    limit = request.app.state.max_body_bytes
    data = decode(await read_raw(request, limit))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("error parsing request body: error unmarshaling JSON: while decoding JSON: json: "
                         "cannot unmarshal into Go value of type step.Step")
    request.state.sudo = True
    svc = services(request)
    task, new_state = await ops.update_step(svc.store, request.state.caller, id, stepName, data)
    svc.tasks.step_changed(task, stepName, new_state)
    return respond(request, 204)


@api.put("/resolution/{id}/step/{stepName}/state", dependencies=WRITE, status_code=204,
         name="updateResolutionStepState", summary="Change the state of a step of a PAUSED resolution",
         openapi_extra=openapi_body(StepStateIn))
async def update_step_state(request: Request, id: str, stepName: str) -> Response:  # noqa: A002, N803
    metadata(request, resolution_id=id, step_name=stepName)
    check_uuid(id, "resolution")
    b = await body(request, StepStateIn)
    svc = services(request)
    task = await ops.update_step_state(svc.store, request.state.caller, id, stepName, b.state or "",
                                       request.state)
    svc.tasks.step_changed(task, stepName, b.state or "")
    return respond(request, 204)



@api.post("/resolution/{id}/step/{stepName}/input", dependencies=WRITE, name="answerInputStep",
          summary="Answer a waiting manual-input step (input action) and resume the resolution")
async def answer_input_step(request: Request, id: str, stepName: str) -> Response:  # noqa: A002, N803
    from ..ops import inputs as input_ops

    metadata(request, resolution_id=id, step_name=stepName)
    check_uuid(id, "resolution")
    data = decode(await read_raw(request, request.app.state.max_body_bytes))
    if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
        raise BadRequest('error parsing request body: expected {"values": {...}}')
    out = await input_ops.answer(services(request), request.state.caller, id, stepName, data["values"])
    return respond(request, 200, out)
