"""Typed API errors and THE one exception → response mapping (reference §7.1).

Every handler raises; nothing builds an error response by hand. `error_status(exc)` decides the status
from the error's kind, exactly once, for our typed errors, the task service's `ServiceError`, the store's
not-found/lock errors and raw PostgreSQL errors (µTask's pgjuju interpretation).
"""

from __future__ import annotations

import logging

log = logging.getLogger("utask.api")


class APIError(Exception):
    """An error for the caller: `str(e)` is the `error` text, `status` the HTTP status."""

    status = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class BadRequest(APIError):
    status = 400


class NotValid(BadRequest):
    """µTask's NotValid kind (also 400)."""


class Unauthorized(APIError):
    status = 401


class Forbidden(APIError):
    status = 403


class NotFound(APIError):
    status = 404


class MethodNotAllowed(APIError):
    status = 405


class Conflict(APIError):
    status = 409


AlreadyExists = Conflict


class NotImplementedFeature(APIError):
    """µTask's NotImplemented kind (501); named so as not to shadow Python's builtins."""

    status = 501

# `ServiceError.kind` of the task service → status.
_SERVICE_KINDS = {
    "bad_request": 400, "not_valid": 400, "not_supported": 400, "not_assigned": 400, "not_provisioned": 400,
    "forbidden": 403, "method_not_allowed": 405, "not_found": 404, "unauthorized": 401,
    "conflict": 409, "already_exists": 409, "not_implemented": 501,
}


def _pg_status(exc: BaseException) -> int | None:
    """µTask's pgjuju: unique violation → 409, integrity class 23 → 400, data exception class 22 → 400."""
    sqlstate = getattr(exc, "sqlstate", None)
    if not isinstance(sqlstate, str):
        orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
        sqlstate = getattr(orig, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return None
    if sqlstate == "23505":
        return 409
    if sqlstate.startswith("23") or sqlstate.startswith("22"):
        return 400
    return 500


def error_status(exc: BaseException) -> int:
    """The HTTP status of any exception raised while serving a request."""
    if isinstance(exc, APIError):
        return exc.status
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str) and type(exc).__name__ == "ServiceError":
        return _SERVICE_KINDS.get(kind, 500)
    name = type(exc).__name__
    if name == "NotFoundError":  # utask.core.engine.store
        return 404
    if name == "LockNotAvailable":  # utask.core.engine.store: a run holds the row (µTask: 500 too)
        return 500
    if name == "InputError":  # utask.core.templates.inputs: a refused value is a bad request
        return 400
    status = _pg_status(exc)
    if status is not None:
        return status
    return 500


def error_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    text = str(exc)
    if hasattr(exc, "sqlstate") and text:
        # psycopg: the first line is the server's message (what µTask shows); DETAIL/HINT stay in the logs.
        text = text.splitlines()[0]
    return text
