"""Go's parsing and formatting of the small values µTask configurations carry as strings.

µTask's builtin plugins take durations, booleans and integers as strings and report parse failures with
Go's own texts (`time: invalid duration "x"`, `strconv.ParseBool: parsing "x": invalid syntax`); plugins
that must keep those texts share these helpers instead of each re-implementing them.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .protocol import ExactFloat

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


def go_float(value: float) -> ExactFloat | int:
    """A float64 as Go's encoding/json writes it (`2.5`, `100`, `1e+21`, `1.5e-7`), kept exact on the wire."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {value!r}")
    a = abs(value)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = repr(value)
        if "e" not in text:
            text = f"{value:e}"
        mant, _, exp = text.partition("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        if sign == "+" and len(digits) < 2:
            digits = digits.rjust(2, "0")
        text = f"{mant}e{sign}{digits}"
    else:
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0" if text == "" else "-0"
    return ExactFloat(text)
