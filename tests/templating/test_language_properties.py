"""Property-based differential tests: generated templates and data against the Go engine."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .difftools import DATA_JSON, check
from .go_oracle import GoOracle

pytestmark = pytest.mark.oracle

SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)

# --- data --------------------------------------------------------------------------------------

_keys = st.sampled_from(["a", "b", "k", "x", "n", "é", "A", "a b"])
_numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr).filter(lambda s: "e" not in s or "." in s),
    st.sampled_from(["1.50", "-0", "0.0", "1e6", "1E-7", "2.5e+3", "100"]),
)
_scalars = st.one_of(
    st.none().map(lambda _: "null"),
    st.booleans().map(lambda b: "true" if b else "false"),
    _numbers,
    st.text(max_size=8).map(json.dumps),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(_keys, inner, max_size=4).map(
            lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=12,
)

PRINTERS = [
    "{{ . }}",
    "{{ .a }}|{{ .b }}|{{ .a.k }}|{{ .missing }}",
    "{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ else }}none{{ end }}",
    "{{ printf \"%v|%d|%s|%q|%T|%5.2f\" .a .a .a .a .a .a }}",
    "{{ print .a .b .n }}|{{ println .a .b }}",
    "{{ if .a }}T{{ else }}F{{ end }}{{ with .b }}[{{ . }}]{{ end }}",
    "{{ len .a }}",
    "{{ index .a 0 }}",
    "{{ eq .a .b }} {{ lt .a .b }}",
    "{{ and .a .b }} {{ or .a .b }} {{ not .a }}",
    "{{ html .a }} {{ js .a }} {{ urlquery .a }}",
    "{{ range .a }}<{{ . }}>{{ end }}",
    "{{ field \"a\" \"k\" }} {{ fieldFrom \"k\" .a }}",
    "{{ .a.k.x }}",
]


@SETTINGS
@given(data=st.dictionaries(_keys, _json, max_size=4).map(
    lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
), printer=st.sampled_from(PRINTERS))
def test_generated_data(go_oracle: GoOracle, data: str, printer: str) -> None:
    check(go_oracle, printer, data)


# --- templates ---------------------------------------------------------------------------------

_operands = st.sampled_from([
    ".a", ".a.b", ".n", ".big", ".neg", ".s", ".z", ".l", ".m", ".m.k", ".t", ".f", ".e", ".i", ".zero",
    ".el", ".em", ".missing", ".missing.x", ".z.x", ".n.x", "$", "$.l", ".", "1", "-2", "0", "1.5", "1e3",
    "0x10", "'a'", "\"s\"", "\"\"", "`r`", "true", "false", "nil", ".strs", ".html", "1i",
])
_funcs = st.sampled_from([
    "and", "or", "not", "len", "index", "print", "println", "printf \"%v\"", "printf \"%d\"", "printf \"%s-%q\"",
    "html", "js", "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "fromJson", "b64RawEnc", "field", "fieldFrom",
    "call", "printf \"%T\"", "printf \"%5.1f|%x\"", "mustFromJson", "b64RawDec",
])


@st.composite
def _command(draw: st.DrawFn, depth: int = 0) -> str:
    if depth < 2 and draw(st.booleans()):
        fn = draw(_funcs)
        n = draw(st.integers(0, 3))
        args = [draw(_arg(depth + 1)) for _ in range(n)]
        return " ".join([fn, *args])
    return draw(_operands)


@st.composite
def _arg(draw: st.DrawFn, depth: int) -> str:
    if depth < 2 and draw(st.integers(0, 4)) == 0:
        return "(" + draw(_pipeline(depth + 1)) + ")"
    return draw(_operands)


@st.composite
def _pipeline(draw: st.DrawFn, depth: int = 0) -> str:
    first = draw(_command(depth))
    rest = draw(st.lists(st.builds(lambda f, a: f + (" " + a if a else ""), _funcs,
                                   st.sampled_from(["", ".s", "1", ".l"])), max_size=2))
    return " | ".join([first, *rest])


@st.composite
def _template(draw: st.DrawFn) -> str:
    pipe = draw(_pipeline())
    shape = draw(st.integers(0, 6))
    if shape == 0:
        return "{{ " + pipe + " }}"
    if shape == 1:
        return "{{ if " + pipe + " }}Y{{ else }}N{{ end }}"
    if shape == 2:
        return "{{ range $i, $v := " + pipe + " }}{{ $i }}:{{ $v }},{{ else }}E{{ end }}"
    if shape == 3:
        return "{{ with " + pipe + " }}<{{ . }}>{{ else }}-{{ end }}"
    if shape == 4:
        return "{{ $x := " + pipe + " }}[{{ $x }}]"
    if shape == 5:
        return "a {{- " + pipe + " -}} b"
    return "{{ define \"t\" }}({{ . }}){{ end }}{{ template \"t\" " + pipe + " }}"


@SETTINGS
@given(template=_template())
def test_generated_templates(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template, DATA_JSON)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(text=st.text(alphabet=st.sampled_from(list("{}-/* .$|()\"`'a1=:,\n\tx")), max_size=24))
def test_generated_garbage_parses_like_go(go_oracle: GoOracle, text: str) -> None:
    check(go_oracle, text, DATA_JSON)


# --- nested control structures over generated data ---------------------------------------------

_body_atoms = st.sampled_from([
    "{{ . }}", "{{ $ }}", "{{ .k }}", "{{ $.a }}", "x", " ", "{{ len . }}", "{{ index . 0 }}", "{{- . -}}",
    "{{ break }}", "{{ continue }}", "{{ $v }}", "{{ $i }}", "{{/* c */}}", "{{ printf \"%v\" . }}",
])


@st.composite
def _block(draw: st.DrawFn, depth: int = 0, in_range: bool = False) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 4 if depth < 2 else 0))
        if kind == 0:
            atom = draw(_body_atoms)
            if atom in ("{{ break }}", "{{ continue }}") and not in_range:
                atom = "."
            if atom in ("{{ $v }}", "{{ $i }}") and not in_range:
                atom = "{{ $ }}"
            parts.append(atom)
        elif kind == 1:
            parts.append("{{ range $i, $v := " + draw(_operands) + " }}" + draw(_block(depth + 1, True))
                         + "{{ else }}E{{ end }}")
        elif kind == 2:
            parts.append("{{ if " + draw(_operands) + " }}" + draw(_block(depth + 1, in_range)) + "{{ else }}"
                         + draw(_block(depth + 1, in_range)) + "{{ end }}")
        elif kind == 3:
            parts.append("{{ with " + draw(_operands) + " }}" + draw(_block(depth + 1, in_range)) + "{{ end }}")
        else:
            parts.append("{{ $x := " + draw(_operands) + " }}{{ $x }}")
    return "".join(parts)


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(["a", "k", "l"]), _json, max_size=3).map(
    lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
), template=_block())
def test_generated_control_flow(go_oracle: GoOracle, data: str, template: str) -> None:
    check(go_oracle, template, data)


# --- token soup: every keyword, delimiter and literal form, in any order ------------------------

_TOKENS = [
    "{{", "}}", "{{-", "-}}", " ", "\n", "if", "else", "end", "range", "with", "define", "template", "block",
    "break", "continue", "nil", "true", ".", ".a", ".l", ".m.k", "$", "$x", "$i", ":=", "=", ",", "|", "(", ")",
    "\"s\"", "`r`", "'c'", "1", "-1", "1.5", "0x1", "1e3", "1i", "len", "index", "printf", "\"%v\"", "eq", "and",
    "or", "not", "print", "/*", "*/", "x", "é", "\t", "-", "+", ".5", "0", "'", "\"", "`", "{", "}", "#", "@",
    "$.a", "..", "$x.y", "\"t\"", "\\", "call", "html",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(tokens=st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=14))
def test_token_soup_matches_go(go_oracle: GoOracle, tokens: list[str]) -> None:
    check(go_oracle, "".join(tokens), DATA_JSON)
