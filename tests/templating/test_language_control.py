"""Differential tests: if / else if / with / range / break / continue / define / template / block."""

from __future__ import annotations

import pytest

from .difftools import check
from .go_oracle import GoOracle

pytestmark = pytest.mark.oracle

CASES = [
    # if
    "{{ if .t }}yes{{ end }}",
    "{{ if .f }}yes{{ else }}no{{ end }}",
    "{{ if .e }}a{{ else if .t }}b{{ else }}c{{ end }}",
    "{{ if .e }}a{{ else if .f }}b{{ else if .i }}c{{ else }}d{{ end }}",
    "{{ if .missing }}a{{ else }}b{{ end }}",
    "{{ if .z }}a{{ else }}b{{ end }}",
    "{{ if .zero }}a{{ else }}b{{ end }}",
    "{{ if .el }}a{{ else }}b{{ end }}{{ if .em }}a{{ else }}b{{ end }}",
    "{{ if .l }}a{{ end }}{{ if .m }}b{{ end }}{{ if .s }}c{{ end }}",
    "{{ if \"0\" }}string zero is true{{ end }}",
    "{{ if 0.0 }}a{{ else }}b{{ end }}{{ if 0i }}a{{ else }}b{{ end }}",
    "{{ if .n }}json number{{ end }}",
    "{{ if $x := .i }}{{ $x }}{{ end }}",
    "{{ if $x := .missing }}a{{ else }}{{ $x }}{{ end }}",
    "{{ if and .t .i }}both{{ end }}",
    "{{ if not .e }}empty{{ end }}",
    "{{ if eq .s \"hé\" }}match{{ end }}",
    # with
    "{{ with .a }}{{ .c.d }}{{ end }}",
    "{{ with .missing }}x{{ else }}y{{ end }}",
    "{{ with .m }}{{ .k }}{{ $.i }}{{ end }}",
    "{{ with $x := .m }}{{ $x.k }}{{ end }}",
    "{{ with .e }}a{{ else }}{{ . | len }}{{ end }}",
    "{{ with .n }}{{ .x }}{{ end }}",
    "{{ with .l }}{{ .y }}{{ end }}",
    "{{ with 5 }}{{ . }}{{ end }}",
    # range
    "{{ range .l }}{{ . }},{{ end }}",
    "{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}",
    "{{ range $v := .l }}{{ $v }}{{ end }}",
    "{{ range $k, $v := .m }}{{ $k }}:{{ $v }} {{ end }}",
    "{{ range .m }}{{ . }} {{ end }}",
    "{{ range .strs }}{{ . }}{{ end }}",
    "{{ range .el }}x{{ else }}empty list{{ end }}",
    "{{ range .em }}x{{ else }}empty map{{ end }}",
    "{{ range .missing }}x{{ else }}missing{{ end }}",
    "{{ range .z }}x{{ else }}null{{ end }}",
    "{{ range 5 }}{{ . }}{{ end }}",
    "{{ range .s }}{{ . }}{{ end }}",
    "{{ range .n }}{{ . }}{{ end }}",
    "{{ range .t }}{{ . }}{{ end }}",
    "{{ range .l }}{{ .x }}{{ end }}",
    "{{ range .m.b }}[{{ . }}]{{ end }}",
    "{{ range $i, $e := .l }}{{ $i }}{{ end }}{{ $i }}",
    "{{ range $i, $e := .el }}x{{ else }}{{ $e }}{{ end }}",
    "{{ range .a.b }}{{ range $.l }}{{ . }}{{ end }}|{{ end }}",
    "{{ range $i, $a := .l }}{{ range $j, $b := $.l }}{{ $i }}{{ $j }} {{ end }}{{ end }}",
    "{{ range .l }}{{ if eq . 1 }}{{ break }}{{ end }}{{ . }}{{ end }}",
    "{{ range .l }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
    "{{ range .l }}{{ range $.l }}{{ if eq . 1 }}{{ break }}{{ end }}{{ . }}{{ end }};{{ end }}",
    "{{ range .l }}{{ continue }}x{{ end }}done",
    "{{ range .l }}{{ break }}{{ else }}never{{ end }}done",
    "{{ range $x := .l }}{{ $x = 9 }}{{ $x }}{{ end }}",
    "{{ range (fromJson \"[1, 2.5, null]\") }}{{ . }};{{ end }}",
    # define / template / block
    "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .n }}",
    "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" }}",
    "{{ template \"t\" .s }}{{ define \"t\" }}<{{ . }}>{{ end }}",
    "{{ define `t` }}raw{{ end }}{{ template `t` }}",
    "{{ block \"b\" .i }}{{ . }}{{ end }}",
    "{{ block \"b\" . }}{{ .s }}{{ end }}{{ template \"b\" .a.c }}",
    "{{ define \"a\" }}A{{ template \"b\" . }}{{ end }}{{ define \"b\" }}B{{ .k }}{{ end }}{{ template \"a\" .m }}",
    "{{ define \"t\" }}{{ $ }}{{ end }}{{ $x := 1 }}{{ template \"t\" 5 }}",
    "{{ define \"t\" }}{{ .missing.x }}{{ end }}{{ template \"t\" .a }}",
    "{{ define \"t\" }}{{ .x }}{{ end }}{{ template \"t\" .n }}",
    "{{ define \"t\" }}x{{ end }}",
    "  {{ define \"t\" }}x{{ end }}  ",
    "{{ define \"x\" }}{{ end }}{{ define \"x\" }}b{{ end }}{{ template \"x\" }}",
    "{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}",
    "{{ define \"r\" }}{{ if . }}{{ len . }}{{ template \"r\" (slice . 1) }}{{ end }}{{ end }}{{ template \"r\" .l }}",
]


@pytest.mark.parametrize("template", CASES)
def test_matches_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template)
