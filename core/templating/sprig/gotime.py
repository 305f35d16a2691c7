"""Go `time`: layout formatting and parsing, Duration text and parsing, zones (Local, LoadLocation).

Times are aware `datetime`s (microsecond precision: Go's nanoseconds beyond are lost).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

from .errors import TemplateFuncError

LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
SHORT_DAYS = [d[:3] for d in LONG_DAYS]
LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"]
SHORT_MONTHS = [m[:3] for m in LONG_MONTHS]

UTC = UTC


class FixedZone(tzinfo):
    """Go's time.FixedZone(name, offset): a zone with a (possibly empty) name."""

    def __init__(self, name: str, offset: int) -> None:
        self._name = name
        self._offset = timedelta(seconds=offset)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self._offset

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"FixedZone({self._name!r}, {int(self._offset.total_seconds())})"


@lru_cache(maxsize=1)
def local_zone() -> tzinfo:
    """Go's time.Local: $TZ ("" = UTC), else /etc/localtime, else UTC."""
    from zoneinfo import ZoneInfo

    tz = os.environ.get("TZ")
    if tz is not None:
        if tz == "" or tz == "UTC":
            return UTC
        try:
            return ZoneInfo(tz.lstrip(":"))
        except Exception:
            return UTC
    try:
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="Local")
    except Exception:
        return UTC


def load_location(name: str) -> tzinfo | None:
    """time.LoadLocation; None on error."""
    if name == "" or name == "UTC":
        return UTC
    if name == "Local":
        return local_zone()
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except Exception:
        return None


def zone_name(dt: datetime) -> str:
    tz = dt.tzinfo
    if tz is None or tz is UTC:
        return "UTC"
    if isinstance(tz, timezone):
        off = tz.utcoffset(dt)
        name = tz.tzname(dt)
        if off == timedelta(0) and name in ("UTC", "UTC+00:00"):
            return "UTC"
        return "" if name.startswith("UTC") else name
    return dt.tzname() or ""


def zone_offset(dt: datetime) -> int:
    off = dt.utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def _is_digit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def next_std_chunk(layout: str) -> tuple[str, str, str]:
    """Split at the first Go layout element: (prefix, element, suffix); element "" at the end."""
    n = len(layout)
    i = 0
    while i < n:
        c = layout[i]
        if c == "J":
            if layout[i:i + 3] == "Jan":
                if layout[i:i + 7] == "January":
                    return layout[:i], "January", layout[i + 7:]
                if not _starts_lower(layout[i + 3:]):
                    return layout[:i], "Jan", layout[i + 3:]
        elif c == "M":
            if layout[i:i + 3] == "Mon":
                if layout[i:i + 6] == "Monday":
                    return layout[:i], "Monday", layout[i + 6:]
                if not _starts_lower(layout[i + 3:]):
                    return layout[:i], "Mon", layout[i + 3:]
            if layout[i:i + 3] == "MST":
                return layout[:i], "MST", layout[i + 3:]
        elif c == "0":
            if i + 1 < n and "1" <= layout[i + 1] <= "6":
                return layout[:i], layout[i:i + 2], layout[i + 2:]
            if layout[i + 1:i + 3] == "02":
                return layout[:i], "002", layout[i + 3:]
        elif c == "1":
            if layout[i + 1:i + 2] == "5":
                return layout[:i], "15", layout[i + 2:]
            return layout[:i], "1", layout[i + 1:]
        elif c == "2":
            if layout[i:i + 4] == "2006":
                return layout[:i], "2006", layout[i + 4:]
            return layout[:i], "2", layout[i + 1:]
        elif c == "_":
            if layout[i + 1:i + 2] == "2":
                if layout[i + 1:i + 5] == "2006":
                    return layout[:i + 1], "2006", layout[i + 5:]
                return layout[:i], "_2", layout[i + 2:]
            if layout[i + 1:i + 3] == "_2":
                return layout[:i], "__2", layout[i + 3:]
        elif c in "345":
            return layout[:i], c, layout[i + 1:]
        elif c == "P":
            if layout[i + 1:i + 2] == "M":
                return layout[:i], "PM", layout[i + 2:]
        elif c == "p":
            if layout[i + 1:i + 2] == "m":
                return layout[:i], "pm", layout[i + 2:]
        elif c == "-":
            for tok in ("-070000", "-07:00:00", "-0700", "-07:00", "-07"):
                if layout[i:i + len(tok)] == tok:
                    return layout[:i], tok, layout[i + len(tok):]
        elif c == "Z":
            for tok in ("Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"):
                if layout[i:i + len(tok)] == tok:
                    return layout[:i], tok, layout[i + len(tok):]
        elif c in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not _is_digit(layout, j):
                return layout[:i], layout[i:j], layout[j:]
        i += 1
    return layout, "", ""


