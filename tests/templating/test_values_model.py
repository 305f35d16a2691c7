"""Unit tests: the shared value model, Go JSON decoding, Go durations, function signatures."""

from __future__ import annotations

import pytest
from utask.core.gojson import JSONNumber
from utask.core.templating.executor import signature_of
from utask.core.templating.gojson_decode import GoJSONError, go_unmarshal
from utask.core.templating.jsvars import parse_go_duration
from utask.core.templating.values_model import (
    INTERFACE,
    MISSING,
    GoSig,
    Int64,
    Uint8,
    assignable,
    go_type_name,
    gofunc,
    is_true,
)


def test_missing_is_a_falsy_singleton() -> None:
    from copy import deepcopy

    assert not MISSING
    assert str(MISSING) == "<no value>"
    assert deepcopy(MISSING) is MISSING


@pytest.mark.parametrize(
    ("value", "name"),
    [(None, "<nil>"), (True, "bool"), (1, "int"), (Int64(1), "int64"), (Uint8(1), "uint8"), (1.0, "float64"),
     ("s", "string"), (JSONNumber("1"), "json.Number"), ({}, "map[string]interface {}"), ([], "[]interface {}"),
     (1j, "complex128")],
)
def test_go_type_names(value: object, name: str) -> None:
    assert go_type_name(value) == name


@pytest.mark.parametrize(
    ("value", "truth"),
    [(MISSING, False), (None, False), (0, False), (0.0, False), ("", False), ("0", True), (JSONNumber("0"), True),
     ([], False), ({}, False), ([0], True), (False, False), (True, True), (1j, True)],
)
def test_go_truth(value: object, truth: bool) -> None:
    assert is_true(value) is truth


def test_assignability_follows_go() -> None:
    assert assignable("x", "string") and not assignable(JSONNumber("1"), "string")
    assert assignable(1, "int") and not assignable(Int64(1), "int") and not assignable(True, "int")
    assert assignable(Int64(1), "int64")
    assert assignable([1], "[]interface {}") and not assignable({}, "[]interface {}")
    assert assignable(object(), INTERFACE)


def test_signatures() -> None:
    @gofunc("string", variadic="interface {}")
    def declared(s: str, *rest: object) -> str:
        return s

    def plain(a: object, b: object = None) -> object:
        return a

    assert signature_of(declared) == GoSig(("string",), "interface {}")
    assert signature_of(plain) == GoSig((INTERFACE, INTERFACE))
    assert signature_of(lambda *a: a) == GoSig((), INTERFACE)


def test_go_unmarshal_uses_floats() -> None:
    assert go_unmarshal('{"a": [1, 2.5, null, "x", true]}') == {"a": [1.0, 2.5, None, "x", True]}
    assert isinstance(go_unmarshal("3"), float)
    for text, error in [
        ("", "unexpected end of JSON input"),
        ("[1,]", "invalid character ']' looking for beginning of value"),
        ("{\"a\" 1}", "invalid character '1' after object key"),
        ("nul", "invalid character ' ' in literal null (expecting 'l')"),
        ("1e400", "json: cannot unmarshal number 1e400 into Go value of type float64"),
    ]:
        with pytest.raises(GoJSONError) as e:
            go_unmarshal(text)
        assert str(e.value) == error


@pytest.mark.parametrize(
    ("text", "seconds"), [("10s", 10.0), ("1m30s", 90.0), ("100ms", 0.1), ("1h", 3600.0), ("0", 0.0), ("1.5s", 1.5)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "error"),
    [("foo", 'time: invalid duration "foo"'), ("10", 'time: missing unit in duration "10"'),
     ("10x", 'time: unknown unit "x" in duration "10x"'), ("", 'time: invalid duration ""')],
)
def test_bad_durations(text: str, error: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_go_duration(text)
    assert str(e.value) == error
