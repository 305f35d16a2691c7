"""Go fmt printing: differential printf/print cases through templates, plus unit tests of gofmt."""

from __future__ import annotations

import datetime as dt

import pytest
from utask.core.gojson import JSONNumber
from utask.core.templating.gofmt import format_value, go_quote, shortest_float, sprint, sprintf, sprintln
from utask.core.templating.values_model import MISSING

from .difftools import check
from .go_oracle import GoOracle

PRINTF_CASES = [
    '{{ printf "%d %s %5.2f|%-4d|%q %v %x" 3 "a" 3.14159 7 "hi" nil 255 }}',
    '{{ printf "%!" }} {{ printf "%d %d" 1 }} {{ printf "%d" 1 2 "x" }} {{ printf "%s" nil }}',
    '{{ printf "%6.2f|%-6d|%+d|%x|%X|%o|%b|%c|%U|%e|%g|%G" 3.14159 42 5 255 255 8 5 65 65 123456.789 0.000012345 1e21 }}',
    '{{ printf "%t %v %q %x" true nil \'x\' "hi" }}',
    '{{ printf "%5s|%-5s|%.2s|%05d|%x" "ab" "ab" "abcdef" -42 -255 }}',
    '{{ printf "%v" .m }} {{ printf "%d" .l }} {{ printf "%s" .l }} {{ printf "%s" .m }}',
    '{{ printf "%d" .n }} {{ printf "%s" .n }} {{ printf "%v" .n }} {{ printf "%q" .n }} {{ printf "%x" .n }}',
    '{{ printf "%v %s %T" .n .m .l }}',
    '{{ printf "%T %T %T %T %T %T %T" .n .m .l .s .t .missing .z }}',
    '{{ 3.0 | printf "%T" }} {{ 3 | printf "%T" }} {{ \'a\' | printf "%T" }} {{ 1i | printf "%T" }}',
    '{{ printf "%d" 3.0 }} {{ printf "%s" 3 }} {{ printf "%s" true }} {{ printf "%d" true }} {{ printf "%f" 3 }}',
    '{{ printf "%v" (fromJson "[1, 2.5, \\"x\\", null, {\\"a\\": true}]") }}',
    '{{ printf "%.2f" (fromJson "3.14159") }} {{ printf "%5.1f%%" 99.55 }}',
    '{{ fromJson "1e21" }} {{ fromJson "123456789" }} {{ fromJson "-0" }} {{ fromJson "1.5e-7" }} {{ fromJson "0.1" }}',
    '{{ printf "%08.3e" 1234.5 }} {{ printf "%-8.2f|" 1.5 }} {{ printf "%+08d" 42 }} {{ printf "%#x %#o %#b" 255 8 5 }}',
    '{{ printf "%6.3v|" 3.14159 }} {{ printf "%.3v" "abcdef" }}',
    '{{ printf "%q" "a\\"b\\n\\x01é\\u2028" }} {{ printf "%+q" "é" }} {{ printf "%#q" "ab" }} {{ printf "%#q" "a`b" }}',
    '{{ printf "%010s|" "abc" }} {{ printf "%-010d|" 5 }}',
    '{{ printf "%d %s" }}',
    '{{ printf "%z" 1 }}',
    '{{ printf "%!d" 1 }}',
    '{{ printf "%[3]d" 1 }}',
    '{{ printf "%[x]d" 1 }}',
    '{{ printf "%[2]d %[1]d" 1 2 }}',
    '{{ printf "%*d|%-*d" 5 1 4 2 }}',
    '{{ printf "%.*f" 2 3.14159 }}',
    '{{ printf "%.d" 0 }} {{ printf "%.0d" 0 }} {{ printf "%5.3d" 7 }}',
    '{{ printf "%v" .z }} {{ printf "%v %v" (fromJson "null") 5 }}',
    '{{ printf "%v|%5v|%-5v|" .missing true 1.5 }}',
    '{{ printf "%08.3f|%+.2e|% d|%x" -3.14159 12345.678 5 3.5 }}',
    '{{ printf "%#v %#v %#v %#v %#v" .m .l .n .s 1.5 }}',
    '{{ printf "%+v %+d % x" .m 5 "hi" }}',
    '{{ printf "%q" .l }} {{ printf "%x" .strs }} {{ printf "%5d" .l }}',
    '{{ printf "%c%c" 0x1F600 233 }} {{ printf "%x %X" "é" "hi" }} {{ printf "% x" "hi" }} {{ printf "%# x" "hi" }}',
    '{{ printf "%3c|%-4q" 65 "a" }}',
    '{{ printf "%v" 1e21 }} {{ printf "%v" 1e20 }} {{ printf "%f" 1e20 }}',
    '{{ printf "%.0f %.0f %.1f %.2f" 0.5 1.5 0.25 2.675 }}',
    '{{ printf "%g %g %g %g" 1e-5 100000.0 1e6 0.1 }}',
    '{{ printf "%.3g %.10g %.0g %g" 1234.5678 1.0 5.5 -0.0 }}',
    '{{ printf "%e" 0.0 }} {{ 0.0 }} {{ -0.0 }} {{ printf "%E %G" 1e-10 1e-10 }}',
    '{{ printf "%x %x %X" 3.5 1.0 -0.1 }}',
    '{{ printf "%v %.2f %v" 1i 1.5i (fromJson "2") }}',
    '{{ printf "%d %o %x %b" -5 -8 -255 -3 }}',
    '{{ printf "%q %q %+q" 65 0x1F600 0x1F600 }}',
    '{{ printf "%U %#U" 0x1F600 65 }}',
    '{{ printf "%t" 1 }} {{ printf "%t" "x" }}',
    '{{ printf "%s" (fromJson "{\\"a\\": [1, \\"x\\"]}") }}',
    '{{ printf "%6.2v" .s }}',
    '{{ printf "%%d %%" }}',
    '{{ printf "%-5t|%5t" true false }}',
    '{{ printf "% .3e|%+.3g" 1234.5678 0.000012 }}',
    '{{ printf "%.1f %.1f %.1f" 0.05 0.15 0.25 }}',
    '{{ printf "%3.1v|%-8v|" .l .m }}',
    '{{ print 1.5 2.0 1e6 1e-7 100000.0 123456789.0 }}',
    '{{ println 1 2 "a" .missing .z }}',
    '{{ print "a" 1 2 "b" "c" 3 }}',
    '{{ print .l "x" .m }}',
    '{{ print .e .e }}|{{ print .e 1 .e }}|',
    '{{ printf "%s" .html }} {{ printf "%q" .ml }}',
    '{{ printf "%v" .strs }} {{ printf "%q" .strs }}',
    '{{ printf "%v %d" .big .big }}',
    '{{ printf "%s %v" .missing .missing }}',
    '{{ printf "%[1]d %[1]x %[1]o" 64 }}',
    '{{ printf "%[2]*[1]d|" 12 5 }}',
    '{{ printf "%[5]d" 1 2 }}',
    '{{ printf "%.[2]d" 1 2 }}',
    '{{ printf "%*d" "x" 1 }}',
    '{{ printf "%.*d" -1 1 }}',
    '{{ printf "%-+6d|%+-6d|" 3 3 }}',
    '{{ printf "%06.2f|%-06.2f|%+06.1f" 3.14159 3.14159 -2.5 }}',
    '{{ printf "%x" -1.5 }} {{ printf "%.2x" 3.0 }}',
    '{{ printf "%s" "%d" }}',
    '{{ printf "é%dü" 5 }}',
    '{{ printf "%5.1q" "abc" }}',
]


