"""Errors a plugin raises to choose the state of its step.

Each class carries the `kind` that crosses the wire; the engine maps kinds to states in one place
(client → CLIENT_ERROR, server → SERVER_ERROR, fatal → FATAL_ERROR, waiting → WAITING, retry → TO_RETRY).
Any other exception escaping `execute` is a server error, like a plain Go error in µTask.
"""

from __future__ import annotations

from typing import Any

KINDS = ("client", "server", "fatal", "waiting", "retry")


class PluginError(Exception):
    """Base of the step-outcome errors. `str(err)` is the step's `error` text."""

    kind = "server"

    def __init__(self, message: str = "", *, output: Any = None, metadata: Any = None) -> None:
        super().__init__(message)
        self.message = message
        # Kept with the failed step like µTask keeps the output returned together with an error.
        self.output = output
        self.metadata = metadata

    def __str__(self) -> str:
        return self.message


class ClientError(PluginError):
    """The request is wrong (µTask's BadRequest): CLIENT_ERROR, retried only after a human fixes it."""

    kind = "client"


class ServerError(PluginError):
    """A transient failure: SERVER_ERROR, retried automatically."""

    kind = "server"


class FatalError(PluginError):
    """A failure no retry can fix: FATAL_ERROR."""

    kind = "fatal"


class WaitingError(PluginError):
    """Waiting for something outside (µTask's NotAssigned, e.g. a callback): WAITING."""

    kind = "waiting"


class RetryError(PluginError):
    """Not ready yet, try again later (µTask's NotProvisioned): TO_RETRY."""

    kind = "retry"


class ConfigError(ClientError):
    """An invalid configuration, raised by validation at template load; names the faulty field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message if field is None else f"invalid configuration: field {field!r}: {message}")
        self.field = field


ERROR_CLASSES: dict[str, type[PluginError]] = {
    cls.kind: cls for cls in (ClientError, ServerError, FatalError, WaitingError, RetryError)
}


def error_for(kind: str, message: str) -> PluginError:
    """The exception of a kind received over the wire (host call failures)."""
    return ERROR_CLASSES.get(kind, ServerError)(message)
