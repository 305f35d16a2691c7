"""What every router shares: the route class that maps exceptions to responses (the ONE mapping), body
and response helpers, path-id checks, dependencies for secured / admin / maintenance-guarded routes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

from ..auth import BASIC_REALM, AdminRequired, AuthFailed, admin_only, authenticated, maintenance_guard
from ..http.body import M, parse_body
from ..http.errors import BadRequest, error_message, error_status
from ..http.render import render

log = logging.getLogger("utask.api")

SECURED = [Depends(authenticated)]
WRITE = [Depends(authenticated), Depends(maintenance_guard)]
ADMIN = [Depends(admin_only)]
ADMIN_WRITE = [Depends(admin_only), Depends(maintenance_guard)]


def _binding_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "binding error"
    first = errors[0]
    loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path", "header", "body")]
    field = loc[-1] if loc else "?"
    return f"binding error on field '{field}': {first.get('msg', 'invalid value')}"


def error_response(request: Request, exc: BaseException) -> Response:
    """THE exception → response mapping of the API (reference §7.1)."""
    if isinstance(exc, AuthFailed):
        request.state.error = exc.message
        # The dashboard's requests say X-Requested-With: XMLHttpRequest: no challenge for them, so the browser
        # does not pop its own login dialog over the dashboard's form.
        challenge = exc.challenge and request.headers.get("x-requested-with", "").lower() != "xmlhttprequest"
        headers = {"WWW-Authenticate": BASIC_REALM} if challenge else None
        return Response(status_code=401, headers=headers)
    if isinstance(exc, AdminRequired):
        request.state.error = exc.message
        return Response(status_code=401)
    if isinstance(exc, RequestValidationError):
        message, status = _binding_message(exc), 400
    else:
        status, message = error_status(exc), error_message(exc)
    if status >= 500 and not hasattr(exc, "status"):
        if type(exc).__name__ == "LockNotAvailable":  # expected while a run commits: no traceback
            log.warning("%s %s: %s", request.method, request.url.path, message)
        else:
            log.error("%s %s: %s", request.method, request.url.path, message, exc_info=exc)
    request.state.error = message
    return render(request, status, {"error": message})


class UtaskRoute(APIRoute):
    """Every handler and dependency error goes through `error_response`, never through Starlette's 500."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except Exception as exc:  # noqa: BLE001 - the one place errors become responses
                return error_response(request, exc)

        return handler


def router() -> APIRouter:
    return APIRouter(route_class=UtaskRoute)


def services(request: Request) -> Any:
    return request.app.state.services


async def body(request: Request, model: type[M]) -> M:
    return await parse_body(request, model)


def openapi_body(model: Any, description: str = "") -> dict[str, Any]:
    """The requestBody of a route whose body `parse_body` reads (JSON or YAML)."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    return {"requestBody": {"description": description or "JSON or YAML", "required": False, "content": {
        "application/json": {"schema": schema}, "application/x-yaml": {"schema": schema}}}}


def respond(request: Request, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> Response:
    return render(request, status, payload, headers)


def metadata(request: Request, **values: Any) -> None:
    """Action metadata for the audit log line (task_id, resolution_id, template_name...)."""
    current = getattr(request.state, "action_metadata", None)
    if current is None:
        current = {}
        request.state.action_metadata = current
    current.update({k: v for k, v in values.items() if v is not None})


_UUID_HEX = re.compile(r"[0-9a-fA-F]{32}")


def check_uuid(value: str, what: str) -> str:
    """PostgreSQL's uuid input rules; anything else is µTask's data-exception answer (400)."""
    text = value.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if not _UUID_HEX.fullmatch(text.replace("-", "")) or text.startswith("-") or text.endswith("-") or "--" in text:
        raise BadRequest(f'Failed to load {what} from public id: pq: invalid input syntax for type uuid: "{value}"')
    return value


def parse_time(value: str | None, field: str, struct: str) -> datetime | None:
    """RFC 3339 query parameters (`after`, `before`)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python keeps microseconds: nanosecond digits beyond them are cut, not refused.
        m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}:\d{2})", text)
        if m is None:
            raise ValueError(value)
        frac = (m.group(2) or "")[:7]
        parsed = datetime.fromisoformat(m.group(1) + frac + m.group(3))
    except ValueError:
        raise BadRequest(f"binding error on field '{field}' of type '{struct}': parsing time \"{value}\" "
                         f"as \"2006-01-02T15:04:05Z07:00\": cannot parse") from None
    return parsed
