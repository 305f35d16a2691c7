"""End-of-run helpers: result_format rendering (§4.5) and crash recovery / run refusal (§5.12, §6.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import states
from .steps import Step
from .values_access import render_text


def render_result_format(result_format: Any, values: Any) -> Any:
    """Keys and string values rendered recursively through nested maps; lists are not traversed."""
    if not isinstance(result_format, Mapping):
        return result_format
    out: dict[str, Any] = {}
    for key, value in result_format.items():
        new_key = render_text(values, key) if isinstance(key, str) else key
        if isinstance(value, Mapping):
            out[new_key] = render_result_format(value, values)
        elif isinstance(value, str) and type(value) is str:
            out[new_key] = render_text(values, value)
        else:
            out[new_key] = value
    return out


class RunRefused(Exception):
    """A run cannot start on this resolution (BadRequest kind)."""


def check_can_run(resolution_state: str) -> None:
    message = states.RUN_REFUSED.get(resolution_state)
    if message is not None:
        raise RunRefused(message)


def recover_crashed(steps: Mapping[str, Step]) -> tuple[list[str], bool]:
    """Crash recovery: RUNNING steps → TODO if idempotent else CRASHED.

    Returns the changed step names and whether the resolution must become BLOCKED_TOCHECK (then the
    task is BLOCKED and the run is aborted without incrementing run_count).
    """
    changed: list[str] = []
    blocked = False
    for name, st in steps.items():
        if st.state == states.RUNNING:
            if st.idempotent:
                st.state = states.TODO
            else:
                st.state = states.CRASHED
                blocked = True
            changed.append(name)
    return changed, blocked
