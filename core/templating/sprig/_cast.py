"""spf13/cast coercions (v1.7) and Sprig's small helpers (strval, strslice, empty), on the value model."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from utask.core.gojson import JSONNumber

from ._fmt import go_v, norm

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def wrap64(x: int) -> int:
    """Go int64 arithmetic wraps around."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def float_to_int64(f: float) -> int:
    """Go's int64(f) conversion on amd64 (out of range and NaN give math.MinInt64)."""
    if math.isnan(f) or math.isinf(f):
        return INT64_MIN
    i = int(f)
    if i < INT64_MIN or i > INT64_MAX:
        return INT64_MIN
    return i


_INT_BODY = {2: re.compile(r"[01_]+\Z"), 8: re.compile(r"[0-7_]+\Z"), 10: re.compile(r"[0-9_]+\Z"),
             16: re.compile(r"[0-9a-fA-F_]+\Z")}


def _underscore_ok(s: str, had_prefix: bool) -> bool:
    # underscores only between digits, or between a base prefix and a digit
    if "_" not in s:
        return True
    prev = "0" if had_prefix else "^"
    for c in s:
        if c == "_":
            if prev != "0":
                return False
            prev = "_"
        else:
            prev = "0"
    return prev != "_"


def parse_int_go(s: str, base: int = 0, bits: int = 64) -> int | None:
    """strconv.ParseInt(s, base, bits); None on any error (syntax or range)."""
    if not s or not s.isascii():
        return None
    body = s
    neg = False
    if body[0] in "+-":
        neg = body[0] == "-"
        body = body[1:]
    if not body:
        return None
    prefix = False
    if base == 0:
        base = 10
        if body[0] == "0":
            if len(body) >= 3 and body[1] in "xX":
                base, body, prefix = 16, body[2:], True
            elif len(body) >= 3 and body[1] in "bB":
                base, body, prefix = 2, body[2:], True
            elif len(body) >= 3 and body[1] in "oO":
                base, body, prefix = 8, body[2:], True
            elif len(body) > 1:
                base, body, prefix = 8, body[1:], True
        if not _underscore_ok(body, prefix):
            return None
        body = body.replace("_", "")
    pat = _INT_BODY.get(base)
    if not body or (pat is not None and not pat.match(body)) or "_" in body:
        return None
    try:
        v = int(body, base)
    except ValueError:
        return None
    if neg:
        v = -v
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if v < lo or v > hi:
        return None
    return v


def parse_uint_go(s: str, base: int = 10, bits: int = 64) -> int | None:
    if not s or s[0] in "+-":
        return None
    v = parse_int_go(s, base, bits + 1)
    if v is None or v < 0 or v >= 1 << bits:
        return None
    return v


_FLOAT_RE = re.compile(
    r"[+-]?(?:(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?"
    r"|0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+)\Z"
)
_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
            "+infinity": math.inf, "-infinity": -math.inf, "nan": math.nan, "+nan": math.nan, "-nan": math.nan}


def parse_float_go(s: str) -> float | None:
    """strconv.ParseFloat(s, 64); None on syntax or range error."""
    if not s or not s.isascii():
        return None
    low = s.lower()
    if low in _SPECIAL:
        if "nan" in low and low != "nan":
            return None
        return _SPECIAL[low]
    if not _FLOAT_RE.match(s):
        return None
    body = s.lstrip("+-")
    hexa = body[:2].lower() == "0x"
    if "_" in s:
        digits = body[2:] if hexa else body
        if not _underscore_ok(re.split(r"[.eEpP]", digits)[0], hexa):
            return None
        s = s.replace("_", "")
    try:
        f = float.fromhex(s) if hexa else float(s)
    except (ValueError, OverflowError):
        return None
    if math.isinf(f):
        return None
    return f


def _trim_zero_decimal(s: str) -> str:
    found_zero = False
    for i in range(len(s), 0, -1):
        c = s[i - 1]
        if c == ".":
            if found_zero:
                return s[: i - 1]
        elif c == "0":
            found_zero = True
        else:
            return s
    return s


