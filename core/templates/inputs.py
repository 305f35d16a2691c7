"""Inputs: applying values and defaults (§2.5), password masking; the definition and value checks (§2.2–
§2.4) are the SDK's (`utask_sdk.inputs`), shared with plugins. Messages are µTask's, quirks included.

Values are decoded JSON: strings, booleans, `JSONNumber` (API numbers, kept as text), lists, dicts,
None. Python ints and floats are accepted as numbers too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from utask.core.templates.models import Input
from utask_sdk.inputs import (
    INPUT_TYPES,
    MAX_TEXT_SIZE_LONG,
    InputError,
    check_value,
    check_value_type,
    is_string,
    validate_definition,
)

# The SDK's checks are the server's too: they are part of this module's names.
__all__ = ["INPUT_TYPES", "MAX_TEXT_SIZE_LONG", "SECRET_PLACEHOLDER", "InputError", "check_value", "check_value_type",
           "filter_inputs", "mask_passwords", "unmask_passwords", "validate_definition", "validate_inputs_values"]

SECRET_PLACEHOLDER = "**__SECRET__**"


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
        if not present or val is None or (is_string(val) and val == ""):
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
