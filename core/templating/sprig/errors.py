"""The error type of Sprig functions.

A Go template function fails either by returning a non-nil `error` or by panicking; text/template turns
both into `error calling <name>: <message>`. Here every such failure raises `TemplateFuncError(message)`
with Go's message text; the executor prefixes `error calling <name>: `.
"""

from __future__ import annotations

try:
    from utask.core.templating.values_model import GoCallError as _Base
except Exception:  # pragma: no cover - the value model is always there now
    _Base = Exception  # type: ignore[misc,assignment]


class TemplateFuncError(_Base):  # type: ignore[valid-type,misc]
    """A Go template function error (returned error or recovered panic); `str(e)` is Go's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


NIL_DEREF = "runtime error: invalid memory address or nil pointer dereference"
