"""Go `fmt` and `strconv` text for the values Sprig handles (%v, %q, float64 'g')."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from utask.core.gojson import JSONNumber
from utask_sdk.goconv import format_float_g

_missing: list[Any] = []


def missing_sentinel() -> Any:
    """A's MISSING sentinel (None until core/templating/values_model.py exists)."""
    if _missing:
        return _missing[0]
    try:
        from utask.core.templating.values_model import MISSING  # type: ignore[import-not-found]
    except Exception:
        return None
    _missing.append(MISSING)
    return MISSING


def norm(v: Any) -> Any:
    """MISSING (an invalid reflect.Value) reaches a Go function's interface{} parameter as nil."""
    if v is None:
        return None
    m = missing_sentinel()
    if m is not None and v is m:
        return None
    return v


def go_v(v: Any, top: bool = True) -> str:
    """fmt.Sprint(v) / %v."""
    t = type(v)
    if t is str:
        return v
    if v is None:
        return "<nil>"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return format_float_g(v)
    if t is JSONNumber or isinstance(v, JSONNumber):
        return str.__str__(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{go_v(k, False)}:{go_v(x, False)}" for k, x in items) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_v(x, False) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return format_float_g(float(v))
    if isinstance(v, datetime):
        from .gotime import time_string

        return time_string(v)
    if isinstance(v, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in v) + "]"
    m = missing_sentinel()
    if m is not None and v is m:
        return "<no value>" if top else "<nil>"
    return str(v)


def _is_print(ch: str) -> bool:
    return ch == " " or ch.isprintable()


def go_quote(s: str, quote: str = '"', ascii_only: bool = False) -> str:
    """strconv.Quote (%q)."""
    out = [quote]
    for ch in s:
        o = ord(ch)
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif 0xDC80 <= o <= 0xDCFF:  # an invalid UTF-8 byte kept with surrogateescape
            out.append(f"\\x{o - 0xDC00:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x80 and 0x20 <= o < 0x7F or o >= 0x80 and not ascii_only and _is_print(ch):
            out.append(ch)
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\v":
            out.append("\\v")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append(quote)
    return "".join(out)


def go_bytes(s: str) -> bytes:
    """The bytes of a Go string (invalid UTF-8 kept with surrogateescape)."""
    return s.encode("utf-8", "surrogateescape") if not s.isascii() else s.encode("ascii")


def go_str(b: bytes) -> str:
    """A Go string from bytes (invalid UTF-8 kept with surrogateescape)."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("utf-8", "surrogateescape")
