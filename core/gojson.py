"""Go-compatible JSON values.

µTask decodes inputs and plugin outputs with `json.Number`: a number keeps the exact text it was written
with (`1619464078`, `-2.3`, `2.50`) and prints as that text. `JSONNumber` is that type here. Values
computed by Sprig arithmetic are plain Python `int` (Go int/int64) or `float` (Go float64).
"""

from __future__ import annotations

import json
from typing import Any


class JSONNumber(str):
    """A JSON number kept as the exact text it was written with (Go's `json.Number`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JSONNumber({str.__repr__(self)})"


def loads(text: str | bytes) -> Any:
    """Decode JSON keeping every number as a `JSONNumber`."""
    return json.loads(text, parse_int=JSONNumber, parse_float=JSONNumber)