def _pad(v: int, width: int) -> str:
    if v < 0:
        return "-" + _pad(-v, width)
    return str(v).rjust(width, "0")


def go_format(dt: datetime, layout: str) -> str:
    """time.Time.Format(layout)."""
    out: list[str] = []
    nanos = dt.microsecond * 1000
    while layout:
        prefix, std, suffix = next_std_chunk(layout)
        out.append(prefix)
        if not std:
            break
        layout = suffix
        if std == "06":
            out.append(_pad(dt.year % 100, 2))
        elif std == "2006":
            out.append(_pad(dt.year, 4))
        elif std == "Jan":
            out.append(SHORT_MONTHS[dt.month - 1])
        elif std == "January":
            out.append(LONG_MONTHS[dt.month - 1])
        elif std == "1":
            out.append(str(dt.month))
        elif std == "01":
            out.append(_pad(dt.month, 2))
        elif std == "Mon":
            out.append(SHORT_DAYS[(dt.weekday() + 1) % 7])
        elif std == "Monday":
            out.append(LONG_DAYS[(dt.weekday() + 1) % 7])
        elif std == "2":
            out.append(str(dt.day))
        elif std == "_2":
            out.append(str(dt.day).rjust(2, " "))
        elif std == "02":
            out.append(_pad(dt.day, 2))
        elif std == "__2":
            out.append(str(dt.timetuple().tm_yday).rjust(3, " "))
        elif std == "002":
            out.append(_pad(dt.timetuple().tm_yday, 3))
        elif std == "15":
            out.append(_pad(dt.hour, 2))
        elif std == "3":
            out.append(str(dt.hour % 12 or 12))
        elif std == "03":
            out.append(_pad(dt.hour % 12 or 12, 2))
        elif std == "4":
            out.append(str(dt.minute))
        elif std == "04":
            out.append(_pad(dt.minute, 2))
        elif std == "5":
            out.append(str(dt.second))
        elif std == "05":
            out.append(_pad(dt.second, 2))
        elif std == "PM":
            out.append("PM" if dt.hour >= 12 else "AM")
        elif std == "pm":
            out.append("pm" if dt.hour >= 12 else "am")
        elif std[0] in "-Z" and std not in ("MST",):
            offset = zone_offset(dt)
            if std[0] == "Z" and offset == 0:
                out.append("Z")
                continue
            zone = offset // 60 if offset >= 0 else -((-offset) // 60)
            absoffset = abs(offset)
            sign = "-" if zone < 0 else "+"
            zone = abs(zone)
            s = sign + _pad(zone // 60, 2)
            if std in ("-07:00", "Z07:00", "-07:00:00", "Z07:00:00"):
                s += ":"
            if std not in ("-07", "Z07"):
                s += _pad(zone % 60, 2)
            if std in ("-070000", "Z070000", "-07:00:00", "Z07:00:00"):
                if std in ("-07:00:00", "Z07:00:00"):
                    s += ":"
                s += _pad(absoffset % 60, 2)
            out.append(s)
        elif std == "MST":
            name = zone_name(dt)
            if name:
                out.append(name)
            else:
                offset = zone_offset(dt)
                zone = abs(offset) // 60
                out.append(("-" if offset < 0 else "+") + _pad(zone // 60, 2) + _pad(zone % 60, 2))
        elif std[0] in ".,":
            digits = len(std) - 1
            frac = f"{nanos:09d}"[:digits]
            if std[1] == "9":
                frac = frac.rstrip("0")
                if frac:
                    out.append(std[0] + frac)
            else:
                out.append(std[0] + frac)
    return "".join(out)


def time_string(dt: datetime) -> str:
    """time.Time.String()."""
    return go_format(dt, "2006-01-02 15:04:05.999999999 -0700 MST")


def _time_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch < "\x7f":
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))
    out.append('"')
    return "".join(out)


class GoTimeParseError(TemplateFuncError):
    pass


def _parse_error(layout: str, value: str, layout_elem: str, value_elem: str, message: str = "") -> GoTimeParseError:
    if message:
        return GoTimeParseError("parsing time " + _time_quote(value) + message)
    return GoTimeParseError("parsing time " + _time_quote(value) + " as " + _time_quote(layout) + ": cannot parse "
                            + _time_quote(value_elem) + " as " + _time_quote(layout_elem))


class _Bad(Exception):
    pass


def _getnum(s: str, fixed: bool) -> tuple[int, str]:
    if not _is_digit(s, 0):
        raise _Bad
    if not _is_digit(s, 1):
        if fixed:
            raise _Bad
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _getnum3(s: str, fixed: bool) -> tuple[int, str]:
    n = 0
    i = 0
    while i < 3 and _is_digit(s, i):
        n = n * 10 + int(s[i])
        i += 1
    if i == 0 or (fixed and i != 3):
        raise _Bad
    return n, s[i:]


def _lookup(tab: list[str], val: str) -> tuple[int, str]:
    for i, v in enumerate(tab):
        if len(val) >= len(v) and val[: len(v)].lower() == v.lower():
            return i, val[len(v):]
    raise _Bad


def _cutspace(s: str) -> str:
    return s.lstrip(" ")


def _skip(value: str, prefix: str) -> str:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                raise _Bad
            prefix = _cutspace(prefix)
            value = _cutspace(value)
            continue
        if not value or value[0] != prefix[0]:
            raise _Bad
        prefix = prefix[1:]
        value = value[1:]
    return value


def _leading_int(s: str) -> tuple[int, str] | None:
    i = 0
    x = 0
    while i < len(s) and "0" <= s[i] <= "9":
        x = x * 10 + ord(s[i]) - 48
        if x > 1 << 63:
            return None
        i += 1
    return x, s[i:]


def _atoi(s: str) -> int:
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    r = _leading_int(s)
    if r is None or r[1] != "":
        raise _Bad
    return -r[0] if neg else r[0]


def _parse_signed_offset(value: str) -> int:
    if not value or value[0] not in "+-":
        return 0
    r = _leading_int(value[1:])
    if r is None or r[1] == value[1:] or r[0] > 23:
        return 0
    return len(value) - len(r[1])


def _parse_tz_name(value: str) -> int:
    """time.parseTimeZone: the length of a zone abbreviation at the start of value, 0 if none."""
    if len(value) < 3:
        return 0
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value[:3] == "GMT":
        return 3 + (_parse_signed_offset(value[3:]) if len(value) > 3 else 0)
    if value[0] in "+-":
        return _parse_signed_offset(value)
    n = 0
    while n < 6 and n < len(value) and "A" <= value[n] <= "Z":
        n += 1
    if n == 3:
        return 3
    if n == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if n == 5 and value[4] == "T":
        return 5
    return 0


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]


_DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]


def _parse_nanoseconds(value: str, nbytes: int) -> tuple[int, str]:
    if value[0] not in ".,":
        raise _Bad
    if nbytes > 10:
        value, nbytes = value[:10], 10
    ns = _atoi(value[1:nbytes])
    if ns < 0:
        return 0, "fractional second"
    return ns * 10 ** (10 - nbytes), ""


def go_parse(layout: str, value: str, default_loc: tzinfo | None = None) -> datetime:  # noqa: C901
    """time.ParseInLocation(layout, value, loc) (Go 1.19's parse; loc defaults to UTC).

    Raises GoTimeParseError with Go's message. Deviation: Python datetimes start at year 1, so a
    layout without a year (Go: year 0) yields year 1.
    """
    alayout, avalue = layout, value
    loc = default_loc or UTC
    year, month, day, yday = 0, -1, -1, -1
    hour = minute = sec = nsec = 0
    z: tzinfo | None = None
    zone_offset_v = -1
    zname = ""
    pm_set = am_set = False
    while True:
        prefix, std, suffix = next_std_chunk(layout)
        stdstr = layout[len(prefix): len(layout) - len(suffix)]
        try:
            value = _skip(value, prefix)
        except _Bad:
            raise _parse_error(alayout, avalue, prefix, value) from None
        if not std:
            if value:
                raise _parse_error(alayout, avalue, "", value, ": extra text: " + _time_quote(value))
            break
        layout = suffix
        range_err = ""
        try:
            if std == "06":
                if len(value) < 2:
                    raise _Bad
                hold = value
                p, value = value[:2], value[2:]
                try:
                    year = _atoi(p)
                except _Bad:
                    value = hold
                    raise
                year += 1900 if year >= 69 else 2000
            elif std == "2006":
                if len(value) < 4 or not _is_digit(value, 0):
                    raise _Bad
                p, value = value[:4], value[4:]
                year = _atoi(p)
            elif std == "Jan":
                month, value = _lookup(SHORT_MONTHS, value)
                month += 1
            elif std == "January":
                month, value = _lookup(LONG_MONTHS, value)
                month += 1
            elif std in ("1", "01"):
                month, value = _getnum(value, std == "01")
                if month <= 0 or month > 12:
                    range_err = "month"
            elif std == "Mon":
                _, value = _lookup(SHORT_DAYS, value)
            elif std == "Monday":
                _, value = _lookup(LONG_DAYS, value)
            elif std in ("2", "_2", "02"):
                if std == "_2" and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, std == "02")
            elif std in ("__2", "002"):
                for _ in range(2):
                    if std == "__2" and value[:1] == " ":
                        value = value[1:]
                yday, value = _getnum3(value, std == "002")
            elif std == "15":
                hour, value = _getnum(value, False)
                if hour >= 24:
                    range_err = "hour"
            elif std in ("3", "03"):
                hour, value = _getnum(value, std == "03")
                if hour > 12:
                    range_err = "hour"
            elif std in ("4", "04"):
                minute, value = _getnum(value, std == "04")
                if minute >= 60:
                    range_err = "minute"
            elif std in ("5", "05"):
                sec, value = _getnum(value, std == "05")
                if sec >= 60:
                    range_err = "second"
                elif len(value) >= 2 and value[0] in ".," and _is_digit(value, 1):
                    _, nstd, _ = next_std_chunk(layout)
                    if not (nstd and nstd[0] in ".," and len(nstd) > 1 and nstd[1] in "09"):
                        n = 2
                        while n < len(value) and _is_digit(value, n):
                            n += 1
                        nsec, range_err = _parse_nanoseconds(value, n)
                        value = value[n:]
            elif std in ("PM", "pm"):
                if len(value) < 2:
                    raise _Bad
                p, value = value[:2], value[2:]
                if p == std:
                    pm_set = True
                elif p == ("AM" if std == "PM" else "am"):
                    am_set = True
                else:
                    raise _Bad
            elif std[0] in "-Z":
                if std in ("Z0700", "Z07", "Z07:00") and value[:1] == "Z":
                    value = value[1:]
                    z = UTC
                else:
                    if std in ("-07:00", "Z07:00"):
                        if len(value) < 6 or value[3] != ":":
                            raise _Bad
                        sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], "00", value[6:]
                    elif std in ("-07", "Z07"):
                        if len(value) < 3:
                            raise _Bad
                        sign, hh, mm, ss, value = value[0], value[1:3], "00", "00", value[3:]
                    elif std in ("-07:00:00", "Z07:00:00"):
                        if len(value) < 9 or value[3] != ":" or value[6] != ":":
                            raise _Bad
                        sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], value[7:9], value[9:]
                    elif std in ("-070000", "Z070000"):
                        if len(value) < 7:
                            raise _Bad
                        sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], value[5:7], value[7:]
                    else:
                        if len(value) < 5:
                            raise _Bad
                        sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], "00", value[5:]
                    zone_offset_v = (_atoi(hh) * 60 + _atoi(mm)) * 60 + _atoi(ss)
                    if sign == "-":
                        zone_offset_v = -zone_offset_v
                    elif sign != "+":
                        raise _Bad
            elif std == "MST":
                if value[:3] == "UTC":
                    z = UTC
                    value = value[3:]
                else:
                    n = _parse_tz_name(value)
                    if n == 0:
                        raise _Bad
                    zname, value = value[:n], value[n:]
            elif std[0] in ".,":
                if std[1] == "0":
                    ndigit = len(std)
                    if len(value) < ndigit:
                        raise _Bad
                    frac_value = value
                    value = value[ndigit:]
                    nsec, range_err = _parse_nanoseconds(frac_value, ndigit)
                elif len(value) >= 2 and value[0] in ".," and _is_digit(value, 1):
                    i = 0
                    while i < 9 and i + 1 < len(value) and _is_digit(value, i + 1):
                        i += 1
                    nsec, range_err = _parse_nanoseconds(value, 1 + i)
                    value = value[1 + i:]
        except _Bad:
            # Go reports the value as left by the element's parsing (some elements consume before failing)
            raise _parse_error(alayout, avalue, stdstr, value) from None
        if range_err:
            raise _parse_error(alayout, avalue, stdstr, value, ": " + range_err + " out of range")
    if pm_set and hour < 12:
        hour += 12
    elif am_set and hour == 12:
        hour = 0
    if yday >= 0:
        m = d = 0
        if _is_leap(year):
            if yday == 31 + 29:
                m, d = 2, 29
            elif yday > 31 + 29:
                yday -= 1
        if yday < 1 or yday > 365:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year out of range")
        if m == 0:
            m = (yday - 1) // 31 + 1
            if _DAYS_BEFORE[m] < yday:
                m += 1
            d = yday - _DAYS_BEFORE[m - 1]
        if month >= 0 and month != m:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match month")
        month = m
        if day >= 0 and day != d:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match day")
        day = d
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1
    if day < 1 or day > _days_in(month, year):
        raise _parse_error(alayout, avalue, "", value, ": day out of range")
    # deviation: Python datetimes hold years 1..9999 (Go: any); out of range years are clamped
    y = min(max(year, 1), 9999)
    if y != year and month == 2 and day == 29 and not _is_leap(y):
        day = 28
    base = datetime(y, month, day, hour, minute, sec, nsec // 1000)
    if z is not None:
        return base.replace(tzinfo=z)
    if zone_offset_v != -1:
        try:
            utc = base.replace(tzinfo=UTC) - timedelta(seconds=zone_offset_v)
            local = utc.astimezone(loc)
        except (OverflowError, ValueError):  # at the edge of Python's year range
            return base.replace(tzinfo=FixedZone(zname, zone_offset_v))
        if zone_offset(local) == zone_offset_v and (not zname or zone_name(local) == zname):
            return local
        return base.replace(tzinfo=FixedZone(zname, zone_offset_v))
    if zname:
        cand = base.replace(tzinfo=loc)
        if zone_name(cand) == zname:
            return cand
        offset = 0
        if len(zname) > 3 and zname[:3] == "GMT":
            try:
                offset = _atoi(zname[3:]) * 3600
            except _Bad:
                offset = 0
        # Go keeps the instant of the wall clock read as UTC and only attaches the made-up zone
        try:
            return base.replace(tzinfo=UTC).astimezone(FixedZone(zname, offset))
        except (OverflowError, ValueError):
            return base.replace(tzinfo=FixedZone(zname, offset))
    return base.replace(tzinfo=loc)


ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)

