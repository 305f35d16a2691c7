"""Registration of Sprig functions with their Go signatures (see the package docstring)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

FUNCS: dict[str, Callable[..., Any]] = {}


def go_type(t: str) -> str:
    """Go's spelling of a type as reflect prints it: `interface{}` -> `interface {}`."""
    return t.replace("interface{}", "interface {}")


def _gosig(sig: tuple[str, ...], returns: tuple[str, ...]) -> Any:
    try:
        from utask.core.templating.values_model import GoSig
    except Exception:  # pragma: no cover - the value model is always there now
        return None
    params = tuple(go_type(s) for s in sig)
    variadic = None
    if params and params[-1].startswith("..."):
        params, variadic = params[:-1], params[-1][3:]
    if returns and returns[0] == "int64":
        try:
            return GoSig(params, variadic, result="int64")  # the executor wraps the result in Int64
        except TypeError:  # pragma: no cover - an older GoSig
            pass
    return GoSig(params, variadic)


def _int64_type() -> Any:
    try:
        from utask.core.templating.values_model import Int64
    except Exception:  # pragma: no cover - an older value model
        return None
    return Int64


def _returns_int64(fn: F) -> F:
    """Results typed Go int64 are returned as the value model's Int64 (an int subclass)."""
    int64 = _int64_type()
    if int64 is None:
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        r = fn(*args)
        return int64(r) if type(r) is int else r

    return wrapper  # type: ignore[return-value]


def gofunc(names: str | tuple[str, ...], sig: tuple[str, ...], returns: tuple[str, ...] = ("interface{}",)) -> Callable[[F], F]:
    """Register `fn` under each name, with its Go parameter types `sig` and result types `returns`."""
    if isinstance(names, str):
        names = (names,)

    def deco(fn: F) -> F:
        if returns and returns[0] == "int64":
            fn = _returns_int64(fn)
        fn.sig = tuple(sig)  # type: ignore[attr-defined]
        fn.returns = tuple(returns)  # type: ignore[attr-defined]
        fn.variadic = bool(sig) and sig[-1].startswith("...")  # type: ignore[attr-defined]
        fn.go_name = names[0]  # type: ignore[attr-defined]
        gs = _gosig(tuple(sig), tuple(returns))
        if gs is not None:
            fn.__gosig__ = gs  # type: ignore[attr-defined]
        for n in names:
            FUNCS[n] = fn
        return fn

    return deco
