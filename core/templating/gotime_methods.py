"""Methods of Go's time.Time callable from templates (`{{ .task.created.Format "2006-01-02" }}`).

µTask puts `time.Time` values under `.task` (created, last_activity); Go templates can call their
methods. The formatting itself is Sprig's Go layout formatter (sprig/gotime.py) when present.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from .values_model import GoSig

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _aware(t: _dt.datetime) -> _dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


def _unix_ns(t: _dt.datetime) -> int:
    d = _aware(t) - _EPOCH
    return (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000


def go_format(t: _dt.datetime, layout: str) -> str:
    try:
        from .sprig.gotime import go_format as fmt
    except ImportError:  # Sprig not there: the reference layout only
        return t.isoformat()
    return fmt(t, layout)


def time_string(t: _dt.datetime) -> str:
    return go_format(t, "2006-01-02 15:04:05.999999999 -0700 MST")


def _m(params: tuple[str, ...], fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__gosig__ = GoSig(params)  # type: ignore[attr-defined]
    return fn


def method(t: _dt.datetime, name: str) -> Callable[..., Any] | None:
    """The bound method `name` of a time.Time, or None when time.Time has no such method."""
    table: dict[str, Callable[..., Any]] = {
        "Format": _m(("string",), lambda layout: go_format(t, layout)),
        "String": _m((), lambda: time_string(t)),
        "Unix": _m((), lambda: _unix_ns(t) // 10**9),
        "UnixMilli": _m((), lambda: _unix_ns(t) // 10**6),
        "UnixMicro": _m((), lambda: _unix_ns(t) // 10**3),
        "UnixNano": _m((), lambda: _unix_ns(t)),
        "UTC": _m((), lambda: _aware(t).astimezone(_dt.UTC)),
        "Year": _m((), lambda: t.year),
        "Month": _m((), lambda: _MONTHS[t.month - 1]),
        "Day": _m((), lambda: t.day),
        "Hour": _m((), lambda: t.hour),
        "Minute": _m((), lambda: t.minute),
        "Second": _m((), lambda: t.second),
        "Nanosecond": _m((), lambda: t.microsecond * 1000),
        "YearDay": _m((), lambda: t.timetuple().tm_yday),
        "Weekday": _m((), lambda: _DAYS[t.weekday()]),
        "IsZero": _m((), lambda: t.replace(tzinfo=None) == _dt.datetime(1, 1, 1)),
    }
    return table.get(name)
