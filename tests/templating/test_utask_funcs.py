"""µTask's own functions: field, fieldFrom, fromJson, mustFromJson, b64RawEnc/Dec, uuid."""

from __future__ import annotations

import re

import pytest
from utask.core.templating import render_template

from .difftools import check
from .go_oracle import GoOracle

CASES = [
    "{{ field \"a\" \"b\" }} {{ field \"a\" \"x\" \"y\" }} {{ field \"n\" \"x\" }} {{ field }}",
    "{{ field \"a\" \"c\" \"d\" }} {{ field \"z\" }} {{ field \"z\" \"x\" }} {{ field \"m\" \"k\" }}",
    "{{ if field \"missing\" }}a{{ else }}b{{ end }}",
    "{{ field \"a\" | printf \"%v\" }}",
    "{{ field .n }}",
    "{{ field 1 }}",
    "{{ field .missing }}",
    "{{ fieldFrom \"k\" .m }} {{ fieldFrom \"c\" \"d\" .a }} {{ fieldFrom \"x\" .m }}",
    "{{ .m | fieldFrom \"k\" }} {{ .a | fieldFrom \"c\" \"d\" }}",
    "{{ fieldFrom .m }}",
    "{{ fieldFrom }}",
    "{{ fieldFrom \"k\" .l }}",
    "{{ fieldFrom \"k\" .missing }}",
    "{{ fieldFrom \"k\" .z }}",
    "{{ fieldFrom .n .m }}",
    "{{ fieldFrom 1 .m }}",
    "{{ fromJson \"{\\\"a\\\":1,\\\"b\\\":[1.5,2e6,null]}\" }}",
    "{{ (fromJson \"{\\\"a\\\":1}\").a }} {{ (fromJson \"{\\\"a\\\":{\\\"b\\\":\\\"c\\\"}}\").a.b }}",
    "{{ fromJson \"bad\" }} {{ if fromJson \"bad\" }}a{{ else }}b{{ end }}",
    "{{ fromJson \"\" }} {{ fromJson \"null\" }} {{ fromJson \"1e400\" }} {{ fromJson \"[1,]\" }}",
    "{{ fromJson \"123456789012\" }} {{ fromJson \"0.1\" }} {{ fromJson \"true\" }} {{ fromJson \"\\\"s\\\"\" }}",
    "{{ fromJson \"  [1, 2]  \" | len }}",
    "{{ (fromJson \"[1]\") | printf \"%T\" }} {{ (fromJson \"1\") | printf \"%T\" }}",
    "{{ range (fromJson \"{\\\"b\\\":2,\\\"a\\\":1}\") }}{{ . }}{{ end }}",
    "{{ mustFromJson \"[1, {\\\"x\\\": null}]\" }}",
    "{{ mustFromJson \"bad\" }}",
    "{{ mustFromJson \"{\\\"a\\\":}\" }}",
    "{{ mustFromJson \"\" }}",
    "{{ mustFromJson \"   \" }}",
    "{{ mustFromJson \"[1,2\" }}",
    "{{ mustFromJson \"tru\" }}",
    "{{ mustFromJson \"nul\" }}",
    "{{ mustFromJson \"fals\" }}",
    "{{ mustFromJson \"01\" }}",
    "{{ mustFromJson \"-\" }}",
    "{{ mustFromJson \"-a\" }}",
    "{{ mustFromJson \"1.\" }}",
    "{{ mustFromJson \"1.e5\" }}",
    "{{ mustFromJson \"1e\" }}",
    "{{ mustFromJson \"1e+\" }}",
    "{{ mustFromJson \"\\\"\\\\u12\" }}",
    "{{ mustFromJson \"\\\"\\\\u12g4\\\"\" }}",
    "{{ mustFromJson \"\\\"\\\\x\\\"\" }}",
    "{{ mustFromJson \"\\\"abc\" }}",
    "{{ mustFromJson \"{\\\"a\\\" 1}\" }}",
    "{{ mustFromJson \"{\\\"a\\\":1 x\" }}",
    "{{ mustFromJson \"{\\\"a\\\":1,}\" }}",
    "{{ mustFromJson \"[1 2]\" }}",
    "{{ mustFromJson \"{1:2}\" }}",
    "{{ mustFromJson \"\\\"a\\tb\\\"\" }}",
    "{{ mustFromJson \"'x'\" }}",
    "{{ mustFromJson \"1e400\" }}",
    "{{ mustFromJson \"[1] [2]\" }}",
    "{{ mustFromJson \"NaN\" }}",
    "{{ mustFromJson \"{\" }}",
    "{{ mustFromJson \"[\" }}",
    "{{ mustFromJson \"é\" }}",
    "{{ mustFromJson .n }}",
    "{{ b64RawEnc \"hello\" }} {{ b64RawEnc \"\" }} {{ b64RawEnc \"é?>\" }} {{ b64RawEnc \"ab\" }}",
    "{{ b64RawDec \"aGVsbG8\" }} {{ b64RawDec \"\" }} {{ b64RawDec \"YWI\" }}",
    "{{ b64RawDec \"aGVsbG8=\" }}",
    "{{ b64RawDec \"a\" }}",
    "{{ b64RawDec \"a*b\" }}",
    "{{ b64RawDec \"aGVs\\nbG8\" }}",
    "{{ b64RawDec \"aGVsbG8hh\" }}",
    "{{ b64RawDec \"YQ==\" }}",
    "{{ b64RawDec \"-_\" }}",
    "{{ b64RawEnc \"hello\" | b64RawDec }}",
]


@pytest.mark.oracle
@pytest.mark.parametrize("template", CASES)
def test_matches_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template)


def test_uuid_is_a_random_v4() -> None:
    a = render_template("{{ uuid }}", {})
    b = render_template("{{ uuid }}", {})
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", a)
    assert a != b


def test_extra_funcs_override_and_extend() -> None:
    assert render_template("{{ twice 3 }}", {}, funcs={"twice": lambda x: x * 2}) == "6"
    assert render_template("{{ uuid }}", {}, funcs={"uuid": lambda: "fixed"}) == "fixed"