class CastError(ValueError):
    pass


def to_int64_e(v: Any) -> int:
    """cast.ToInt64E."""
    v = norm(v)
    t = type(v)
    if t is int:
        return wrap64(v)
    if t is bool:
        return 1 if v else 0
    if v is None:
        return 0
    if t is float:
        return float_to_int64(v)
    if isinstance(v, str):
        r = parse_int_go(_trim_zero_decimal(str.__str__(v)), 0, 64)
        if r is None:
            raise CastError(f"unable to cast {v!r} to int64")
        return r
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, int):
        return wrap64(int(v))
    if isinstance(v, float):
        return float_to_int64(float(v))
    raise CastError(f"unable to cast {v!r} to int64")


def to_int64(v: Any) -> int:
    try:
        return to_int64_e(v)
    except CastError:
        return 0


to_int = to_int64  # Go int is 64 bits on the platforms µTask runs on


def to_float64_e(v: Any) -> float:
    v = norm(v)
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    if t is bool:
        return 1.0 if v else 0.0
    if v is None:
        return 0.0
    if isinstance(v, str):
        r = parse_float_go(str.__str__(v))
        if r is None:
            raise CastError(f"unable to cast {v!r} to float64")
        return r
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    raise CastError(f"unable to cast {v!r} to float64")


def to_float64(v: Any) -> float:
    try:
        return to_float64_e(v)
    except CastError:
        return 0.0


def strval(v: Any) -> str:
    """Sprig's strval: strings as is, error/Stringer text, else %v."""
    if type(v) is str:
        return v
    if isinstance(v, str):
        return str.__str__(v)
    return go_v(v)


def strslice(v: Any) -> list[str]:
    """Sprig's strslice (toStrings)."""
    v = norm(v)
    if isinstance(v, (list, tuple)):
        return [strval(x) for x in v if norm(x) is not None]
    if v is None:
        return []
    return [strval(v)]


def empty(v: Any) -> bool:
    """Sprig's empty: the zero value of its type."""
    v = norm(v)
    if v is None:
        return True
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) == 0
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v == 0
    return False


def int_type(v: Any) -> str:
    """Go type of a Python int of the value model: `int`, `int64` (values_model.Int64), `uint8`."""
    name = type(v).__name__
    return {"Int64": "int64", "Uint8": "uint8"}.get(name, "int")


def is_go_int(v: Any) -> bool:
    """Go int, int32 or int64 (not bool, not uint8)."""
    return isinstance(v, int) and not isinstance(v, bool) and type(v).__name__ != "Uint8"


def is_int64(v: Any) -> bool:
    return type(v).__name__ == "Int64"


def type_name(v: Any) -> str:
    """fmt's %T."""
    v = norm(v)
    if v is None:
        return "<nil>"
    t = type(v)
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float64"
    if t is JSONNumber:
        return "json.Number"
    if t is dict:
        return "map[string]interface {}"
    if t is list or t is tuple:
        return "[]interface {}"
    if isinstance(v, datetime):
        return "time.Time"
    name = getattr(v, "go_type", None)
    if name:
        return str(name)
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return int_type(v)
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    return type(v).__name__


def kind_name(v: Any) -> str:
    """reflect.Value.Kind().String()."""
    v = norm(v)
    if v is None:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, int):
        return int_type(v)
    if isinstance(v, float):
        return "float64"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, (list, tuple)):
        return "slice"
    if isinstance(v, datetime):
        return "struct"
    return str(getattr(v, "go_kind", "struct"))


def deep_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on the value model (types must match: json.Number "1" != int 1)."""
    a, b = norm(a), norm(b)
    if a is None or b is None:
        return a is None and b is None
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        return False
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        return all(k in b and deep_equal(x, b[k]) for k, x in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b
    return bool(a == b)
