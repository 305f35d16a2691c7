"""The builtin functions of Go text/template (after src/text/template/funcs.go, Go 1.19).

Parameters declared `reflect.Value` receive the raw value: MISSING (invalid) and None (a nil
interface) stay distinct, as they do in Go; errors are raised as GoCallError and surface as
`error calling NAME: <text>`.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from utask.core.gojson import JSONNumber

from .gofmt import format_value, sprint, sprintf, sprintln
from .values_model import MISSING, GoCallError, Uint8, go_type_name, gofunc
from .values_model import is_true as is_true

RV = "reflect.Value"
IFACE = "interface {}"


def _ind(v: Any) -> Any:
    """indirectInterface: a nil interface becomes the invalid value."""
    return MISSING if v is None else v


# --- and, or, not, call ------------------------------------------------------------------------


@gofunc(RV, variadic=RV)
def _and(arg0: Any, *args: Any) -> Any:  # short-circuited by the executor
    raise AssertionError("unreachable")


@gofunc(RV, variadic=RV)
def _or(arg0: Any, *args: Any) -> Any:
    raise AssertionError("unreachable")


@gofunc(RV)
def _not(arg: Any) -> bool:
    return not is_true(arg)


@gofunc(RV, variadic=RV)
def _call(fn: Any, *args: Any) -> Any:
    fn = _ind(fn)
    if fn is MISSING:
        raise GoCallError("call of nil")
    if not callable(fn):
        raise GoCallError(f"non-function of type {go_type_name(fn)}")
    return fn(*[None if a is MISSING else a for a in args])


# --- len, index, slice -------------------------------------------------------------------------


def _length_of(item: Any) -> int:
    if isinstance(item, JSONNumber | str):
        return len(item.encode("utf-8"))
    return len(item)


@gofunc(RV)
def _len(item: Any) -> int:
    if item is MISSING:
        raise GoCallError("reflect: call of reflect.Value.Type on zero Value")
    if item is None:
        raise GoCallError("len of nil pointer")
    if isinstance(item, str | list | tuple | dict | bytes | bytearray):
        return _length_of(item)
    raise GoCallError(f"len of type {go_type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if isinstance(index, int) and not isinstance(index, bool):
        x = index
    elif index is MISSING or index is None:
        raise GoCallError("cannot index slice/array with nil")
    else:
        raise GoCallError(f"cannot index slice/array with type {go_type_name(index)}")
    if x < 0 or x > cap:
        raise GoCallError(f"index out of range: {x}")
    return x


@gofunc(RV, variadic=RV)
def _index(item: Any, *indexes: Any) -> Any:
    item = _ind(item)
    if item is MISSING:
        raise GoCallError("index of untyped nil")
    for index in indexes:
        index = _ind(index)
        if item is None:
            raise GoCallError("index of nil pointer")
        if isinstance(item, str | bytes | bytearray):
            b = item.encode("utf-8") if isinstance(item, str) else item
            x = _index_arg(index, len(b))
            if x == len(b):  # Go 1.19 lets reflect panic here
                raise GoCallError("reflect: string index out of range")
            item = Uint8(b[x])
        elif isinstance(item, list | tuple):
            x = _index_arg(index, len(item))
            if x == len(item):
                raise GoCallError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if index is MISSING:
                raise GoCallError("value is nil; should be of type string")
            if not isinstance(index, str) or isinstance(index, JSONNumber):
                raise GoCallError(f"value has type {go_type_name(index)}; should be string")
            item = item.get(index)
        else:
            raise GoCallError(f"can't index item of type {go_type_name(item)}")
    return item


@gofunc(RV, variadic=RV)
def _slice(item: Any, *indexes: Any) -> Any:
    item = _ind(item)
    if item is MISSING:
        raise GoCallError("slice of untyped nil")
    if len(indexes) > 3:
        raise GoCallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise GoCallError("cannot 3-index slice a string")
        seq: Any = item.encode("utf-8")
    elif isinstance(item, list | tuple | bytes | bytearray):
        seq = item
    else:
        raise GoCallError(f"can't slice item of type {go_type_name(item)}")
    cap = len(seq)
    idx = [0, len(seq), 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, cap)
    if idx[0] > idx[1]:
        raise GoCallError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise GoCallError(f"invalid slice index: {idx[1]} > {idx[2]}")
    part = seq[idx[0] : idx[1]]
    if isinstance(item, str):
        text = part.decode("utf-8", "replace")
        return JSONNumber(text) if isinstance(item, JSONNumber) else text
    return list(part) if isinstance(item, tuple) else part


# --- printing and escaping ---------------------------------------------------------------------


@gofunc(variadic=IFACE)
def _print(*args: Any) -> str:
    return sprint(*args)


@gofunc("string", variadic=IFACE)
def _printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, *args)


@gofunc(variadic=IFACE)
def _println(*args: Any) -> str:
    return sprintln(*args)


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    # printableValue turns a nil argument into the text "<no value>"
    return sprint(*["<no value>" if a is None or a is MISSING else a for a in args])


_HTML = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}


def html_escape(s: str) -> str:
    if not any(c in s for c in "\"'&<>\0"):
        return s
    return "".join(_HTML.get(c, c) for c in s)


@gofunc(variadic=IFACE)
def _html(*args: Any) -> str:
    return html_escape(_eval_args(args))


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def _go_is_print(c: str) -> bool:
    if c == " ":
        return True
    cat = unicodedata.category(c)
    return cat[0] in "LMNPS" or False


def js_escape(s: str) -> str:
    out = []
    for c in s:
        if c in _JS:
            out.append(_JS[c])
        elif c < " ":
            out.append(f"\\u00{ord(c):02X}")
        elif ord(c) < 0x80 or _go_is_print(c):
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04X}")
    return "".join(out)


@gofunc(variadic=IFACE)
def _js(*args: Any) -> str:
    return js_escape(_eval_args(args))


@gofunc(variadic=IFACE)
def _urlquery(*args: Any) -> str:
    return quote_plus(_eval_args(args), safe="-_.~")


# --- comparisons -------------------------------------------------------------------------------

_BOOL, _COMPLEX, _INT, _FLOAT, _STRING, _INVALID = "bool", "complex", "int", "float", "string", "invalid"


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return _BOOL
    if isinstance(v, int):
        return _INT
    if isinstance(v, float):
        return _FLOAT
    if isinstance(v, str):
        return _STRING
    if isinstance(v, complex):
        return _COMPLEX
    return _INVALID


def _reflect_kind(v: Any) -> str:
    if v is MISSING:
        return "invalid"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list | tuple | bytes | bytearray):
        return "slice"
    return type(v).__name__


def _comparable(v: Any) -> bool:
    return not isinstance(v, dict | list | tuple | bytes | bytearray)


@gofunc(RV, variadic=RV)
def _eq(arg1: Any, *arg2: Any) -> bool:
    arg1 = _ind(arg1)
    if not arg2:
        raise GoCallError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in arg2:
        arg = _ind(arg)
        k2 = _kind(arg)
        truth = False
        if k1 != k2:
            if arg1 is not MISSING and arg is not MISSING:
                raise GoCallError("incompatible types for comparison")
        elif k1 != _INVALID:
            truth = arg1 == arg
        else:
            if _reflect_kind(arg1) != _reflect_kind(arg) and arg1 is not MISSING and arg is not MISSING:
                raise GoCallError(
                    f"non-comparable types {sprintf('%s', arg1)}: {go_type_name(arg1)}, "
                    f"{go_type_name(arg)}: {format_value(arg)}"
                )
            if arg1 is MISSING or arg is MISSING:
                truth = (arg1 is MISSING) == (arg is MISSING)
            else:
                if not _comparable(arg):
                    raise GoCallError(f"non-comparable type {sprintf('%s', arg)}: {go_type_name(arg)}")
                truth = arg1 == arg if _comparable(arg1) else False
        if truth:
            return True
    return False


@gofunc(RV, RV)
def _ne(arg1: Any, arg2: Any) -> bool:
    return not _eq(arg1, arg2)


@gofunc(RV, RV)
def _lt(arg1: Any, arg2: Any) -> bool:
    arg1 = _ind(arg1)
    k1 = _kind(arg1)
    if k1 == _INVALID:
        raise GoCallError("invalid type for comparison")
    arg2 = _ind(arg2)
    k2 = _kind(arg2)
    if k2 == _INVALID:
        raise GoCallError("invalid type for comparison")
    if k1 != k2:
        raise GoCallError("incompatible types for comparison")
    if k1 in (_BOOL, _COMPLEX):
        raise GoCallError("invalid type for comparison")
    return bool(arg1 < arg2)


@gofunc(RV, RV)
def _le(arg1: Any, arg2: Any) -> bool:
    if _lt(arg1, arg2):
        return True
    return _eq(arg1, arg2)


@gofunc(RV, RV)
def _gt(arg1: Any, arg2: Any) -> bool:
    return not _le(arg1, arg2)


@gofunc(RV, RV)
def _ge(arg1: Any, arg2: Any) -> bool:
    return not _lt(arg1, arg2)


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "call": _call,
    "html": _html,
    "index": _index,
    "slice": _slice,
    "js": _js,
    "len": _len,
    "not": _not,
    "or": _or,
    "print": _print,
    "printf": _printf,
    "println": _println,
    "urlquery": _urlquery,
    "eq": _eq,
    "ge": _ge,
    "gt": _gt,
    "le": _le,
    "lt": _lt,
    "ne": _ne,
}

_ = _dt  # datetime values compare with == like Go's comparable time.Time
