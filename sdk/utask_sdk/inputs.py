"""Input definitions and their values: µTask's checks (reference §2.2–§2.4), with its messages and quirks
(free text refuses `"`, regexes are Go's RE2).

One implementation for the server (a template's requester and resolver inputs, the values of a task) and
for plugins whose configuration holds input definitions (the builtin `input` plugin's manual-input forms).
A definition is any object with `name`, `type`, `regex`, `legal_values`, `collection` and `default`
attributes, such as `InputDefinition`. Values are decoded JSON: strings, booleans, numbers (`int`,
`float`, and the exact-text `JSONNumber` and `ExactFloat` of the server and the wire), lists, dicts, None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .goconv import format_v
from .protocol import ExactFloat, JSONNumber
from .re2 import RegexError, compile_re2

__all__ = ["INPUT_TYPES", "MAX_TEXT_SIZE_LONG", "InputDefinition", "InputError", "check_value",
           "check_value_type", "validate_definition"]

INPUT_TYPES = ("string", "password", "bool", "number")
MAX_TEXT_SIZE_LONG = 100000


class InputError(ValueError):
    """An input definition or value is refused (µTask's BadRequest), with µTask's message."""


@dataclass
class InputDefinition:
    """An input as templates declare it (§2.1)."""

    name: str = ""
    description: str = ""
    regex: str | None = None
    legal_values: list[Any] | None = None
    collection: bool = False
    type: str = ""
    optional: bool = False
    default: Any = None
    hidden: bool = False

    def to_json(self) -> dict[str, Any]:
        """µTask's JSON of a definition (regex, legal_values and type only when set)."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.regex is not None:
            out["regex"] = self.regex
        if self.legal_values:
            out["legal_values"] = self.legal_values
        out["collection"] = self.collection
        if self.type:
            out["type"] = self.type
        out.update(optional=self.optional, default=self.default, hidden=self.hidden)
        return out


def _exact(v: Any) -> bool:
    """A JSON number that kept its text (Go's json.Number)."""
    return isinstance(v, JSONNumber | ExactFloat)


def is_string(v: Any) -> bool:
    return isinstance(v, str) and not isinstance(v, JSONNumber)


def is_number(v: Any) -> bool:
    return isinstance(v, JSONNumber) or (isinstance(v, int | float) and not isinstance(v, bool))


def check_value_type(definition: Any, value: Any) -> None:
    """§2.3: null skips; string/password/"" need a string, bool a boolean, number a number."""
    if value is None:
        return
    t = definition.type
    if t in ("string", "password", ""):
        if not is_string(value):
            raise InputError(f"Invalid value '{definition.name}': expected a string")
    elif t == "bool":
        if not isinstance(value, bool):
            raise InputError(f"Invalid value '{definition.name}': expected a boolean")
    elif t == "number" and not is_number(value):
        raise InputError(f"Invalid value '{definition.name}': expected a number")


def go_equal(a: Any, b: Any) -> bool:
    """Go interface equality of decoded JSON values: same dynamic type and value (exact numbers by text)."""
    if _exact(a) or _exact(b):
        return _exact(a) and _exact(b) and str(a) == str(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_string(a) or is_string(b):
        return is_string(a) and is_string(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return type(a) is type(b) and a == b
    return False  # lists/maps: Go would panic comparing them; never equal here


def _check_single_value(definition: Any, value: Any) -> None:
    check_value_type(definition, value)
    text = format_v(value)
    if len(text.encode()) > MAX_TEXT_SIZE_LONG:
        raise InputError(f"Invalid input '{definition.name}': value can't be longer than {MAX_TEXT_SIZE_LONG}")
    if definition.legal_values:
        if not any(go_equal(legal, value) for legal in definition.legal_values):
            raise InputError(
                f"Invalid input '{definition.name}': '{text}' is not a legal value ({format_v(definition.legal_values)})")
    elif definition.regex is not None:
        if compile_re2(definition.regex).search(text) is None:
            raise InputError(f"Invalid input '{definition.name}': '{text}' doesnt comply with regex '{definition.regex}'")
    elif '"' in text:
        raise InputError(f"Invalid input '{definition.name}': cannot contain double quotes")


def check_value(definition: Any, value: Any) -> None:
    """§2.4 `CheckValue`: a collection must be a list, and each value passes the single-value checks."""
    if value is None:
        return
    if definition.collection:
        if not isinstance(value, list):
            raise InputError(f"Input '{definition.name}' is expected to be an array")
        for v in value:
            _check_single_value(definition, v)
    else:
        _check_single_value(definition, value)


def validate_definition(definition: Any) -> None:
    """§2.2: the checks of an input definition at template load."""
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
