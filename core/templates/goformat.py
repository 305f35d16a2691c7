"""The few Go formatting and parsing rules template loading depends on.

Error texts and conversions here are Go's (`strconv.FormatFloat`, `encoding/json` float output,
`fmt` `%v`, `time.ParseDuration`, `time.Duration.String`), because users see them in error messages
and in the JSON of templates.
"""

from __future__ import annotations

import re

from utask_sdk.goconv import format_float_g, json_float
from utask_sdk.protocol import JSONNumber


def yaml_float_to_string(f: float) -> str:
    """What sigs.k8s.io/yaml writes into a string-typed field for a YAML float (32-bit shortest %g:
    `1.5`, `1.234567e+06`, `+Inf`, `NaN`)."""
    return format_float_g(f, 32)


def yaml_float_key(f: float) -> str:
    """A YAML float used as a map key (same formatting, but infinities and NaN spelled the YAML way)."""
    s = format_float_g(f, 32)
    return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(s, s)


# --- time.Duration ---------------------------------------------------------------------------------

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5
    "μs": 1_000,  # U+03BC
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def _go_quote(s: str) -> str:
    out = []
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def parse_duration(s: str) -> int:
    """`time.ParseDuration`: returns nanoseconds, raises ValueError with Go's message."""
    orig = s
    invalid = ValueError("time: invalid duration " + _go_quote(orig))
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise invalid
    total = 0.0
    total_int = 0
    while s:
        m = re.match(r"(\d*)(\.(\d*))?", s)
        assert m is not None
        int_part, frac_part = m.group(1), m.group(3)
        if int_part == "" and (frac_part is None or frac_part == ""):
            raise invalid
        s = s[m.end():]
        u = re.match(r"[^\d.]*", s)
        assert u is not None
        unit = u.group(0)
        if unit == "":
            raise ValueError("time: missing unit in duration " + _go_quote(orig))
        if unit not in _UNITS:
            raise ValueError("time: unknown unit " + _go_quote(unit) + " in duration " + _go_quote(orig))
        s = s[u.end():]
        scale = _UNITS[unit]
        whole = int(int_part or "0") * scale
        frac = 0
        if frac_part:
            frac = int(int(frac_part) * scale / (10 ** len(frac_part)))
        total_int += whole + frac
        total += whole + frac
        if total_int > (1 << 63) - 1:
            raise invalid
    return -total_int if neg else total_int


def duration_string(ns: int) -> str:
    """`time.Duration.String()`."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            out = f"{u}ns"
        elif u < 1_000_000:
            out = _frac(u, 3) + "µs"
        else:
            out = _frac(u, 6) + "ms"
    else:
        secs_total = u // 1_000_000_000
        sub = u % 1_000_000_000
        secs = secs_total % 60
        mins_total = secs_total // 60
        s_text = str(secs) + (("." + f"{sub:09d}".rstrip("0")) if sub else "") + "s"
        if mins_total == 0:
            out = s_text
        else:
            mins = mins_total % 60
            hours = mins_total // 60
            out = (f"{hours}h" if hours else "") + f"{mins}m" + s_text
    return ("-" if neg else "") + out


def _frac(v: int, prec: int) -> str:
    whole, frac = divmod(v, 10**prec)
    frac_text = f"{frac:0{prec}d}".rstrip("0")
    return str(whole) + ("." + frac_text if frac_text else "")


def json_number_from_python(value: int | float) -> JSONNumber:
    """The JSON text Go produces for a YAML number (ints exact, floats as encoding/json prints float64)."""
    if isinstance(value, bool):  # pragma: no cover - guarded by callers
        raise TypeError("bool is not a number")
    if isinstance(value, int):
        return JSONNumber(str(value))
    return JSONNumber(json_float(value))
