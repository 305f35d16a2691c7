"""Sprig list functions (list.go) and until/untilStep/seq (numeric.go)."""

from __future__ import annotations

import math
from typing import Any

from utask.core.gojson import nil_slice

from ._cast import deep_equal, empty, kind_name, strslice, strval, to_int, type_name
from ._fmt import norm
from ._registry import gofunc
from .errors import NIL_DEREF, TemplateFuncError

IF, LST = "interface{}", "[]interface{}"


def _seq(v: Any, what: str) -> list[Any]:
    """reflect.TypeOf(list).Kind() must be Slice/Array; nil panics, other kinds error with `what`."""
    v = norm(v)
    if v is None:
        raise TemplateFuncError(NIL_DEREF)
    if isinstance(v, (list, tuple)):
        return list(v)
    raise TemplateFuncError(what % kind_name(v))


@gofunc("list", ("...interface{}",), (LST,))
@gofunc("tuple", ("...interface{}",), (LST,))
def list_(*values: Any) -> list[Any]:
    return [norm(v) for v in values]


@gofunc(("append", "push", "mustAppend", "mustPush"), (IF, IF), (LST,))
def push(lst: Any, v: Any) -> list[Any]:
    return _seq(lst, "Cannot push on type %s") + [norm(v)]


@gofunc(("prepend", "mustPrepend"), (IF, IF), (LST,))
def prepend(lst: Any, v: Any) -> list[Any]:
    return [norm(v)] + _seq(lst, "Cannot prepend on type %s")


@gofunc(("chunk", "mustChunk"), ("int", IF), ("[][]interface{}",))
def chunk(size: int, lst: Any) -> list[Any]:
    items = _seq(lst, "Cannot chunk type %s")
    n = len(items)
    if size <= 0:
        if size == 0 and n == 1:
            raise TemplateFuncError("runtime error: integer divide by zero")
        raise TemplateFuncError("runtime error: makeslice: len out of range")
    return [items[i:i + size] for i in range(0, n, size)] if n else []


@gofunc(("last", "mustLast"), (IF,), (IF,))
def last(lst: Any) -> Any:
    items = _seq(lst, "Cannot find last on type %s")
    return items[-1] if items else None


@gofunc(("first", "mustFirst"), (IF,), (IF,))
def first(lst: Any) -> Any:
    items = _seq(lst, "Cannot find first on type %s")
    return items[0] if items else None


@gofunc(("rest", "mustRest"), (IF,), (LST,))
def rest(lst: Any) -> list[Any]:
    items = _seq(lst, "Cannot find rest on type %s")
    return items[1:] if items else nil_slice()


@gofunc(("initial", "mustInitial"), (IF,), (LST,))
def initial(lst: Any) -> list[Any]:
    items = _seq(lst, "Cannot find initial on type %s")
    return items[:-1] if items else nil_slice()


@gofunc("sortAlpha", (IF,), ("[]string",))
def sort_alpha(lst: Any) -> list[Any]:
    lst = norm(lst)
    if isinstance(lst, (list, tuple)):
        return sorted(strslice(lst), key=lambda s: s.encode("utf-8", "surrogateescape"))
    return [strval(lst)]


@gofunc(("reverse", "mustReverse"), (IF,), (LST,))
def reverse(lst: Any) -> list[Any]:
    return _seq(lst, "Cannot find reverse on type %s")[::-1]


@gofunc(("compact", "mustCompact"), (IF,), (LST,))
def compact(lst: Any) -> list[Any]:
    return [x for x in _seq(lst, "Cannot compact on type %s") if not empty(x)]


@gofunc(("uniq", "mustUniq"), (IF,), (LST,))
def uniq(lst: Any) -> list[Any]:
    out: list[Any] = []
    for x in _seq(lst, "Cannot find uniq on type %s"):
        if not any(deep_equal(x, y) for y in out):
            out.append(x)
    return out


