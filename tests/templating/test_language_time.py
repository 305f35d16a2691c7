"""time.Time values (`.task.created`): printing and method calls, as Go templates allow."""

from __future__ import annotations

import datetime as dt

import pytest
from utask.core.templating import TemplateError, render_template

T = dt.datetime(2021, 4, 26, 19, 7, 58, 123456, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .t }}", "2021-04-26 19:07:58.123456 +0000 UTC"),
        ("{{ printf \"%v|%s\" .t .t }}", "2021-04-26 19:07:58.123456 +0000 UTC|2021-04-26 19:07:58.123456 +0000 UTC"),
        ("{{ .t.Format \"2006-01-02T15:04:05Z07:00\" }}", "2021-04-26T19:07:58Z"),
        ("{{ \"Jan 2\" | .t.Format }}", "Apr 26"),
        ("{{ .t.Unix }} {{ .t.UnixMilli }}", "1619464078 1619464078123"),
        ("{{ .t.UTC.Year }} {{ .t.Day }} {{ .t.Month }} {{ .t.Weekday }} {{ .t.YearDay }}", "2021 26 April Monday 116"),
        ("{{ .t.IsZero }}", "false"),
        ("{{ printf \"%T\" .t }}", "time.Time"),
    ],
)
def test_time_values(template: str, expected: str) -> None:
    assert render_template(template, {"t": T}) == expected


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{ .t.Nope }}", "can't evaluate field Nope in type interface {}"),
        ("{{ .t.Format }}", "wrong number of args for Format: want 1 got 0"),
        ("{{ .t.Format 1 }}", "expected string; found 1"),
        ("{{ .t.Year 1 }}", "wrong number of args for Year: want 0 got 1"),
    ],
)
def test_time_method_errors(template: str, error: str) -> None:
    with pytest.raises(TemplateError) as e:
        render_template(template, {"t": T})
    assert str(e.value).endswith(error)
