"""Sprig date functions (date.go) with Go time layouts and durations."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from utask.core.gojson import JSONNumber

from . import gotime
from ._cast import is_go_int, is_int64
from ._fmt import norm
from ._registry import gofunc
from .errors import TemplateFuncError

S, IF, T = "string", "interface{}", "time.Time"


def now_time() -> datetime:
    return datetime.now(gotime.local_zone())


def _as_time(v: Any) -> datetime:
    """date/dateInZone's switch: time.Time, int/int64/int32 (Unix seconds), anything else → now."""
    v = norm(v)
    if isinstance(v, datetime):
        return v
    if is_go_int(v):
        return gotime.from_unix(int(v))
    return now_time()


@gofunc("now", (), (T,))
def now() -> datetime:
    return now_time()


@gofunc(("dateInZone", "date_in_zone"), (S, IF, S), (S,))
def date_in_zone(fmt: str, date: Any, zone: str) -> str:
    t = _as_time(date)
    loc = gotime.load_location(zone) or gotime.UTC
    with contextlib.suppress(OverflowError, ValueError):  # at the edge of Python's year range: keep t's zone
        t = t.astimezone(loc)
    return gotime.go_format(t, fmt)


@gofunc("date", (S, IF), (S,))
def date(fmt: str, date: Any) -> str:
    return date_in_zone(fmt, date, "Local")


@gofunc("htmlDate", (IF,), (S,))
def html_date(date: Any) -> str:
    return date_in_zone("2006-01-02", date, "Local")


@gofunc("htmlDateInZone", (IF, S), (S,))
def html_date_in_zone(date: Any, zone: str) -> str:
    return date_in_zone("2006-01-02", date, zone)


@gofunc(("dateModify", "date_modify"), (S, T), (T,))
def date_modify(fmt: str, date: datetime) -> datetime:
    try:
        d = gotime.parse_duration(fmt)
    except TemplateFuncError:
        return date
    return gotime.add_duration(date, d)


@gofunc(("mustDateModify", "must_date_modify"), (S, T), (T, "error"))
def must_date_modify(fmt: str, date: datetime) -> datetime:
    return gotime.add_duration(date, gotime.parse_duration(fmt))


@gofunc("ago", (IF,), (S,))
def ago(date: Any) -> str:
    date = norm(date)
    t = date if isinstance(date, datetime) else gotime.from_unix(int(date)) if is_go_int(date) else now_time()
    ns = gotime.since_ns(t)
    # Round(time.Second): half away from zero
    sec = gotime.SECOND
    q, r = divmod(abs(ns), sec)
    if r * 2 >= sec:
        q += 1
    return gotime.duration_string(q * sec if ns >= 0 else -q * sec)


def _parse_int_clamped(s: str) -> int:
    """strconv.ParseInt(s, 10, 64) with the error ignored: 0 on syntax errors, ±MaxInt64 out of range."""
    from ._cast import parse_int_go

    v = parse_int_go(s, 10, 64)
    if v is not None:
        return v
    big = parse_int_go(s, 10, 4096)
    if big is None:
        return 0
    return (1 << 63) - 1 if big > 0 else -(1 << 63)


@gofunc("duration", (IF,), (S,))
def duration(sec: Any) -> str:
    sec = norm(sec)
    n = 0
    if type(sec) is str:
        n = _parse_int_clamped(sec)
    elif is_int64(sec):  # Go: only int64 (Sprig arithmetic results); a template constant is an int → 0s
        n = int(sec)
    return gotime.duration_string(n * gotime.SECOND)


@gofunc("durationRound", (IF,), (S,))
def duration_round(duration: Any) -> str:
    duration = norm(duration)
    d = 0
    if type(duration) is str:
        try:
            d = gotime.parse_duration(duration)
        except TemplateFuncError:
            d = 0
    elif is_int64(duration):
        d = int(duration)
    elif isinstance(duration, datetime):
        d = gotime.since_ns(duration)
    d = ((d + (1 << 63)) % (1 << 64)) - (1 << 63)
    u = abs(d) % (1 << 64)
    hour = 3600 * gotime.SECOND
    year, month, day = hour * 24 * 365, hour * 24 * 30, hour * 24
    for unit, suffix in ((year, "y"), (month, "mo"), (day, "d"), (hour, "h"), (gotime.MINUTE, "m"), (gotime.SECOND, "s")):
        if u > unit:
            return f"{u // unit}{suffix}"
    return "0s"


@gofunc("toDate", (S, S), (T,))
def to_date(fmt: str, s: str) -> datetime:
    try:
        return gotime.go_parse(fmt, s, gotime.local_zone())
    except TemplateFuncError:
        return gotime.ZERO_TIME


@gofunc("mustToDate", (S, S), (T, "error"))
def must_to_date(fmt: str, s: str) -> datetime:
    return gotime.go_parse(fmt, s, gotime.local_zone())


@gofunc("unixEpoch", (T,), (S,))
def unix_epoch(date: datetime) -> str:
    return str(gotime.unix_seconds(date))


_ = JSONNumber
