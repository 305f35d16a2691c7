"""The Go value model shared by the template executor, Go `fmt` printing and Sprig.

Go types map onto Python as agreed for the whole templating package:

| Go                         | Python                                   |
|----------------------------|------------------------------------------|
| map[string]interface{}     | dict                                     |
| []interface{}              | list (tuple accepted when reading)       |
| string                     | str                                      |
| json.Number                | utask.core.gojson.JSONNumber (str)       |
| bool                       | bool                                     |
| int / int64                | int                                      |
| float64                    | float                                    |
| complex128                 | complex                                  |
| nil (untyped interface)    | None                                     |
| invalid reflect.Value      | MISSING (a missing map key)              |
| time.Time                  | datetime.datetime                        |
| []byte                     | bytes                                    |

Functions called from templates may declare Go parameter types with `gofunc` so the executor
reproduces Go's argument checks (`wrong type for value; expected string; got int`); undeclared
functions take every argument as `interface {}` and receive None for nil/missing values.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from utask.core.gojson import JSONNumber


class _Missing:
    """Go's invalid `reflect.Value`: what a missing map key yields. Prints `<no value>`, is falsy."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"

    def __str__(self) -> str:
        return "<no value>"

    def __reduce__(self) -> str:
        return "MISSING"

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: Any) -> _Missing:
        return self


MISSING = _Missing()


class Int64(int):
    """A Go `int64` (what Sprig's arithmetic returns): an int that Go does not assign to `int`."""

    __slots__ = ()


class Uint8(int):
    """A Go byte (`uint8`): what `index` yields on a string. Behaves as an int, prints `%T` uint8."""

    __slots__ = ()


def is_missing(v: Any) -> bool:
    return v is MISSING


def is_number(v: Any) -> bool:
    """A Go numeric kind (int, float, complex) — bool and json.Number excluded."""
    return isinstance(v, int | float | complex) and not isinstance(v, bool)


def go_type_name(v: Any) -> str:
    """Go's `%T` of a value (`<nil>` for nil/missing)."""
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        if type(v) is int:
            return "int"
        return "uint8" if isinstance(v, Uint8) else "int64" if isinstance(v, Int64) else "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, complex):
        return "complex128"
    if isinstance(v, JSONNumber):
        return "json.Number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    if isinstance(v, bytes | bytearray):
        return "[]uint8"
    if isinstance(v, _dt.datetime):
        return "time.Time"
    go_type = getattr(v, "go_type", None)
    if isinstance(go_type, str):
        return go_type  # a value that names its Go type (Sprig's *semver.Version)
    if callable(v):
        return "func(...) interface {}"
    return type(v).__name__


def is_true(v: Any) -> bool:
    """Go template truth: the zero value of its type is false (`"0"` as a string is true)."""
    if v is None or v is MISSING:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float | complex):
        return v != 0
    if isinstance(v, str | list | tuple | dict | bytes):
        return len(v) > 0
    return True


# --- Go function signatures -------------------------------------------------------------------

INTERFACE = "interface {}"


@dataclass(frozen=True, slots=True)
class GoSig:
    """The Go parameter types of a template function, used for Go's argument checks.

    `params` are Go type names (`string`, `int`, `interface {}`, `[]interface {}`, `bool`, `float64`,
    `map[string]interface {}`); `variadic` is the element type of a trailing `...T` or None.
    """

    params: tuple[str, ...]
    variadic: str | None = None
    result: str | None = None  # the Go result type when it matters for the value (int64)


def gofunc(*params: str, variadic: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a template function's Go signature: `@gofunc("string", variadic="interface {}")`."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__gosig__ = GoSig(tuple(params), variadic)  # type: ignore[attr-defined]
        return fn

    return mark


def concrete_type_name(v: Any) -> str:
    """The Go type name used in `wrong type for value` messages (nil interface → `interface {}`)."""
    if v is None:
        return INTERFACE
    return go_type_name(v)


def assignable(v: Any, typ: str) -> bool:
    """Whether a (non-missing, non-nil) value is assignable to a Go parameter of type `typ`."""
    if typ == INTERFACE:
        return True
    if typ == "string":
        return isinstance(v, str) and not isinstance(v, JSONNumber)
    if typ == "int":
        return isinstance(v, int) and not isinstance(v, bool | Int64 | Uint8)
    if typ == "int64":
        return isinstance(v, int) and not isinstance(v, bool | Uint8) and (type(v) is Int64 or type(v) is int)
    if typ in ("int32", "uint32", "uint64", "uint", "uint8"):
        # other sized integers only come from literals here
        return isinstance(v, int) and not isinstance(v, bool)
    if typ == "float64":
        return isinstance(v, float)
    if typ == "bool":
        return isinstance(v, bool)
    if typ == "[]interface {}":
        return isinstance(v, list | tuple)
    if typ == "map[string]interface {}":
        return isinstance(v, dict)
    if typ == "json.Number":
        return isinstance(v, JSONNumber)
    if typ == "time.Time":
        return isinstance(v, _dt.datetime)
    if typ.startswith("map["):
        return isinstance(v, dict)
    if typ.startswith("[]"):
        return isinstance(v, list | tuple)
    return True


def can_be_nil(typ: str) -> bool:
    """Go's canBeNil: interfaces, maps, slices, pointers, funcs and chans take nil."""
    return typ == INTERFACE or typ.startswith(("[]", "map[", "*", "func"))


def zero_of(typ: str) -> Any:
    """The zero value a nil/missing argument becomes for a nil-able parameter type."""
    if typ.startswith("[]"):
        return []
    if typ.startswith("map["):
        return {}
    return None


class GoCallError(Exception):
    """Raised by a template function to fail with Go's `error calling NAME: <text>`.

    Any other exception raised by a function is reported the same way (Go's safeCall turns a
    panic into that error too); this class only makes the intent explicit.
    """
