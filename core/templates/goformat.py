"""The few Go formatting and parsing rules template loading depends on.

Error texts and conversions here are Go's (`strconv.FormatFloat`, `encoding/json` float output,
`fmt` `%v`, `time.ParseDuration`, `time.Duration.String`), because users see them in error messages
and in the JSON of templates.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

from utask.core.gojson import JSONNumber


def _shortest_digits(f: float, bits: int) -> tuple[str, int]:
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


def format_float_g(f: float, bits: int = 64, exp_threshold: int | None = None) -> str:
    """`strconv.FormatFloat(f, 'g', -1, bits)` (or fmt's `%v`, which uses threshold 21)."""
    if bits == 32:
        f = _to_float32(f)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    digits, dp = _shortest_digits(f, bits)
    eprec = 6 if exp_threshold is None else exp_threshold
    exp = dp - 1
    if exp < -4 or exp >= eprec:
        return _fmt_e(neg, digits, dp)
    return _fmt_f(neg, digits, dp)


def yaml_float_to_string(f: float) -> str:
    """What sigs.k8s.io/yaml writes into a string-typed field for a YAML float (32-bit shortest %g:
    `1.5`, `1.234567e+06`, `+Inf`, `NaN`)."""
    return format_float_g(f, 32)


def yaml_float_key(f: float) -> str:
    """A YAML float used as a map key (same formatting, but infinities and NaN spelled the YAML way)."""
    s = format_float_g(f, 32)
    return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(s, s)


def json_float(f: float) -> str:
    """`encoding/json` output of a float64 (raises ValueError for Inf/NaN like json.Marshal)."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {format_float_g(f)}")
    neg = math.copysign(1.0, f) < 0  # Go writes -0 for negative zero
    digits, dp = _shortest_digits(f, 64)
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = _fmt_e(neg, digits, dp)
        # Go trims e-09 to e-9 (only for negative exponents)
        s = re.sub(r"e-0(\d)$", r"e-\1", s)
        return s
    return _fmt_f(neg, digits, dp)


def format_v(value: Any) -> str:
    """fmt's `%v` for decoded JSON values (inputs): strings as-is, json.Number text, `[a b]`, `map[k:v]`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JSONNumber | str):
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
