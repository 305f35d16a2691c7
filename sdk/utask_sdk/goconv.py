"""Go's parsing and formatting of the small values µTask configurations carry as strings.

Also Go's float texts (`strconv.FormatFloat`, `encoding/json`, fmt's `%v`), which the server uses too.

µTask's builtin plugins take durations, booleans and integers as strings and report parse failures with
Go's own texts (`time: invalid duration "x"`, `strconv.ParseBool: parsing "x": invalid syntax`); plugins
that must keep those texts share these helpers instead of each re-implementing them.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal
from typing import Any

from .protocol import ExactFloat, JSONNumber

_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "h": 3_600_000_000_000}
_NUMBER = re.compile(r"([0-9]*)(\.[0-9]*)?")
_UNIT = re.compile(r"[^0-9.]*")
_MAX_INT64 = (1 << 63) - 1


def go_quote(text: str) -> str:
    """strconv.Quote for the printable texts these messages carry."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def parse_duration(text: str) -> int:
    """time.ParseDuration: nanoseconds, or ValueError with Go's message."""
    orig, s = text, text
    neg = False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {go_quote(orig)}")
    total = 0
    while s:
        m = _NUMBER.match(s)
        whole, frac = m.group(1), m.group(2) or ""
        if not whole and len(frac) <= 1:
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
        s = s[m.end():]
        u = _UNIT.match(s).group(0)
        if not u:
            raise ValueError(f"time: missing unit in duration {go_quote(orig)}")
        if u not in _UNITS_NS:
            raise ValueError(f"time: unknown unit {go_quote(u)} in duration {go_quote(orig)}")
        s = s[len(u):]
        value = Decimal(whole or "0") + (Decimal("0" + frac) if len(frac) > 1 else 0)
        total += int(value * _UNITS_NS[u])
        if total > _MAX_INT64 + (1 if neg else 0):
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
    return -total if neg else total


def format_duration(ns: int) -> str:
    """time.Duration.String(): `1h2m3.5s`, `12.345ms`, `0s`."""
    if ns == 0:
        return "0s"
    neg, u = ns < 0, abs(ns)
    if u < 1_000_000_000:
        for unit, size in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < size * 1000:
                return ("-" if neg else "") + _fraction(u, size) + unit
    secs_ns = u % 60_000_000_000
    out = _fraction(secs_ns, 1_000_000_000) + "s"
    minutes = u // 60_000_000_000
    if minutes:
        out = f"{minutes % 60}m" + out
        if minutes >= 60:
            out = f"{minutes // 60}h" + out
    return ("-" if neg else "") + out


def _fraction(value: int, size: int) -> str:
    whole, rest = divmod(value, size)
    if not rest:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}." + f"{rest:0{digits}d}".rstrip("0")


def parse_bool(text: str, func: str = "ParseBool") -> bool:
    """strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.{func}: parsing {go_quote(text)}: invalid syntax")


def parse_uint(text: str, bits: int = 64) -> int:
    """strconv.ParseUint(text, 10, bits)."""
    if not text or not text.isascii() or not text.isdigit():
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if value >= 1 << bits:
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(text)}: value out of range")
    return value


def go_float(value: float) -> ExactFloat:
    """A float64 as Go's encoding/json writes it (`2.5`, `100`, `1e+21`, `1.5e-7`), kept exact on the wire."""
    return ExactFloat(json_float(value))


def shortest_digits(f: float, bits: int) -> tuple[str, int]:
    """Shortest decimal digits (no sign) and decimal point position that round-trip `f` at `bits`.

    Returns (digits, dp) meaning 0.digits × 10^dp, like Go's internal `decimalSlice`.
    """
    f = abs(f)
    if f == 0:
        return "0", 1
    if bits == 32:
        f32 = struct.unpack("f", struct.pack("f", f))[0]
        if f32 == 0:
            return "0", 1
        text = None
        for prec in range(1, 10):
            candidate = f"{f32:.{prec - 1}e}"
            if struct.unpack("f", struct.pack("f", float(candidate)))[0] == f32:
                text = candidate
                break
        assert text is not None
    else:
        # repr is Python's shortest round-trip form, the same digits Go's shortest formatting picks.
        text = repr(f)
    mantissa, _, exp_text = text.lower().partition("e")
    exp = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # position of the decimal point relative to the first significant digit
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    dp = len(int_part) - lead_zeros + exp
    digits = digits.rstrip("0") or "0"
    return digits, dp


def _fmt_e(neg: bool, digits: str, dp: int) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return ("-" if neg else "") + f"{mant}e{sign}{abs(exp):02d}"


def _fmt_f(neg: bool, digits: str, dp: int) -> str:
    if dp <= 0:
        out = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        out = digits + "0" * (dp - len(digits))
    else:
        out = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + out


def _to_float32(f: float) -> float:
    """Go's float32(f): round to nearest, ±Inf beyond the float32 range."""
    try:
        return struct.unpack("f", struct.pack("f", f))[0]
    except OverflowError:
        return math.copysign(math.inf, f)


def format_float(f: float, fmt: str = "json") -> str:
    """Go's float64 text: `fmt` "json" (encoding/json), "f" (strconv 'f', -1), "e" (strconv 'e', -1).
    Infinities and NaN as strconv writes them (json.Marshal refuses them: see `json_float`)."""
    if math.isnan(f) or math.isinf(f):
        return format_float_g(f)
    neg = math.copysign(1.0, f) < 0
    if fmt == "json":
        a = abs(f)
        fmt = "e" if a != 0 and (a < 1e-6 or a >= 1e21) else "f"
        s = format_float(f, fmt)
        return re.sub(r"e-0(\d)$", r"e-\1", s) if fmt == "e" else s  # Go trims e-09 to e-9
    digits, dp = shortest_digits(f, 64)
    return _fmt_f(neg, digits, dp) if fmt == "f" else _fmt_e(neg, digits, dp)


def format_float_g(f: float, bits: int = 64, exp_threshold: int | None = None) -> str:
    """`strconv.FormatFloat(f, 'g', -1, bits)` (or fmt's `%v`, which uses threshold 21)."""
    if bits == 32:
        f = _to_float32(f)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    digits, dp = shortest_digits(f, bits)
    eprec = 6 if exp_threshold is None else exp_threshold
    exp = dp - 1
    if exp < -4 or exp >= eprec:
        return _fmt_e(neg, digits, dp)
    return _fmt_f(neg, digits, dp)


def json_float(f: float) -> str:
    """`encoding/json` output of a float64 (raises ValueError for Inf/NaN like json.Marshal)."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {format_float_g(f)}")
    return format_float(f, "json")


def format_v(value: Any) -> str:
    """fmt's `%v` for decoded JSON values (inputs): strings as-is, json.Number text, `[a b]`, `map[k:v]`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JSONNumber | ExactFloat | str):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_g(value, 64, exp_threshold=21)
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{format_v(k)}:{format_v(value[k])}" for k in sorted(value)) + "]"
    return str(value)
