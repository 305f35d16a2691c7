"""Inputs: definition validation (§2.2), type and value checks (§2.3, §2.4), applying values and
defaults (§2.5), password masking. Messages are µTask's, quirks included (free text refuses `"`).

Values are decoded JSON: strings, booleans, `JSONNumber` (API numbers, kept as text), lists, dicts,
None. Python ints and floats are accepted as numbers too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from utask.core.gojson import JSONNumber
from utask.core.templates.goformat import format_v
from utask.core.templates.models import Input
from utask.core.templates.regex import RegexError, compile_re2

INPUT_TYPES = ("string", "password", "bool", "number")
MAX_TEXT_SIZE_LONG = 100000
SECRET_PLACEHOLDER = "**__SECRET__**"


class InputError(ValueError):
    """An input definition or value is refused (BadRequest in µTask)."""


def _is_string(v: Any) -> bool:
    return isinstance(v, str) and not isinstance(v, JSONNumber)


def _is_number(v: Any) -> bool:
    return isinstance(v, JSONNumber) or (isinstance(v, int | float) and not isinstance(v, bool))


def check_value_type(definition: Input, value: Any) -> None:
    """§2.3: null skips; string/password/"" need a string, bool a boolean, number a number."""
    if value is None:
        return
    t = definition.type
    if t in ("string", "password", ""):
        if not _is_string(value):
            raise InputError(f"Invalid value '{definition.name}': expected a string")
    elif t == "bool":
        if not isinstance(value, bool):
            raise InputError(f"Invalid value '{definition.name}': expected a boolean")
    elif t == "number" and not _is_number(value):
        raise InputError(f"Invalid value '{definition.name}': expected a number")


def _go_equal(a: Any, b: Any) -> bool:
    """Go interface equality of decoded JSON values: same dynamic type and value."""
    if isinstance(a, JSONNumber) or isinstance(b, JSONNumber):
        return isinstance(a, JSONNumber) and isinstance(b, JSONNumber) and str(a) == str(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_string(a) or _is_string(b):
        return _is_string(a) and _is_string(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return type(a) is type(b) and a == b
    return False  # lists/maps: Go would panic comparing them; never equal here


def _check_single_value(definition: Input, value: Any) -> None:
    check_value_type(definition, value)
    text = format_v(value)
    if len(text.encode()) > MAX_TEXT_SIZE_LONG:
        raise InputError(f"Invalid input '{definition.name}': value can't be longer than {MAX_TEXT_SIZE_LONG}")
    if definition.legal_values:
        if not any(_go_equal(legal, value) for legal in definition.legal_values):
            raise InputError(
                f"Invalid input '{definition.name}': '{text}' is not a legal value ({format_v(definition.legal_values)})"
            )
    elif definition.regex is not None:
        if compile_re2(definition.regex).search(text) is None:
            raise InputError(
                f"Invalid input '{definition.name}': '{text}' doesnt comply with regex '{definition.regex}'"
            )
    elif '"' in text:
        raise InputError(f"Invalid input '{definition.name}': cannot contain double quotes")


def check_value(definition: Input, value: Any) -> None:
    """§2.4 `CheckValue`."""
    if value is None:
        return
    if definition.collection:
        if not isinstance(value, list):
            raise InputError(f"Input '{definition.name}' is expected to be an array")
        for v in value:
            _check_single_value(definition, v)
    else:
        _check_single_value(definition, value)


def validate_definition(definition: Input) -> None:
    """§2.2: checks of an input definition at template load."""
    if definition.regex is not None:
        if definition.legal_values:
            raise InputError(f"Invalid input '{definition.name}': both regex and legal value list configured")
        try:
            compile_re2(definition.regex)
        except RegexError:
            raise InputError(f"Invalid regex for input '{definition.name}'") from None
    if definition.type and definition.type not in INPUT_TYPES:
        raise InputError(f"Invalid input type '{definition.type}': must be either [string password bool number]")
    for legal in definition.legal_values or []:
        check_value_type(definition, legal)
    check_value_type(definition, definition.default)
    check_value(definition, definition.default)


def validate_inputs_values(definitions: Iterable[Input], values: dict[str, Any] | None) -> dict[str, Any]:
    """§2.5 `validateInputsValues`: fills defaults into `values` (in place) and checks every value.

    Returns the same dict (a new one when `values` is None — µTask would crash there).
    Raises InputError(`Missing input '<n>'`) or the CheckValue error.
    """
    if values is None:
        values = {}
    for d in definitions:
        present = d.name in values
        val = values.get(d.name)
        if not present or val is None or (_is_string(val) and val == ""):
            if d.default is not None:
                values[d.name] = copy.deepcopy(d.default)
                continue
            if not d.optional:
                raise InputError(f"Missing input '{d.name}'")
        else:
            check_value(d, val)
    return values


def filter_inputs(definitions: Iterable[Input], values: dict[str, Any] | None) -> dict[str, Any]:
    """Keep only the declared inputs (requester inputs are filtered before storage)."""
    values = values or {}
    return {d.name: values[d.name] for d in definitions if d.name in values}


def mask_passwords(definitions: Iterable[Input], values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of `values` with every present `password` input replaced by `**__SECRET__**`."""
    if values is None:
        return None
    masked = dict(values)
    for d in definitions:
        if d.type == "password" and d.name in masked:
            masked[d.name] = SECRET_PLACEHOLDER
    return masked


def unmask_passwords(
    definitions: Iterable[Input], new_values: dict[str, Any], old_values: dict[str, Any] | None
) -> dict[str, Any]:
    """For updates: a password input sent back as `**__SECRET__**` keeps its previous value."""
    out = dict(new_values)
    old_values = old_values or {}
    for d in definitions:
        if d.type == "password" and out.get(d.name) == SECRET_PLACEHOLDER and d.name in old_values:
            out[d.name] = old_values[d.name]
    return out
