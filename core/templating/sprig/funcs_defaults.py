"""Sprig defaults.go (default, empty, coalesce, all, any, ternary, JSON) and reflect.go, flow control."""

from __future__ import annotations

import json
import math
from typing import Any

from utask.core.gojson import GoJSONError, dumps

from ._cast import deep_equal, empty, kind_name, type_name
from ._fmt import norm
from ._registry import gofunc
from .errors import TemplateFuncError

IF = "interface{}"


@gofunc("default", (IF, "...interface{}"), (IF,))
def default(d: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return norm(d)
    return norm(given[0])


@gofunc("empty", (IF,), ("bool",))
def empty_(v: Any) -> bool:
    return empty(v)


@gofunc("coalesce", ("...interface{}",), (IF,))
def coalesce(*vals: Any) -> Any:
    for v in vals:
        if not empty(v):
            return norm(v)
    return None


@gofunc("all", ("...interface{}",), ("bool",))
def all_(*vals: Any) -> bool:
    return all(not empty(v) for v in vals)


@gofunc("any", ("...interface{}",), ("bool",))
def any_(*vals: Any) -> bool:
    return any(not empty(v) for v in vals)


@gofunc("ternary", (IF, IF, "bool"), (IF,))
def ternary(vt: Any, vf: Any, v: bool) -> Any:
    return norm(vt) if v else norm(vf)


# -- JSON ----------------------------------------------------------------------------------------------------


def _quote_char(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    from ._fmt import go_quote

    q = go_quote(c)
    return "'" + q[1:-1] + "'"


def _context_at(text: str, pos: int) -> str:
    """'object' or 'array': the innermost container open at `pos`."""
    stack: list[str] = []
    in_str = esc = False
    for ch in text[:pos]:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}" and stack:
            stack.pop()
    return "object" if stack and stack[-1] == "{" else "array"


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def go_json_unmarshal(text: str) -> Any:
    """json.Unmarshal into interface{} (numbers as float64). Raises TemplateFuncError with Go's text."""
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        pos = exc.pos
        msg = exc.msg
        if pos >= len(text) or msg.startswith("Unterminated string"):
            raise TemplateFuncError("unexpected end of JSON input") from None
        c = text[pos]
        if msg.startswith("Expecting value"):
            stripped = text[:pos].rstrip()
            if stripped.endswith(":"):
                where = "looking for beginning of value"
            else:
                where = "looking for beginning of value"
            raise TemplateFuncError(f"invalid character {_quote_char(c)} {where}") from None
        if msg.startswith("Extra data"):
            raise TemplateFuncError(f"invalid character {_quote_char(c)} after top-level value") from None
        if msg.startswith("Expecting property name"):
            raise TemplateFuncError(f"invalid character {_quote_char(c)} looking for beginning of object key string") from None
        if msg.startswith("Expecting ':'"):
            raise TemplateFuncError(f"invalid character {_quote_char(c)} after object key") from None
        if msg.startswith("Expecting ','"):
            if _context_at(text, pos) == "object":
                raise TemplateFuncError(f"invalid character {_quote_char(c)} after object key:value pair") from None
            raise TemplateFuncError(f"invalid character {_quote_char(c)} after array element") from None
        if msg.startswith("Invalid control character"):
            raise TemplateFuncError(f"invalid character {_quote_char(c)} in string literal") from None
        if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
            c = text[pos + 1] if pos + 1 < len(text) else c
            raise TemplateFuncError(f"invalid character {_quote_char(c)} in string escape code") from None
        raise TemplateFuncError(msg) from None
    except ValueError as exc:
        name = str(exc)
        raise TemplateFuncError(f"invalid character {_quote_char(name[0])} looking for beginning of value") from None


@gofunc("fromJson", ("string",), (IF,))
def from_json(s: str) -> Any:
    try:
        return go_json_unmarshal(s)
    except TemplateFuncError:
        return None


@gofunc("mustFromJson", ("string",), (IF, "error"))
def must_from_json(s: str) -> Any:
    return go_json_unmarshal(s)


def _json(v: Any, **kw: Any) -> str:
    try:
        return dumps(norm(v), **kw)
    except GoJSONError as exc:
        raise TemplateFuncError(str(exc)) from None


@gofunc("toJson", (IF,), ("string",))
def to_json(v: Any) -> str:
    try:
        return _json(v)
    except TemplateFuncError:
        return ""


@gofunc("mustToJson", (IF,), ("string", "error"))
def must_to_json(v: Any) -> str:
    return _json(v)


@gofunc("toPrettyJson", (IF,), ("string",))
def to_pretty_json(v: Any) -> str:
    try:
        return _json(v, indent="  ")
    except TemplateFuncError:
        return ""


@gofunc("mustToPrettyJson", (IF,), ("string", "error"))
def must_to_pretty_json(v: Any) -> str:
    return _json(v, indent="  ")


@gofunc(("toRawJson", "mustToRawJson"), (IF,), ("string",))
def to_raw_json(v: Any) -> str:
    return _json(v, escape_html=False)


# -- reflection ----------------------------------------------------------------------------------------------


@gofunc("typeOf", (IF,), ("string",))
def type_of(v: Any) -> str:
    return type_name(v)


@gofunc("typeIs", ("string", IF), ("bool",))
def type_is(target: str, v: Any) -> bool:
    return target == type_name(v)


@gofunc("typeIsLike", ("string", IF), ("bool",))
def type_is_like(target: str, v: Any) -> bool:
    t = type_name(v)
    return target == t or "*" + target == t


@gofunc("kindOf", (IF,), ("string",))
def kind_of(v: Any) -> str:
    return kind_name(v)


@gofunc("kindIs", ("string", IF), ("bool",))
def kind_is(target: str, v: Any) -> bool:
    return target == kind_name(v)


@gofunc("deepEqual", (IF, IF), ("bool",))
def deep_equal_(a: Any, b: Any) -> bool:
    return deep_equal(a, b)


@gofunc("fail", ("string",), ("string", "error"))
def fail(msg: str) -> str:
    raise TemplateFuncError(msg)


_ = math