@pytest.mark.oracle
@pytest.mark.parametrize("template", PRINTF_CASES)
def test_printf_matches_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template)


# --- unit tests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (MISSING, "<no value>"),
        (None, "<nil>"),
        (True, "true"),
        (5, "5"),
        (1e6, "1e+06"),
        (0.5, "0.5"),
        (666.0, "666"),
        (123456789.0, "1.23456789e+08"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (JSONNumber("2.50"), "2.50"),
        ({"b": [1, "x"], "a": 1}, "map[a:1 b:[1 x]]"),
        ([None, MISSING, 1.5], "[<nil> <nil> 1.5]"),
        ([], "[]"),
        ({}, "map[]"),
        (1 + 2j, "(1+2i)"),
        (dt.datetime(2021, 4, 26, 19, 7, 58, 123000, tzinfo=dt.UTC), "2021-04-26 19:07:58.123 +0000 UTC"),
        (dt.datetime(2021, 4, 26, 19, 7, 58, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2021-04-26 19:07:58 +0200 +0200"),
    ],
)
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


def test_sprint_spacing_follows_go() -> None:
    assert sprint(1, 2, "a", 3, JSONNumber("5"), JSONNumber("6")) == "1 2a356"
    assert sprint() == ""
    assert sprint(MISSING) == "<nil>"
    assert sprintln(1, "a", None) == "1 a <nil>\n"


def test_sprintf_mismatches_and_extras() -> None:
    assert sprintf("%d", "x") == "%!d(string=x)"
    assert sprintf("%d", JSONNumber("5")) == "%!d(json.Number=5)"
    assert sprintf("%d %d", 1) == "1 %!d(MISSING)"
    assert sprintf("%d", 1, "a", 2.5) == "1%!(EXTRA string=a, float64=2.5)"
    assert sprintf("%v", MISSING) == "<nil>"
    assert sprintf("%s", None) == "%!s(<nil>)"
    assert sprintf("100%") == "100%!(NOVERB)"


def test_shortest_float_forms() -> None:
    assert shortest_float(1.0) == "1"
    assert shortest_float(-2.5e-9) == "-2.5e-09"
    assert shortest_float(float("inf")) == "+Inf"
    assert shortest_float(float("nan")) == "NaN"
    assert shortest_float(100000.0) == "100000"


def test_go_quote() -> None:
    assert go_quote('a"b\n\x01é') == '"a\\"b\\n\\x01é"'
    assert go_quote("é", ascii_only=True) == '"\\u00e9"'


# --- generated formats -------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_verb = st.sampled_from(list("vdsqxXobcUeEfFgGtT%") + ["z"])
_flags = st.text(alphabet="+-# 0", max_size=3)
_width = st.one_of(st.just(""), st.integers(0, 12).map(str), st.just("*"))
_prec = st.one_of(st.just(""), st.integers(0, 8).map(lambda n: "." + str(n)), st.just("."), st.just(".*"))
_spec = st.builds(lambda f, w, p, v: "%" + f + w + p + v, _flags, _width, _prec, _verb)
_fmt_operands = st.sampled_from([
    ".n", ".big", ".neg", ".s", ".z", ".l", ".m", ".t", ".i", ".zero", ".missing", ".strs", ".html", "1", "-42",
    "255", "1.5", "-0.001", "1e21", "123456.789", "'a'", "\"hé\"", "\"\"", "true", "nil", "1i", "0x1F600",
    "(fromJson \"[1.5, null]\")", "(fromJson \"2e-7\")", "(add 1 2)",
])


@pytest.mark.oracle
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(specs=st.lists(_spec, min_size=1, max_size=3), operands=st.lists(_fmt_operands, max_size=4),
       literal=st.sampled_from(["", "x", "é|"]))
def test_generated_printf_matches_go(go_oracle: GoOracle, specs: list[str], operands: list[str], literal: str) -> None:
    fmt = literal + literal.join(specs)
    template = "{{ printf " + '"' + fmt + '" ' + " ".join(operands) + " }}"
    check(go_oracle, template)
