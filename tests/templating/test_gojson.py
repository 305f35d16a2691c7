"""utask.core.gojson.dumps against Go's encoding/json (unit cases and the Go oracle's toJson)."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from utask.core.gojson import GoJSONError, JSONNumber, dumps, format_float, loads

from .go_oracle import GoOracle


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (0.5, "0.5"), (-0.0, "-0"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
    (1e-6, "0.000001"), (1e-7, "1e-7"), (1.5e-10, "1.5e-10"), (123456789.123, "123456789.123"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (5e-324, "5e-324"), (0.1 + 0.2, "0.30000000000000004"),
    (-2.5e21, "-2.5e+21"), (100.0, "100"),
])
def test_float_formatting(value: float, text: str) -> None:
    assert format_float(value) == text
    assert dumps(value) == text
    assert dumps([value]) == f"[{text}]"


def test_strings_are_escaped_like_go() -> None:
    assert dumps("<a href='x'>&</a>") == '"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"'
    assert dumps("<&>", escape_html=False) == '"<&>"'
    assert dumps("\b\f\n\r\t\x01\x7f") == '"\\u0008\\u000c\\n\\r\\t\\u0001\x7f"'
    assert dumps("\\b") == '"\\\\b"'
    assert dumps("\u2028\u2029é") == '"\\u2028\\u2029é"'
    assert dumps("a\udcffb") == '"a\\ufffdb"'  # an invalid UTF-8 byte (surrogateescape)
    assert dumps('"q"') == '"\\"q\\""'


def test_maps_sorted_numbers_raw() -> None:
    obj = {"b": [1, 2.5, JSONNumber("2.50"), JSONNumber("1E5")], "a": None, "c": True, "é": {}, "Z": []}
    assert dumps(obj) == '{"Z":[],"a":null,"b":[1,2.5,2.50,1E5],"c":true,"é":{}}'
    assert dumps(loads('{"id": 1619464078, "x": -2.3}')) == '{"id":1619464078,"x":-2.3}'
    assert dumps(JSONNumber("")) == "0"
    with pytest.raises(GoJSONError, match='json: invalid number literal "1x"'):
        dumps(JSONNumber("1x"))


def test_indent_layout() -> None:
    obj = {"b": [1, {}, [], {"x": "<"}], "a": "x"}
    assert dumps(obj, indent="  ") == '{\n  "a": "x",\n  "b": [\n    1,\n    {},\n    [],\n    {\n      "x": "\\u003c"\n    }\n  ]\n}'
    assert dumps([1], indent="\t", prefix="> ") == "[\n> \t1\n> ]"
    assert dumps({}, indent="  ") == "{}"


def test_unsupported_values() -> None:
    with pytest.raises(GoJSONError, match="json: unsupported value: NaN"):
        dumps({"a": math.nan})
    with pytest.raises(GoJSONError, match=r"json: unsupported value: \+Inf"):
        dumps([math.inf])
    with pytest.raises(GoJSONError, match="json: unsupported value: -Inf"):
        dumps(-math.inf, indent="  ")


def test_times_as_rfc3339nano() -> None:
    t = datetime(2024, 2, 3, 4, 5, 6, 120000, tzinfo=timezone(timedelta(hours=2)))
    assert dumps(t) == '"2024-02-03T04:05:06.12+02:00"'
    assert dumps([datetime(2024, 2, 3, tzinfo=UTC)]) == '["2024-02-03T00:00:00Z"]'


def test_large_list_is_fast() -> None:
    data = loads(json.dumps([{"id": i, "name": f"item {i}", "ok": True, "tags": ["a", "b"]} for i in range(10000)]))
    dumps(data)
    start = time.perf_counter()
    out = dumps(data)
    elapsed = time.perf_counter() - start
    assert out.startswith('[{"id":0,"name":"item 0","ok":true,"tags":["a","b"]},')
    assert elapsed < 0.5  # ~20-40 ms on the 2-core dev machine (the stdlib C encoder does the work)


ORACLE_DATA = [
    '{"a": 1, "b": [1.5, 2.50, -0, 1e400000000000000000000000000000000000000000000000000000000000000000000000]}'
    .replace(", 1e400000000000000000000000000000000000000000000000000000000000000000000000", ""),
    '{"s": "<script>&amp;</script>", "u": "\\u2028 \\u2029 \\u0001 \\u007f é 日本", "e": "", "z": null}',
    '{"nested": {"k2": [true, false, null, {"x": []}], "k1": {}}, "num": 12345678901234567890}',
    '["\\b\\f\\n\\r\\t", "\\\\", "\\"", "a/b"]',
    '{"floats": [0.1, 1e21, 1e-7, 123456789012345678, 1.0, 100, 2.5e-8]}',
]


@pytest.mark.oracle
@pytest.mark.parametrize("data_json", ORACLE_DATA)
@pytest.mark.parametrize("fn", ["toJson", "toRawJson", "toPrettyJson"])
def test_matches_go_encoder(data_json: str, fn: str, go_oracle: GoOracle) -> None:
    out, err = go_oracle.render("{{ " + fn + " . }}", data_json=data_json)
    assert err is None
    kw = {"toJson": {}, "toRawJson": {"escape_html": False}, "toPrettyJson": {"indent": "  "}}[fn]
    assert dumps(loads(data_json), **kw) == out


@pytest.mark.oracle
@pytest.mark.parametrize("data_json", ORACLE_DATA)
def test_float64_values_match_go(data_json: str, go_oracle: GoOracle) -> None:
    # fromJson decodes numbers as float64: Go's float encoding path
    out, err = go_oracle.render("{{ fromJson .j | toJson }}", {"j": data_json})
    assert err is None
    from utask.core.templating.sprig.funcs_defaults import go_json_unmarshal

    assert dumps(go_json_unmarshal(data_json)) == out
