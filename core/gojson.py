"""Go-compatible JSON values.

µTask decodes inputs and plugin outputs with `json.Number`: a number keeps the exact text it was written
with (`1619464078`, `-2.3`, `2.50`) and prints as that text. `JSONNumber` is that type here. Values
computed by Sprig arithmetic are plain Python `int` (Go int/int64) or `float` (Go float64).

`dumps` writes what Go's `encoding/json` writes (`json.Marshal`, `json.MarshalIndent`, an `Encoder` with
`SetEscapeHTML(false)`), byte for byte:

* map keys sorted; no spaces in compact form; `MarshalIndent` layout (`[]`/`{}` stay compact,
  `"key": value`, `prefix` starts every line but the first);
* strings: `\\"`, `\\\\`, `\\n`, `\\r`, `\\t`, other control characters as `\\u00XX` (Go 1.19, the oracle's
  version: `\\b` and `\\f` as `\\u0008`/`\\u000c`), `<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026` when
  `escape_html`, U+2028/U+2029 escaped, lone surrogates (invalid UTF-8 kept with `surrogateescape`, or
  decoded `\\ud800`) as `\\ufffd`;
* float64: shortest representation, `'f'` form for 1e-6 <= |x| < 1e21, else `'e'` form with the exponent
  cleaned up (`1e-07` -> `1e-7`); NaN/±Inf are errors (`json: unsupported value: NaN`);
* `JSONNumber` written as is (validated like Go's `json.Number`); `int` as is; `bool`; `None` as `null`;
* `datetime` as Go's `time.Time` (RFC 3339 with nanoseconds, trailing zeros trimmed);
* objects with a `__go_json__()` method: that method returns the JSON text to write (Go `MarshalJSON`).
"""

from __future__ import annotations

import json
import math
import re
import weakref
from datetime import datetime, timedelta
from typing import Any

from utask_sdk.goconv import format_float
from utask_sdk.protocol import JSONNumber

__all__ = ["JSONNumber", "GoNilSlice", "nil_slice", "loads", "dumps", "format_float", "GoJSONError"]


def loads(text: str | bytes) -> Any:
    """Decode JSON keeping every number as a `JSONNumber`."""
    return json.loads(text, parse_int=JSONNumber, parse_float=JSONNumber)


class GoNilSlice(list):  # type: ignore[type-arg]
    """A nil Go slice (`[]string(nil)`, what `regexFindAll` returns on no match): an empty list that
    prints `[]` like any slice but encodes as JSON `null`. Make them with `nil_slice()`."""

    __hash__ = object.__hash__  # tracked in a WeakSet by identity


_NIL_SLICES: weakref.WeakSet[GoNilSlice] = weakref.WeakSet()


def nil_slice() -> GoNilSlice:
    s = GoNilSlice()
    _NIL_SLICES.add(s)
    return s


class GoJSONError(ValueError):
    """An encoding error, with Go's message (`json: unsupported value: NaN`)."""


# -- numbers ---------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")


def _float_json(f: float) -> str:
    if math.isnan(f) or math.isinf(f):
        raise GoJSONError("json: unsupported value: " + ("NaN" if math.isnan(f) else ("+Inf" if f > 0 else "-Inf")))
    return format_float(f, "json")


def _number_json(n: JSONNumber) -> str:
    s = str.__str__(n)
    if s == "":
        return "0"
    if not _NUMBER_RE.match(s):
        raise GoJSONError(f"json: invalid number literal {_go_quote(s)}")
    return s


def _go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# -- times -----------------------------------------------------------------------------------------------


def time_rfc3339nano(dt: datetime) -> str:
    """Go's `t.Format(time.RFC3339Nano)` for an aware (or naive = UTC) datetime."""
    if dt.year < 0 or dt.year > 9999:
        raise GoJSONError("Time.MarshalJSON: year outside of range [0,9999]")
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = ""
    if dt.microsecond:
        frac = "." + f"{dt.microsecond:06d}".rstrip("0")
    off = dt.utcoffset()
    if off is None or off == timedelta(0):
        zone = "Z"
    else:
        secs = int(off.total_seconds())
        sign = "+" if secs >= 0 else "-"
        secs = abs(secs)
        zone = f"{sign}{secs // 3600:02d}:{secs % 3600 // 60:02d}"
    return base + frac + zone


