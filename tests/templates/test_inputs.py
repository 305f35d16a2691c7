"""Inputs: type check, CheckValue, defaults, masking (reference §2.3–§2.5)."""

from __future__ import annotations

import pytest
from utask.core.gojson import JSONNumber, loads
from utask.core.templates import (
    SECRET_PLACEHOLDER,
    Input,
    InputError,
    check_value,
    filter_inputs,
    mask_passwords,
    unmask_passwords,
    validate_inputs_values,
)


def err(definition: Input, value) -> str:
    with pytest.raises(InputError) as info:
        check_value(definition, value)
    return str(info.value)


def test_type_checks():
    assert err(Input(name="s"), JSONNumber("1")) == "Invalid value 's': expected a string"
    assert err(Input(name="s", type="password"), True) == "Invalid value 's': expected a string"
    assert err(Input(name="b", type="bool"), "true") == "Invalid value 'b': expected a boolean"
    assert err(Input(name="n", type="number"), "1") == "Invalid value 'n': expected a number"
    for ok in (JSONNumber("-2.3"), 4, 1.5):
        check_value(Input(name="n", type="number"), ok)
    check_value(Input(name="n", type="number"), None)  # null skips every check


def test_collection():
    d = Input(name="c", collection=True, legal_values=["a", "b"])
    assert err(d, "a") == "Input 'c' is expected to be an array"
    check_value(d, ["a", "b", "a"])
    assert err(d, ["a", "z"]) == "Invalid input 'c': 'z' is not a legal value ([a b])"


def test_legal_values_are_type_exact():
    d = Input(name="n", type="number", legal_values=[JSONNumber("1"), JSONNumber("2")])
    check_value(d, JSONNumber("1"))
    # QUIRK kept: the text-number "1.0" is not the legal value "1"
    assert err(d, JSONNumber("1.0")) == "Invalid input 'n': '1.0' is not a legal value ([1 2])"
    s = Input(name="s", legal_values=["1"])
    assert err(s, JSONNumber("1")) == "Invalid value 's': expected a string"
    b = Input(name="b", type="bool", legal_values=[True])
    assert err(b, False) == "Invalid input 'b': 'false' is not a legal value ([true])"


def test_regex_is_an_unanchored_search_on_the_text_form():
    d = Input(name="r", type="number", regex="^-?[0-9]+$")
    check_value(d, JSONNumber("-42"))
    assert err(d, JSONNumber("4.2")) == "Invalid input 'r': '4.2' doesnt comply with regex '^-?[0-9]+$'"
    check_value(Input(name="r", regex="b"), "abc")


def test_free_text_refuses_double_quotes():
    assert err(Input(name="t"), 'say "hi"') == "Invalid input 't': cannot contain double quotes"
    check_value(Input(name="t", regex="."), 'say "hi"')  # only free text refuses them


def test_length_limit():
    assert err(Input(name="t"), "x" * 100001) == "Invalid input 't': value can't be longer than 100000"
    check_value(Input(name="t"), "x" * 100000)


def test_validate_inputs_values_applies_defaults_and_reports_missing():
    defs = [
        Input(name="a"),
        Input(name="b", default="B"),
        Input(name="c", optional=True),
        Input(name="d", type="number", default=JSONNumber("3")),
    ]
    values = {"a": "x", "b": "", "unknown": 1}
    out = validate_inputs_values(defs, values)
    assert out is values
    assert out == {"a": "x", "b": "B", "unknown": 1, "d": JSONNumber("3")}
    with pytest.raises(InputError) as info:
        validate_inputs_values(defs, {"b": None})
    assert str(info.value) == "Missing input 'a'"
    with pytest.raises(InputError) as info:
        validate_inputs_values(defs, {"a": 'q"uote'})
    assert str(info.value) == "Invalid input 'a': cannot contain double quotes"
    assert validate_inputs_values([Input(name="r", default="z")], None) == {"r": "z"}


def test_api_values_decoded_with_exact_numbers():
    values = loads('{"quantity": -2.3, "flag": true}')
    out = validate_inputs_values(
        [Input(name="quantity", type="number"), Input(name="flag", type="bool")], values
    )
    assert out["quantity"] == JSONNumber("-2.3")


def test_filter_and_masking():
    defs = [Input(name="user"), Input(name="secret", type="password")]
    assert filter_inputs(defs, {"user": "u", "secret": "s", "other": 1}) == {"user": "u", "secret": "s"}
    masked = mask_passwords(defs, {"user": "u", "secret": "abracadabra"})
    assert masked == {"user": "u", "secret": SECRET_PLACEHOLDER == "**__SECRET__**" and "**__SECRET__**"}
    assert mask_passwords(defs, None) is None
    assert unmask_passwords(defs, {"user": "v", "secret": SECRET_PLACEHOLDER}, {"secret": "abracadabra"}) == {
        "user": "v", "secret": "abracadabra"}
    assert unmask_passwords(defs, {"secret": "new"}, {"secret": "old"}) == {"secret": "new"}
