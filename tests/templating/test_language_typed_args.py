"""Differential tests: Go's argument checks for typed function parameters (using Sprig's signatures).

`evalArg`/`validateType` reject a json.Number or a nil for a `string` parameter, an int64 for an
`int` one, convert untyped constants, and name the node evaluated last in the error.
"""

from __future__ import annotations

import pytest
from utask.core.templating.functions import FUNCS

from .difftools import check
from .go_oracle import GoOracle

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(not {"upper", "repeat", "add", "semver"} <= set(FUNCS), reason="Sprig is not available yet"),
]

CASES = [
    "{{ upper .s }} {{ .s | upper }}",
    "{{ upper .n }}",
    "{{ .n | upper }}",
    "{{ upper 1 }}",
    "{{ upper true }}",
    "{{ upper .missing }}",
    "{{ .missing | upper }}",
    "{{ upper .z }}",
    "{{ upper nil }}",
    "{{ upper .l }}",
    "{{ upper (index .l 0) }}",
    "{{ upper }}",
    "{{ upper \"a\" \"b\" }}",
    "{{ repeat 3 \"ab\" }}",
    "{{ repeat \"3\" \"ab\" }}",
    "{{ repeat 1.5 \"ab\" }}",
    "{{ repeat 1e2 \"\" }}",
    "{{ repeat .i \"ab\" }}",
    "{{ repeat .n \"ab\" }}",
    "{{ repeat nil \"ab\" }}",
    "{{ repeat 'a' \"\" | len }}",
    "{{ repeat (add 1 1) \"ab\" }}",
    "{{ $x := add 1 1 }}{{ index .l $x }} {{ printf \"%T %d\" $x $x }}",
    "{{ index .l (add 1 1) }} {{ eq (add 1 1) 2 }} {{ lt (add 1 1) 3 }}",
    "{{ add 1 2 | printf \"%T\" }} {{ len .l | printf \"%T\" }}",
    "{{ 1 | add 2 | add 3 }}",
    "{{ .n | add 1 }}",
    "{{ default \"x\" .missing }} {{ .missing | default \"d\" }} {{ .z | default \"d\" }}",
    "{{ list 1 \"a\" .n nil .missing | toJson }}",
    "{{ dict \"a\" 1 \"b\" .n | toJson }}",
    "{{ toJson .m }} {{ toJson .missing }} {{ toJson .z }} {{ toJson .html }}",
    "{{ coalesce .missing .z .e \"x\" }} {{ empty .missing }} {{ empty .e }}",
    "{{ ternary \"a\" \"b\" .t }} {{ ternary \"a\" \"b\" .n }}",
    "{{ join \",\" .strs }} {{ split \",\" \"a,b\" }} {{ join .n .strs }}",
    "{{ substr 0 2 \"hello\" }} {{ substr 0 2 .n }} {{ substr \"0\" 2 \"x\" }}",
    "{{ first .l }} {{ rest .l }} {{ append .l 4 }} {{ first .missing }}",
    "{{ wrap 5 \"hello world\" }} {{ wrap \"5\" \"x\" }}",
    "{{ printf \"%s\" (upper .s) | lower }}",
    "{{ trim (printf \"  %s  \" .s) }}",
    # methods of Go values returned by Sprig (*semver.Version)
    "{{ (semver \"1.2.3\").Major }} {{ (semver \"1.2.3-beta\").Prerelease }}",
    "{{ $v := semver \"1.2.3\" }}{{ $v.IncMinor }} {{ $v.Compare (semver \"1.3.0\") }}",
    "{{ (semver \"1.2.3\").LessThan (semver \"2.0.0\") }}",
    "{{ (semver \"1.2.3\").Nope }}",
    "{{ (semver \"1.2.3\").Major 1 }}",
    "{{ (semver \"1.2.3\").Compare }}",
    "{{ printf \"%T %v\" (semver \"1.2.3\") (semver \"1.2.3\") }}",
]


@pytest.mark.parametrize("template", CASES)
def test_matches_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template)