# -- strings ---------------------------------------------------------------------------------------------

_c_encode = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
_FIX_SHORT_ESCAPES = re.compile(r"\\(\\|b|f)")
_FIX_UNICODE = re.compile("[\u2028\u2029\ud800-\udfff]")


def _fix_short(m: re.Match[str]) -> str:
    c = m.group(1)
    if c == "\\":
        return "\\\\"
    return "\\u0008" if c == "b" else "\\u000c"


def _fix_unicode(m: re.Match[str]) -> str:
    c = m.group(0)
    if c == "\u2028":
        return "\\u2028"
    if c == "\u2029":
        return "\\u2029"
    return "\\ufffd"


def _postprocess(out: str, escape_html: bool) -> str:
    """Turn Python's string escaping into Go's (applies to the whole document: the characters handled
    here only ever occur inside JSON strings)."""
    if "\\b" in out or "\\f" in out:
        out = _FIX_SHORT_ESCAPES.sub(_fix_short, out)
    if escape_html:
        if "<" in out:
            out = out.replace("<", "\\u003c")
        if ">" in out:
            out = out.replace(">", "\\u003e")
        if "&" in out:
            out = out.replace("&", "\\u0026")
    if not out.isascii():
        out = _FIX_UNICODE.sub(_fix_unicode, out)
    return out


# -- encoder ---------------------------------------------------------------------------------------------



def _key_text(k: Any) -> str:
    if isinstance(k, str):
        return str.__str__(k)
    if isinstance(k, bool):
        raise GoJSONError("json: unsupported type: map[bool]interface {}")
    if isinstance(k, int):
        return str(k)
    if isinstance(k, float):
        raise GoJSONError("json: unsupported type: map[float64]interface {}")
    return str(k)