@gofunc(("without", "mustWithout"), (IF, "...interface{}"), (LST,))
def without(lst: Any, *omit: Any) -> list[Any]:
    items = _seq(lst, "Cannot find without on type %s")
    return [x for x in items if not any(deep_equal(x, o) for o in omit)]


@gofunc(("has", "mustHas"), (IF, IF), ("bool",))
def has(needle: Any, haystack: Any) -> bool:
    haystack = norm(haystack)
    if haystack is None:
        return False
    items = _seq(haystack, "Cannot find has on type %s")
    return any(deep_equal(needle, x) for x in items)


@gofunc(("slice", "mustSlice"), (IF, "...interface{}"), (IF,))
def slice_(lst: Any, *indices: Any) -> Any:
    lst = norm(lst)
    if lst is None:
        raise TemplateFuncError(NIL_DEREF)
    if not isinstance(lst, (list, tuple)):
        raise TemplateFuncError(f"list should be type of slice or array but {kind_name(lst)}")
    n = len(lst)
    if n == 0:
        return None
    start = to_int(indices[0]) if indices else 0
    end = to_int(indices[1]) if len(indices) >= 2 else n
    if start < 0 or end < start or end > n:
        raise TemplateFuncError("reflect.Value.Slice: slice index out of bounds")
    return list(lst[start:end])


@gofunc("concat", ("...interface{}",), (IF,))
def concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for lst in lists:
        lst = norm(lst)
        if lst is None:
            raise TemplateFuncError(NIL_DEREF)
        if not isinstance(lst, (list, tuple)):
            raise TemplateFuncError(f"Cannot concat type {kind_name(lst)} as list")
        out.extend(lst)
    return out if out else nil_slice()


def until_step(start: int, stop: int, step: int) -> list[int]:
    if stop < start:
        if step >= 0:
            return []
        return list(range(start, stop, step))
    if step <= 0:
        return []
    return list(range(start, stop, step))


@gofunc("until", ("int",), ("[]int",))
def until(count: int) -> list[Any]:
    return list(until_step(0, count, -1 if count < 0 else 1))


@gofunc("untilStep", ("int", "int", "int"), ("[]int",))
def until_step_(start: int, stop: int, step: int) -> list[Any]:
    return list(until_step(start, stop, step))


@gofunc("seq", ("...int",), ("string",))
def seq(*params: int) -> str:
    n = len(params)
    if n == 0:
        return ""
    if n == 1:
        start, end = 1, params[0]
        inc = -1 if end < start else 1
        return " ".join(map(str, until_step(start, end + inc, inc)))
    if n == 3:
        start, step, end = params
        inc = 1
        if end < start:
            inc = -1
            if step > 0:
                return ""
        return " ".join(map(str, until_step(start, end + inc, step)))
    if n == 2:
        start, end = params
        step = -1 if end < start else 1
        return " ".join(map(str, until_step(start, end + step, step)))
    return ""


def _assert_type(v: Any, want: str) -> str:
    return f"interface conversion: interface {{}} is {'nil' if norm(v) is None else type_name(v)}, not {want}"


@gofunc("dig", ("...interface{}",), (IF, "error"))
def dig(*ps: Any) -> Any:
    if len(ps) < 3:
        raise TemplateFuncError("dig needs at least three arguments")
    d = norm(ps[-1])
    if not isinstance(d, dict):
        raise TemplateFuncError(_assert_type(d, "map[string]interface {}"))
    default = norm(ps[-2])
    keys = []
    for k in ps[:-2]:
        if type(k) is not str:
            raise TemplateFuncError(_assert_type(k, "string"))
        keys.append(k)
    cur: Any = d
    for i, k in enumerate(keys):
        if k not in cur:
            return default
        step = cur[k]
        if i == len(keys) - 1:
            return step
        if not isinstance(step, dict):
            raise TemplateFuncError(_assert_type(step, "map[string]interface {}"))
        cur = step
    return default


_ = math  # keep the import for readers of chunk's Go arithmetic
