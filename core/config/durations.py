"""Go's `time.ParseDuration`, used for every duration µTask reads from configuration and templates.

The accepted syntax and the error texts are Go's, because µTask users see them in start-up errors
(`failed to parse "resource_acquire_timeout": time: invalid duration "1d"`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

# Nanoseconds per unit, as Go's unitMap (both micro signs are accepted).
_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_MAX_NS = (1 << 63) - 1
_COMPONENT = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


class DurationError(ValueError):
    """Go's error text, e.g. `time: invalid duration "x"`."""


def _quote(s: str) -> str:
    # Go quotes with strconv.Quote; for the ASCII texts users type, a JSON-style quote is the same.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_go_duration_ns(text: str) -> int:
    """Parse a Go duration string ("1h30m", "-1.5s", "300ms", "0") into integer nanoseconds."""
    orig = text
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise DurationError(f"time: invalid duration {_quote(orig)}")
    total = Decimal(0)
    pos = 0
    while pos < len(s):
        m = _COMPONENT.match(s, pos)
        number, unit = m.group(1), m.group(2) if m else ("", "")
        if number in ("", "."):
            raise DurationError(f"time: invalid duration {_quote(orig)}")
        if unit == "":
            raise DurationError(f"time: missing unit in duration {_quote(orig)}")
        if unit not in _UNITS:
            raise DurationError(f"time: unknown unit {_quote(unit)} in duration {_quote(orig)}")
        try:
            total += Decimal(number) * _UNITS[unit]
        except InvalidOperation as e:  # pragma: no cover - the regex only lets digits and one dot through
            raise DurationError(f"time: invalid duration {_quote(orig)}") from e
        if total > _MAX_NS:
            raise DurationError(f"time: invalid duration {_quote(orig)}")
        pos = m.end()
    ns = int(total)  # Go truncates fractional nanoseconds
    return -ns if neg else ns


def parse_go_duration(text: str) -> timedelta:
    """Parse a Go duration string into a `timedelta` (sub-microsecond parts are truncated)."""
    ns = parse_go_duration_ns(text)
    sign = -1 if ns < 0 else 1
    return sign * timedelta(microseconds=abs(ns) // 1000)


def format_go_duration(value: timedelta) -> str:
    """Go's `Duration.String()` for whole microseconds ("1h0m0s", "1.5s", "300ms", "0s")."""
    ns = round(value.total_seconds() * 1_000_000) * 1000
    if ns == 0:
        return "0s"
    neg = ns < 0
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("\u00b5s", 1_000), ("ns", 1)):
            if ns >= size:
                out = _trim(Decimal(ns) / size) + unit
                break
    else:
        hours, rest = divmod(ns, 3600 * 1_000_000_000)
        minutes, rest = divmod(rest, 60 * 1_000_000_000)
        secs = _trim(Decimal(rest) / 1_000_000_000)
        if hours:
            out = f"{hours}h{minutes}m{secs}s"
        elif minutes:
            out = f"{minutes}m{secs}s"
        else:
            out = f"{secs}s"
    return ("-" if neg else "") + out


def _trim(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