def _encode(obj: Any, out: list[str], indent: str | None, prefix: str, level: int) -> None:
    t = type(obj)
    if t is str:
        out.append(_c_encode(obj))
    elif obj is None:
        out.append("null")
    elif t is bool:
        out.append("true" if obj else "false")
    elif t is int:
        out.append(int.__repr__(obj))
    elif t is JSONNumber:
        out.append(_number_json(obj))
    elif t is float:
        out.append(_float_json(obj))
    elif t is GoNilSlice and not obj:
        out.append("null")
    elif t is dict or isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        items = sorted(((_key_text(k), v) for k, v in obj.items()), key=lambda kv: kv[0])
        if indent is None:
            out.append("{")
            first = True
            for k, v in items:
                if not first:
                    out.append(",")
                first = False
                out.append(_c_encode(k))
                out.append(":")
                _encode(v, out, None, prefix, level)
            out.append("}")
        else:
            inner = "\n" + prefix + indent * (level + 1)
            out.append("{")
            first = True
            for k, v in items:
                if not first:
                    out.append(",")
                first = False
                out.append(inner)
                out.append(_c_encode(k))
                out.append(": ")
                _encode(v, out, indent, prefix, level + 1)
            out.append("\n" + prefix + indent * level + "}")
    elif t is list or t is tuple or isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        if indent is None:
            out.append("[")
            first = True
            for v in obj:
                if not first:
                    out.append(",")
                first = False
                _encode(v, out, None, prefix, level)
            out.append("]")
        else:
            inner = "\n" + prefix + indent * (level + 1)
            out.append("[")
            first = True
            for v in obj:
                if not first:
                    out.append(",")
                first = False
                out.append(inner)
                _encode(v, out, indent, prefix, level + 1)
            out.append("\n" + prefix + indent * level + "]")
    elif isinstance(obj, JSONNumber):
        out.append(_number_json(obj))
    elif isinstance(obj, str):
        out.append(_c_encode(str.__str__(obj)))
    elif isinstance(obj, bool):
        out.append("true" if obj else "false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(_float_json(obj))
    elif hasattr(obj, "__go_json__"):
        raw = obj.__go_json__()
        if indent is not None:
            raw = _reindent(raw, indent, prefix, level)
        out.append(raw)
    elif isinstance(obj, datetime):
        out.append('"' + time_rfc3339nano(obj) + '"')
    elif isinstance(obj, (bytes, bytearray)):
        import base64

        out.append('"' + base64.b64encode(bytes(obj)).decode() + '"')
    else:
        missing = _missing_sentinel()
        if missing is not None and obj is missing:
            out.append("null")
            return
        raise GoJSONError(f"json: unsupported type: {type(obj).__name__}")


def _reindent(raw: str, indent: str, prefix: str, level: int) -> str:
    """Re-layout compact JSON text produced by a `__go_json__` method (rare: certificates, versions)."""
    value = loads(raw)
    out: list[str] = []
    _encode(value, out, indent, prefix, level)
    return "".join(out)


def _missing_sentinel() -> Any:
    try:
        from utask.core.templating.values_model import MISSING  # type: ignore[import-not-found]
    except Exception:  # pragma: no cover - until the value model exists
        return None
    return MISSING


class _RawJSON(str):
    """JSON text to write as is (the result of a `__go_json__` method)."""

    __slots__ = ()


_FLOATISH = re.compile(r"[0-9](?:\.[0-9]|e[+-])")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\x01([^\x01]*)\x01|(-?[0-9][0-9.e+-]*)')


def _fix_token(m: re.Match[str]) -> str:
    marked = m.group(1)
    if marked is not None:
        return marked
    num = m.group(2)
    if num is not None and ("." in num or "e" in num):
        return format_float(float(num), "json")
    return m.group(0)


def _c_string_hook(s: str) -> str:
    t = type(s)
    if t is str:
        return _c_encode(s)
    if t is JSONNumber:
        text = _number_json(s)
        if "." in text or "e" in text or "E" in text:
            return "\x01" + text + "\x01"
        return text
    if t is _RawJSON:
        return "\x01" + str.__str__(s) + "\x01"
    return _c_encode(str.__str__(s))


def _c_default(obj: Any) -> Any:
    if hasattr(obj, "__go_json__"):
        return _RawJSON(obj.__go_json__())
    if isinstance(obj, datetime):
        return time_rfc3339nano(obj)
    if isinstance(obj, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(obj)).decode()
    missing = _missing_sentinel()
    if missing is not None and obj is missing:
        return None
    raise GoJSONError(f"json: unsupported type: {type(obj).__name__}")


_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)


def _compact_c(obj: Any) -> str:
    assert _c_make_encoder is not None
    enc = _c_make_encoder(None, _c_default, _c_string_hook, None, ":", ",", True, False, False)
    out = "".join(enc(obj, 0))
    if "\x01" in out or (("." in out or "e+" in out or "e-" in out) and _FLOATISH.search(out)):
        out = _TOKEN.sub(_fix_token, out)
    return out


def dumps(obj: Any, *, escape_html: bool = True, indent: str | None = None, prefix: str = "") -> str:
    """Encode like Go's `json.Marshal` (`indent` set: `json.MarshalIndent(obj, prefix, indent)`).

    Raises `GoJSONError` with Go's message for NaN/Inf and unsupported values.
    """
    out: str | None = None
    if indent is None and _c_make_encoder is not None and not _NIL_SLICES:
        try:
            out = _compact_c(obj)
        except GoJSONError:
            raise
        except (ValueError, TypeError, RecursionError):
            out = None  # NaN/Inf, odd keys, cycles: the Python encoder says it Go's way
    if out is None:
        parts: list[str] = []
        # layout with placeholders (control characters never occur raw in the JSON text), so that the
        # escaping pass below leaves the caller's prefix and indent alone
        ind = None if indent is None else "\x02"
        try:
            _encode(obj, parts, ind, "\x03" if prefix else "", 0)
        except RecursionError as exc:
            raise GoJSONError("json: unsupported value: encountered a cycle") from exc
        out = _postprocess("".join(parts), escape_html)
        if indent is not None:
            out = out.replace("\x02", indent)
            if prefix:
                out = out.replace("\x03", prefix)
        return out
    return _postprocess(out, escape_html)
