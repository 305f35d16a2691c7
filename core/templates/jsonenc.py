"""Go `encoding/json` output for template values: `JSONNumber` printed as its exact text, dicts in
the order given (models emit Go's struct order, the decoder stores Go maps sorted), Go's escaping.

`utask.core.gojson.dumps` sorts every dict (Go maps); struct order needs this encoder. The models also
define `__go_json__` so `gojson.dumps(template)` works (compact form).

Used for the API representation of templates and for the line-by-line linting of §1.4, which scans
Go's indented JSON (one-space indent, no HTML escaping).
"""

from __future__ import annotations

import math
from typing import Any

from utask.core.gojson import JSONNumber
from utask_sdk.goconv import json_float

# Go 1.19 (the oracle's version, like utask.core.gojson): \b and \f are written \u0008 and \u000c
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str, escape_html: bool) -> str:
    out = ['"']
    for ch in s:
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ord(ch) < 0x20 or ch in "\u2028\u2029" or (escape_html and ch in "<>&"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: Any, escape_html: bool) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JSONNumber):
        return str(value)
    if isinstance(value, str):
        return _string(value, escape_html)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            raise ValueError("json: unsupported value")
        return json_float(value)
    raise TypeError(f"json: unsupported type: {type(value).__name__}")


def dumps(value: Any, *, indent: str | None = None, escape_html: bool = True) -> str:
    """Serialise like Go's `json.Marshal` (or `MarshalIndent(v, "", indent)` when indent is given)."""
    parts: list[str] = []
    _encode(value, parts, indent, 0, escape_html)
    return "".join(parts)


def _encode(value: Any, parts: list[str], indent: str | None, level: int, escape_html: bool) -> None:
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        parts.append("{")
        first = True
        for k, v in value.items():
            if not first:
                parts.append(",")
            first = False
            if indent is not None:
                parts.append("\n" + indent * (level + 1))
            parts.append(_string(str(k), escape_html))
            parts.append(": " if indent is not None else ":")
            _encode(v, parts, indent, level + 1, escape_html)
        if indent is not None:
            parts.append("\n" + indent * level)
        parts.append("}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        parts.append("[")
        for i, v in enumerate(value):
            if i:
                parts.append(",")
            if indent is not None:
                parts.append("\n" + indent * (level + 1))
            _encode(v, parts, indent, level + 1, escape_html)
        if indent is not None:
            parts.append("\n" + indent * level)
        parts.append("]")
    else:
        parts.append(_scalar(value, escape_html))
