"""µTask's own template functions (reference §4.3) that do not depend on the values container."""

from __future__ import annotations

import base64
import binascii
import uuid as _uuid
from collections.abc import Callable
from typing import Any

from .gojson_decode import GoJSONError, go_unmarshal
from .values_model import MISSING, GoCallError, GoSig, gofunc

_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


@gofunc("string")
def from_json(s: str) -> Any:
    """Invalid JSON gives nil (prints `<no value>`), never an error."""
    try:
        return go_unmarshal(s)
    except (GoJSONError, ValueError, RecursionError):
        return None


@gofunc("string")
def must_from_json(s: str) -> Any:
    try:
        return go_unmarshal(s)
    except GoJSONError as e:
        raise GoCallError(str(e)) from None


@gofunc()
def new_uuid() -> str:
    return str(_uuid.uuid4())


@gofunc("string")
def b64_raw_enc(s: str) -> str:
    return base64.b64encode(s.encode("utf-8")).decode("ascii").rstrip("=")


@gofunc("string")
def b64_raw_dec(s: str) -> str:
    """Go's base64.RawStdEncoding.DecodeString; an invalid input returns the error text."""
    data = s.encode("utf-8")
    clean = bytearray()
    positions = []
    for i, b in enumerate(data):
        if b in (10, 13):  # Go's decoder skips newlines
            continue
        if chr(b) not in _B64:
            return f"illegal base64 data at input byte {i}"
        clean.append(b)
        positions.append(i)
    if len(clean) % 4 == 1:
        return f"illegal base64 data at input byte {positions[-1]}"
    padded = bytes(clean) + b"=" * (-len(clean) % 4)
    try:
        out = base64.b64decode(padded, validate=True)
    except binascii.Error as e:
        return str(e)
    return out.decode("utf-8", "replace")


def walk(root: Any, keys: list[Any]) -> Any:
    """Follow string keys through maps; nil as soon as a key is missing or a non-map is met."""
    cur = root
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k, MISSING)
        if cur is MISSING:
            return None
    return cur


_FIELD_SIG = GoSig((), "string")


def make_field(root_getter: Callable[[], Any]) -> Callable[..., Any]:
    def field(*keys: str) -> Any:
        return walk(root_getter(), list(keys))

    field.__gosig__ = _FIELD_SIG  # type: ignore[attr-defined]
    return field


@gofunc(variadic="interface {}")
def field_from(*params: Any) -> Any:
    if len(params) < 2:
        raise GoCallError("invalid number of parameters given")
    obj = params[-1]
    if not isinstance(obj, dict):
        raise GoCallError("unable to cast given data to a map[string]")
    keys = [p if isinstance(p, str) and type(p) is str else "" for p in params[:-1]]
    return walk(obj, keys)


STATIC_FUNCS: dict[str, Callable[..., Any]] = {
    "fromJson": from_json,
    "mustFromJson": must_from_json,
    "uuid": new_uuid,
    "b64RawEnc": b64_raw_enc,
    "b64RawDec": b64_raw_dec,
    "fieldFrom": field_from,
}
