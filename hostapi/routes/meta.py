"""`/`, `/meta`, `/key-rotate`, and the unsecured routes: ping, stats, spec.json, metrics, session."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..auth import AuthFailed, authenticated, maintenance_guard
from ..http.body import decode, read_raw
from ..http.errors import BadRequest
from ..ops import callbacks as callback_ops
from ..ops import tasks as task_ops
from .common import ADMIN, SECURED, check_uuid, metadata, respond, router, services

api = router()


@api.get("/", dependencies=SECURED, status_code=301, name="root", summary="Redirect to /meta")
async def root(request: Request) -> Response:
    return RedirectResponse("/meta", status_code=301)


@api.get("/meta", dependencies=SECURED, name="getMeta", summary="Application and caller details")
async def meta(request: Request) -> Response:
    s = services(request)
    caller = request.state.caller
    return respond(request, 200, {
        "application_name": s.application_name, "user_is_admin": caller.is_admin, "username": caller.username,
        "user_groups": list(caller.groups or []), "version": s.version, "commit": s.commit,
    })


@api.get("/unsecured/session", name="getSession",
         summary="Whether the request is authenticated, without refusing anonymous callers (ours)")
async def session(request: Request) -> Response:
    """The dashboard's first call: it tells a sign-in form from a trusted proxy's identity, and checks typed
    credentials, without a 401 (which browsers log as an error and may answer with their own dialog). It also
    names the application (`application_name` of utask-cfg, as GET /meta does) for the sign-in page."""
    name = services(request).application_name
    try:
        caller = await authenticated(request)
    except AuthFailed:
        return respond(request, 200, {"authenticated": False, "application_name": name})
    return respond(request, 200, {"authenticated": True, "username": caller.username, "application_name": name})


@api.post("/key-rotate", dependencies=ADMIN, name="keyRotate", summary="Re-encrypt everything with the newest key")
async def key_rotate(request: Request) -> Response:
    # Not maintenance-guarded: the documented workflow rotates keys in maintenance mode.
    await services(request).tasks.rotate_keys()
    return respond(request, 200)


async def ping(request: Request) -> Response:
    s = services(request)
    ok = False
    if s.database is not None:
        ok = await run_in_threadpool(s.database.ping)
    else:
        try:
            async with s.store.tx() as tx:
                await tx.fetchone("SELECT 1")
            ok = True
        except Exception:  # noqa: BLE001 - any failure is "not ready"
            ok = False
    return PlainTextResponse("pong") if ok else Response(status_code=500)


def parse_tags(tags: list[str] | None) -> dict[str, str]:
    """`tag=key=value` filters: exactly one `=`, both parts non-empty (µTask's text otherwise)."""
    out: dict[str, str] = {}
    for t in tags or []:
        parts = t.split("=")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise BadRequest(f"invalid tag {t}")
        out[parts[0]] = parts[1]
    return out


@api.get("/unsecured/stats", name="getStats", summary="Task counts by state")
async def stats(request: Request, tag: list[str] | None = Query(default=None)) -> Response:
    return respond(request, 200, await task_ops.stats(services(request).store, parse_tags(tag)))


@api.get("/metrics", name="metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    s = services(request)
    m = s.metrics
    if m.due():
        m.mark_refreshed()
        # Metrics must answer even when the database hiccups: the gauges keep their last values.
        with contextlib.suppress(Exception):
            m.set_task_states(await task_ops.counts_by_group(s.store))
    data, content_type = m.exposition()
    return Response(data, media_type=content_type)


def spec_route(app: Any, title: str, version: str) -> Any:
    cache: dict[str, Any] = {}

    async def spec(request: Request) -> Response:
        if "doc" not in cache:
            from fastapi.openapi.utils import get_openapi

            # µTask's server URL is dashboard_api_path_prefix (the API behind a proxy path), when set.
            prefix = getattr(getattr(getattr(app.state, "services", None), "settings", None), "utask", None)
            prefix = getattr(prefix, "dashboard_api_path_prefix", "") or ""
            servers = [{"url": prefix, "description": title}] if prefix else None
            cache["doc"] = get_openapi(title=title, version=version, routes=app.routes,
                                       description="µTask REST API", servers=servers)
        return respond(request, 200, cache["doc"])

    return spec


@api.post("/unsecured/callback/{id}", dependencies=[Depends(maintenance_guard)], name="handleCallback",
          summary="Resolve a callback of the callback action")
async def handle_callback(request: Request, id: str, t: str | None = Query(default=None)) -> Response:  # noqa: A002
    metadata(request, callback_id=id)
    if t is None:
        raise BadRequest("binding error on field 'CallbackSecret' of type 'handleCallbackIn': "
                         "missing query parameter: t")
    check_uuid(id, "callback")
    data = decode(await read_raw(request, request.app.state.max_body_bytes))
    if data is not None and not isinstance(data, dict):
        raise BadRequest("error parsing request body: error unmarshaling JSON: while decoding JSON: json: "
                         "cannot unmarshal into Go value of type map[string]interface {}")
    return respond(request, 200, await callback_ops.handle(services(request), id, t, data))
