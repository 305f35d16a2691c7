"""`render_template`: one Go template against arbitrary data, with µTask's function map."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .functions import FUNCS
from .template import TemplateError, names_of, run
from .utask_funcs import make_field

_LOCAL_NAMES = ("field",)
_DEFAULT_NAMES = names_of(FUNCS, dict.fromkeys(_LOCAL_NAMES))


def render_template(source: str, data: Any, funcs: dict[str, Callable[..., Any]] | None = None) -> str:
    """Render `source` (Go text/template) against `data`; raises TemplateError with Go's text.

    `funcs` adds or overrides template functions for this call.
    """
    local: dict[str, Callable[..., Any]] = {"field": make_field(lambda: data)}
    if funcs:
        local.update(funcs)
        names = _DEFAULT_NAMES | frozenset(funcs)
    else:
        names = _DEFAULT_NAMES
    return run(source, data, FUNCS, names, local)


__all__ = ["TemplateError", "render_template"]
