"""Differential tests: the builtin functions and their error texts."""

from __future__ import annotations

import pytest

from .difftools import check
from .go_oracle import GoOracle

pytestmark = pytest.mark.oracle

CASES = [
    # and / or / not (short-circuit, values returned as-is)
    "{{ and 1 0 2 }} {{ and 1 2 3 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }}",
    "{{ and .t .n }} {{ or .e .missing }} {{ and .e .x.y.z }}",
    "{{ or .e .z }}",
    "{{ and .missing (index .missing 1) }}",
    "{{ or 1 (index .missing 1) }}",
    "{{ and 1 (index .missing 1) }}",
    "{{ .t | and 1 }} {{ .e | or 0 }} {{ 0 | and 1 }}",
    "{{ and }}",
    "{{ or }}",
    "{{ not .missing }} {{ not 1 }} {{ not .e }} {{ not .l }} {{ not .z }}",
    "{{ not }}",
    "{{ not 1 2 }}",
    # len
    "{{ len .s }} {{ len .l }} {{ len .m }} {{ len .n }} {{ len .big }} {{ len .e }} {{ len .el }}",
    "{{ len \"é\" }} {{ \"日本\" | len }}",
    "{{ len .missing }}",
    "{{ len .z }}",
    "{{ len 5 }}",
    "{{ len .t }}",
    "{{ len .i }}",
    "{{ .missing | len }}",
    "{{ len (fromJson \"[1,2]\") }}",
    # index
    "{{ index .a.b 2 }} {{ index .a \"b\" 1 }} {{ index .m \"k\" }} {{ index . \"n\" }}",
    "{{ index .m \"zz\" }}",
    "{{ index .m \"zz\" \"x\" }}",
    "{{ index .m 1 }}",
    "{{ index .m .n }}",
    "{{ index .m nil }}",
    "{{ index .missing 1 }}",
    "{{ index .z 1 }}",
    "{{ index .l 5 }}",
    "{{ index .l 3 }}",
    "{{ index .l -1 }}",
    "{{ index .l \"1\" }}",
    "{{ index .l .n }}",
    "{{ index .l nil }}",
    "{{ index .l 1.0 }}",
    "{{ index .s 1 }} {{ index .s 0 }}",
    "{{ index .t 1 }}",
    "{{ index .l }}",
    "{{ index .a.b | printf \"%v\" }}",
    "{{ index .a \"b\" \"x\" }}",
    "{{ .a.b | index 1 }}",
    "{{ index .m.b 1 }}",
    # slice (Sprig's overrides the builtin; both engines must agree)
    "{{ slice .l 1 }}",
    # print family
    "{{ print }}|{{ print nil }}|{{ print .missing }}|{{ print .z }}",
    "{{ print \"a\" \"b\" }} {{ print 1 \"a\" 2 }} {{ print 1 2 }} {{ print .missing .missing }} {{ print .n .n }}",
    "{{ print .l .m 1.5 true }}",
    "{{ println }}|{{ println 1 \"a\" .missing }}|",
    "{{ printf \"%d-%s\" 1 \"x\" }}",
    # html / js / urlquery
    "{{ html \"<a href='x'>&\\\"\" }}",
    "{{ html .html }} {{ html 1 \"a\" 2 }} {{ html .n }} {{ html .missing }} {{ html }}",
    "{{ html \"a\\u0000b\" }}",
    "{{ js \"<a href='x'>&\\\"=\\n é\" }} {{ js 5 }} {{ js .html }}",
    "{{ js \"\\u2028 \\x7f \\u00a0 \\t \\\\ \\r\" }}",
    "{{ urlquery \"a b&c=d/é~-_.!*'()\" }} {{ urlquery .missing }} {{ urlquery 1 2 }}",
    "{{ .html | html }} {{ .s | urlquery }}",
    # comparisons
    "{{ eq .n .n }} {{ eq .i 7 }} {{ eq \"a\" \"b\" \"a\" }} {{ eq \"a\" \"b\" \"c\" }}",
    "{{ eq .n \"1.50\" }} {{ eq .s \"hé\" }} {{ eq .t true }} {{ eq 1.5 1.5 }}",
    "{{ ne 1 2 }} {{ ne \"a\" \"a\" }} {{ le 1 1 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }} {{ lt -1 1 }}",
    "{{ lt \"a\" \"b\" }} {{ lt 1.5 1.2 }} {{ le \"b\" \"b\" }} {{ ge 2 3 }} {{ gt 2 1 }} {{ le 2 1 }}",
    "{{ eq 1 \"a\" }}",
    "{{ eq 1 1.0 }}",
    "{{ eq .n 1.5 }}",
    "{{ eq .i 7 \"7\" }}",
    "{{ eq 1 2 \"7\" }}",
    "{{ eq .m .m }}",
    "{{ eq .l .l }}",
    "{{ eq .m .l }}",
    "{{ eq .missing .missing }} {{ eq .missing 1 }} {{ eq 1 .missing }}",
    "{{ eq .z nil }}",
    "{{ eq .z .missing }} {{ eq .missing .z }}",
    "{{ eq .l .missing }}",
    "{{ eq .missing .l }}",
    "{{ eq .z .l }}",
    "{{ eq (fromJson \"1\") 1.0 }}",
    "{{ eq }}",
    "{{ eq 1 }}",
    "{{ ne 1 }}",
    "{{ lt 1 }}",
    "{{ lt 1 2.0 }}",
    "{{ lt .missing 1 }}",
    "{{ lt 1 .missing }}",
    "{{ lt true false }}",
    "{{ lt .l .l }}",
    "{{ lt 1i 2i }}",
    "{{ eq true true }} {{ eq 1i 1i }} {{ eq 1i 2i }}",
    "{{ ge .n .n }}",
    "{{ gt .i 5 }} {{ le .i 7 }}",
    "{{ le .missing .missing }}",
    "{{ gt \"a\" 1 }}",
    # call
    "{{ call .n }}",
    "{{ call .missing }}",
    "{{ call .z }}",
    "{{ call }}",
]


@pytest.mark.parametrize("template", CASES)
def test_matches_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template)
