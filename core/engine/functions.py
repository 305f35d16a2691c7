"""Functions at runtime (reference §5.7): the chain of function definitions behind an action type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .steps import _normalise_executor, _obj_to_dict


class NoRunner(Exception):
    """`No runner for type '<t>'` (reference §5.14)."""

    def __init__(self, action_type: str) -> None:
        super().__init__(f"No runner for type '{action_type}'")


@dataclass(frozen=True)
class FunctionDef:
    name: str
    action: dict
    pre_hook: dict | None = None
    custom_states: tuple[str, ...] = ()
    conditions: tuple[dict, ...] = field(default_factory=tuple)


def _as_function(name: str, fn: Any) -> FunctionDef:
    if isinstance(fn, FunctionDef):
        return fn
    data = fn if isinstance(fn, Mapping) else _obj_to_dict(fn)
    return FunctionDef(
        name=data.get("name") or name,
        action=_normalise_executor(data.get("action")) or {"type": "", "configuration": None, "output": None},
        pre_hook=_normalise_executor(data.get("pre_hook")),
        custom_states=tuple(data.get("custom_states") or ()),
        conditions=tuple(dict(c) for c in (data.get("conditions") or ())),
    )


class FunctionRegistry:
    """Function definitions by name, normalised once (dicts or the template loader's models)."""

    def __init__(self, functions: Mapping[str, Any] | None = None) -> None:
        self._defs: dict[str, FunctionDef] = {}
        self._raw = functions or {}
        self._chains: dict[str, tuple[FunctionDef, ...]] = {}

    def get(self, name: str) -> FunctionDef | None:
        fn = self._defs.get(name)
        if fn is None:
            raw = self._raw.get(name)
            if raw is None:
                return None
            fn = self._defs[name] = _as_function(name, raw)
        return fn

    def chain(self, action_type: str, has_runner: Callable[[str], bool]) -> tuple[FunctionDef, ...]:
        """Functions from the outermost to the innermost; raises NoRunner for an unknown type."""
        cached = self._chains.get(action_type)
        if cached is not None:
            return cached
        out: list[FunctionDef] = []
        seen: set[str] = set()
        current = action_type
        while True:
            fn = self.get(current)
            if fn is None:
                if not has_runner(current):
                    raise NoRunner(current)
                break
            if current in seen:  # validation refuses cycles; never loop forever at runtime
                raise NoRunner(current)
            seen.add(current)
            out.append(fn)
            current = fn.action.get("type", "")
        result = tuple(out)
        self._chains[action_type] = result
        return result


def conditions_of(step_conditions: list[dict], chain: tuple[FunctionDef, ...]) -> list[dict]:
    """Innermost function's conditions first, then outer functions', then the step's own."""
    if not chain:
        return step_conditions
    conds = list(step_conditions)
    for fn in chain:
        conds = list(fn.conditions) + conds
    return conds


def custom_states_of(step_states: list[str], chain: tuple[FunctionDef, ...]) -> list[str]:
    out = list(step_states)
    for fn in chain:
        for s in fn.custom_states:
            if s not in out:
                out.append(s)
    return out


def pre_hook_of(step_pre_hook: dict | None, chain: tuple[FunctionDef, ...]) -> dict | None:
    """The innermost function's pre-hook wins; else the step's own."""
    hook = step_pre_hook
    for fn in chain:
        if fn.pre_hook is not None:
            hook = fn.pre_hook
    return hook