# -- durations ---------------------------------------------------------------------------------------------

NS = 1
US = 1000
MS = 1000 * US
SECOND = 1000 * MS
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


def _frac(v: int, prec: int) -> tuple[str, int]:
    digits = ""
    printed = False
    for _ in range(prec):
        d = v % 10
        printed = printed or d != 0
        if printed:
            digits = str(d) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def duration_string(d: int) -> str:
    """time.Duration(d).String(), d in nanoseconds (int64)."""
    d = ((d + (1 << 63)) % (1 << 64)) - (1 << 63)
    neg = d < 0
    u = -d if neg else d
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < US:
            s = str(u) + "ns"
        elif u < MS:
            f, u2 = _frac(u, 3)
            s = str(u2) + f + "µs"
        else:
            f, u2 = _frac(u, 6)
            s = str(u2) + f + "ms"
    else:
        f, u = _frac(u, 9)
        s = str(u % 60) + f + "s"
        u //= 60
        if u > 0:
            s = str(u % 60) + "m" + s
            u //= 60
            if u > 0:
                s = str(u) + "h" + s
    return ("-" + s) if neg else s


_UNITS = {"ns": NS, "us": US, "µs": US, "μs": US, "ms": MS, "s": SECOND, "m": MINUTE, "h": HOUR}


