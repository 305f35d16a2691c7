"""Differential tests: actions, literals, fields, variables, pipelines, trimming, comments."""

from __future__ import annotations

import pytest

from .difftools import check
from .go_oracle import GoOracle

pytestmark = pytest.mark.oracle

CASES = [
    # plain text and fields
    "",
    "plain text",
    "{{.a.b}}",
    "{{ .n }} {{ .big }} {{ .neg }}",
    "{{ .missing }}",
    "{{ .missing.x.y }}",
    "{{ .z }}",
    "{{ .a.c.d }}",
    "{{ .a.c }}",
    "{{ .m }}",
    "{{ .el }}{{ .em }}",
    "{{ . }}",
    "{{ .t }} {{ .f }} {{ .zero }}",
    "{{ .s }}",
    "{{ .html }}",
    "{{ .ml }}",
    "{{ $ }}",
    "{{ $.n }}",
    "{{ $.a.c.d }}",
    "a{{.i}}b{{.i}}c",
    "é{{.s}}ü{{ .missing }}",
    # literals
    "{{ 1 }} {{ -1 }} {{ +5 }} {{ 0 }} {{ -0 }}",
    "{{ 0x1F }} {{ 0X1f }} {{ 0b101 }} {{ 0B11 }} {{ 0o17 }} {{ 017 }} {{ 1_000_000 }} {{ 0x_1F }}",
    "{{ 1.5 }} {{ .5 }} {{ 1. }} {{ 1e3 }} {{ 1E3 }} {{ 1.5e-3 }} {{ 1e+3 }} {{ 1.0 }}",
    "{{ 0x1p-2 }} {{ 0x1.8p1 }} {{ 0X1P+2 }}",
    "{{ 100000000.0 }} {{ 0.000001 }} {{ 123456.0 }} {{ 1234567.0 }} {{ 0.0001 }} {{ 0.00001 }}",
    "{{ 1e21 }} {{ 1e20 }} {{ 12345678901234567890.0 }}",
    "{{ 9223372036854775807 }}",
    "{{ -9223372036854775808 }}",
    "{{ 9223372036854775808 }}",
    "{{ 18446744073709551615 }}",
    "{{ 99999999999999999999 }}",
    "{{ 1e400 }}",
    "{{ 1i }} {{ 2.5i }} {{ 1+2i }} {{ 1-2i }} {{ 0i }}",
    "{{ 'a' }} {{ '\\n' }} {{ '\\x41' }} {{ '\\u00e9' }} {{ '\\'' }} {{ 'é' }} {{ '\\U0001F600' }} {{ '\\101' }}",
    "{{ \"a\\x41\\u00e9\\101\\t\\\"q\\\"\" }}",
    "{{ `raw\\n{{x}}` }}",
    "{{ `multi\nline` }}",
    "{{ \"\" }}{{ `` }}",
    "{{ true }} {{ false }}",
    "{{ 1_0 }}",
    # pipelines and parentheses
    "{{ 1 | printf \"%d %d\" 2 }}",
    "{{ 3 | printf \"%d\" | printf \"%s!\" }}",
    "{{ .s | printf \"%s %s\" }}",
    "{{ \"a\" | printf \"%s-%s\" \"b\" }}",
    "{{ (1) }} {{ (.n) }} {{ ((.s)) }}",
    "{{ (.m).k }} {{ (.a.c).d }}",
    "{{ (index .a \"c\").d }}",
    "{{ (printf \"%s\" \"x\") | printf \"%s%s\" \"y\" }}",
    "{{ printf \"%d\" (len .l) }}",
    "{{ .n | len }}",
    "{{ . | len | printf \"%d\" }}",
    # variables
    "{{ $x := 1 }}{{ $x }}",
    "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}",
    "{{ $x := .a }}{{ $x.c.d }}",
    "{{ $x := .n }}{{ $x.y }}",
    "{{ $x := .z }}{{ $x.y }}",
    "{{ $x := .missing }}{{ $x.y }}",
    "{{ $x := 1 | printf \"%d\" }}{{ $x }}",
    "{{ $x := 5 }}{{ if true }}{{ $x := 6 }}{{ $x }}{{ end }}{{ $x }}",
    "{{ $x := 5 }}{{ if true }}{{ $x = 6 }}{{ end }}{{ $x }}",
    "{{ $x := 5 }}{{ with .a }}{{ $x }}{{ $.i }}{{ end }}",
    "{{ $x := .l }}{{ range $x }}{{ . }}{{ end }}",
    "{{ $a := 1 }}{{ $b := 2 }}{{ $a }}{{ $b }}{{ $a = $b }}{{ $a }}",
    "{{ $x := (index .l 0) }}{{ $x }}",
    "{{ $x := .t }}{{ if $x }}yes{{ end }}",
    # trimming and comments
    "  {{- .n -}}  ",
    "a  \n {{- .i }}",
    "{{ .i -}} \n  b",
    "{{- .i -}}",
    "{{ \"a\" }}{{- /* x */ -}} {{ \"b\" }}",
    "a {{/* comment */}} b",
    "a {{- /* comment */}} b",
    "a {{/* comment */ -}} b",
    "{{/* multi\nline\ncomment */}}x",
    "x\n\n{{- 1 }}",
    "{{ 1 -}}\n\n\t x",
    "{{-1}}",
    "{{- -1 -}}",
    "{{ 3 -}}{{- 4 }}",
    "a{{- \"\" -}}b",
]


@pytest.mark.parametrize("template", CASES)
def test_matches_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template)
