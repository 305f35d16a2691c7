"""The function map every µTask template sees: Sprig, then µTask's overrides (reference §4.3, §4.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .executor import register_signatures
from .utask_funcs import STATIC_FUNCS


def _sprig() -> dict[str, Callable[..., Any]]:
    # Sprig is written in parallel in core/templating/sprig; templates work without it meanwhile.
    try:
        from .sprig import sprig_funcs
    except ImportError:
        return {}
    funcs = sprig_funcs() if callable(sprig_funcs) else sprig_funcs
    return dict(funcs)


def default_funcs() -> dict[str, Callable[..., Any]]:
    funcs = _sprig()
    funcs.update(STATIC_FUNCS)
    return funcs


FUNCS: dict[str, Callable[..., Any]] = default_funcs()
register_signatures(FUNCS)