def _dquote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_duration(s: str) -> int:
    """time.ParseDuration; raises TemplateFuncError with Go's message."""
    orig = s
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise TemplateFuncError("time: invalid duration " + _dquote(orig))
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise TemplateFuncError("time: invalid duration " + _dquote(orig))
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        pre = i > 0
        v = int(s[:i]) if i else 0
        s = s[i:]
        f, scale = 0, 1
        post = False
        if s and s[0] == ".":
            s = s[1:]
            j = 0
            while j < len(s) and "0" <= s[j] <= "9":
                j += 1
            post = j > 0
            if j:
                f, scale = int(s[:j]), 10 ** j
            s = s[j:]
        if not pre and not post:
            raise TemplateFuncError("time: invalid duration " + _dquote(orig))
        k = 0
        while k < len(s) and s[k] != "." and not ("0" <= s[k] <= "9"):
            k += 1
        if k == 0:
            raise TemplateFuncError("time: missing unit in duration " + _dquote(orig))
        u = s[:k]
        s = s[k:]
        if u not in _UNITS:
            raise TemplateFuncError("time: unknown unit " + _dquote(u) + " in duration " + _dquote(orig))
        unit = _UNITS[u]
        total += v * unit + (f * unit) // scale
        if total > (1 << 63) - 1:
            raise TemplateFuncError("time: invalid duration " + _dquote(orig))
    return -total if neg else total


def add_duration(dt: datetime, ns: int) -> datetime:
    return dt + timedelta(microseconds=ns // 1000 if ns >= 0 else -((-ns) // 1000))


def since_ns(dt: datetime, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    delta = now - dt
    return (delta.days * 86400 + delta.seconds) * SECOND + delta.microseconds * 1000


def unix_seconds(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86400 + delta.seconds


def from_unix(sec: int, loc: tzinfo | None = None) -> datetime:
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=sec)
    return dt.astimezone(loc or local_zone())


def as_time(v: Any) -> datetime | None:
    return v if isinstance(v, datetime) else None
