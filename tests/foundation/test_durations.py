from datetime import timedelta

import pytest
from utask.core.config.durations import (
    DurationError,
    format_go_duration,
    parse_go_duration,
    parse_go_duration_ns,
)


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("+0", 0), ("-0", 0), ("1s", 10**9), ("1.5s", 1_500_000_000), ("-1.5s", -1_500_000_000),
    ("300ms", 300_000_000), ("1h30m", 5400 * 10**9), ("720h", 720 * 3600 * 10**9), ("1m", 60 * 10**9),
    ("10us", 10_000), ("10\u00b5s", 10_000), ("10\u03bcs", 10_000), ("7ns", 7), (".5s", 500_000_000),
    ("1.s", 10**9), ("2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * 10**9 + 500_000_000), ("1.0000000009s", 10**9),
])
def test_go_durations(text: str, ns: int) -> None:
    assert parse_go_duration_ns(text) == ns


@pytest.mark.parametrize(("text", "error"), [
    ("", 'time: invalid duration ""'),
    ("x", 'time: invalid duration "x"'),
    ("1", 'time: missing unit in duration "1"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("1 s", 'time: unknown unit " s" in duration "1 s"'),
    (".s", 'time: invalid duration ".s"'),
    ("-", 'time: invalid duration "-"'),
    ("3000000h", 'time: invalid duration "3000000h"'),
])
def test_go_duration_errors(text: str, error: str) -> None:
    with pytest.raises(DurationError) as e:
        parse_go_duration_ns(text)
    assert str(e.value) == error


def test_timedelta_and_format() -> None:
    assert parse_go_duration("1m") == timedelta(minutes=1)
    assert parse_go_duration("-2h") == -timedelta(hours=2)
    assert format_go_duration(timedelta(hours=720)) == "720h0m0s"
    assert format_go_duration(timedelta(seconds=1.5)) == "1.5s"
    assert format_go_duration(timedelta(milliseconds=300)) == "300ms"
    assert format_go_duration(timedelta(0)) == "0s"
    assert format_go_duration(timedelta(minutes=1, seconds=2)) == "1m2s"
