"""ASGI middlewares of the API: CORS-ish headers and one audit log line per request (reference §7.1).

Pure ASGI (not `BaseHTTPMiddleware`) so a request costs a few microseconds here, not a task hop.
Handlers leave what the log line needs in the request state: `user`, `action_metadata` (dict), `sudo`.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import unquote

log = logging.getLogger("utask.api.audit")

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,POST,PUT,DELETE"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-expose-headers", b"Content-Type"),
]

def wants_cors(path: str) -> bool:
    """µTask adds the headers on its API router only: not on /metrics, not on the dashboard (/ui)."""
    return not (path == "/metrics" or path == "/ui" or path.startswith("/ui/") or path.startswith("/metrics/"))


class APIMiddleware:
    """CORS headers on API routes; an audit log line (`log_type=api`) for every request."""

    def __init__(self, app: Any, instance_id: Any = None) -> None:
        self.app = app
        self.instance_id = instance_id

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        cors = wants_cors(path)
        status_holder = [500]

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                if cors:
                    message = dict(message)
                    message["headers"] = [*message.get("headers", []), *CORS_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if log.isEnabledFor(logging.INFO):
                self._log(scope, status_holder[0], time.perf_counter() - start)

    def _log(self, scope: dict, status: int, duration: float) -> None:
        state = scope.get("state") or {}
        query = unquote(scope.get("query_string", b"").decode("latin-1"))
        headers = dict(scope.get("headers") or [])
        fields: dict[str, Any] = {
            "status": status, "method": scope.get("method"), "path": scope.get("path"), "query": query,
            "user_agent": headers.get(b"user-agent", b"").decode("latin-1"),
            "duration": round(duration, 6), "duration_ms": int(duration * 1000),
            "request_host": headers.get(b"host", b"").decode("latin-1"),
            "remote_ip": (scope.get("client") or ("", 0))[0],
            "runner_instance": self.instance_id() if callable(self.instance_id) else self.instance_id,
            "request_id": headers.get(b"x-request-id", b"").decode("latin-1"),
            "log_type": "api",
        }
        route = scope.get("route")
        action = getattr(route, "name", None)
        if action:
            fields["action"] = action
        user = state.get("user")
        if user:
            fields["user"] = user
        for k, v in (state.get("action_metadata") or {}).items():
            fields["action_metadata_" + k] = v
        if state.get("sudo"):
            fields["sudo"] = True
        error = state.get("error")
        fields["success"] = error is None and status < 400
        text = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
        if error is not None:
            log.error("error %s error=%r", text, error, extra={"fields": fields})
        else:
            log.info("success %s", text, extra={"fields": fields})
