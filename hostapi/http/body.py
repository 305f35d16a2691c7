"""Request bodies the way µTask binds them (reference §7.1, `api/bind.go`).

µTask decodes every body with sigs.k8s.io/yaml: YAML (JSON is YAML) → JSON → `encoding/json` with
`UseNumber` into the handler's struct. So: JSON and YAML both work, numbers stay exact (`JSONNumber`),
unknown fields are ignored, field names match case-insensitively, `null` leaves the zero value, and a
value of the wrong type is an error in Go's words. The body is ignored for GET and `Content-Length: 0`;
its size is capped by `server_options.max_body_bytes`.

Body models are pydantic models (so the OpenAPI document describes them) that are NOT validated by
pydantic: `parse_body` checks types itself, Go-style, and builds the model with `model_construct`, which
keeps `JSONNumber` and nested values untouched.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from utask.core import gojson
from utask.core.gojson import JSONNumber

from .errors import BadRequest

DEFAULT_MAX_BODY_BYTES = 256 * 1024
UPPER_MAX_BODY_BYTES = 10 * 1024 * 1024
LOWER_MAX_BODY_BYTES = 1024

M = TypeVar("M", bound=BaseModel)


def clamp_max_body_bytes(value: int | None) -> int:
    """µTask's defaultBindingHook: 0 → default, then clamped to [1 KiB, 10 MiB]."""
    if not value:
        return DEFAULT_MAX_BODY_BYTES
    return max(LOWER_MAX_BODY_BYTES, min(UPPER_MAX_BODY_BYTES, value))


class BodyError(BadRequest):
    def __init__(self, detail: str) -> None:
        super().__init__(f"error parsing request body: {detail}")


# -- YAML → JSON values -----------------------------------------------------------------------------------


def _key(k: Any) -> str:
    # sigs.k8s.io/yaml turns non-string keys into their text (`1: a` → {"1": "a"}, `true` → "true").
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, float):
        return gojson.format_float(k)
    if k is None:
        return "null"
    return str(k)


def _to_json_value(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, JSONNumber):
        return v
    if isinstance(v, int):
        return JSONNumber(str(v))
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise BodyError("error converting YAML to JSON: json: unsupported value: " + ("NaN" if math.isnan(v) else "+Inf"))
        return JSONNumber(gojson.format_float(v))
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return {_key(k): _to_json_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_to_json_value(x) for x in v]
    return str(v)  # timestamps and other YAML oddities stay text


def decode(raw: bytes) -> Any:
    """Body bytes → JSON-like value with exact numbers. JSON first (keeps `1.50` as written), then YAML."""
    stripped = raw.strip()
    if not stripped:
        return None
    if stripped[:1] in (b"{", b"["):
        try:
            return gojson.loads(stripped)
        except ValueError:
            pass  # flow-style YAML, or broken JSON: the YAML parser says it Go's way
    from utask.core.templates.yamlload import YAMLSyntaxError, load_yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("error converting YAML to JSON: yaml: invalid leading UTF-8 octet") from None
    try:
        value = load_yaml(text)
    except YAMLSyntaxError as e:
        raise BodyError(f"error converting YAML to JSON: {e}") from None
    except Exception as e:  # noqa: BLE001 - any parser failure is the client's body
        raise BodyError(f"error converting YAML to JSON: yaml: {e}") from None
    return _to_json_value(value)


# -- Go-style type checks ------------------------------------------------------------------------------------

_JSON_KIND = {bool: "bool", str: "string", JSONNumber: "number", dict: "object", list: "array"}


def _json_kind(v: Any) -> str:
    if isinstance(v, JSONNumber):
        return "number"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "number"


def _unwrap_optional(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _go_type(tp: Any) -> str:
    tp = _unwrap_optional(tp)
    origin = get_origin(tp)
    if tp is str:
        return "string"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is Any or tp is object:
        return "interface {}"
    if origin is list:
        (inner,) = get_args(tp) or (Any,)
        return "[]" + _go_type(inner)
    if origin is dict:
        args = get_args(tp) or (str, Any)
        return f"map[string]{_go_type(args[1])}"
    return "interface {}"


class _Mismatch(Exception):
    def __init__(self, kind: str, gotype: str, path: str) -> None:
        super().__init__(kind)
        self.kind, self.gotype, self.path = kind, gotype, path


def _shape_of(tp: Any) -> tuple[Any, Any]:
    tp = _unwrap_optional(tp)
    return tp, get_origin(tp)


_shape_cached = functools.cache(_shape_of)


def _shape(tp: Any) -> tuple[Any, Any]:
    """(the type without Optional, its generic origin): computed once per annotation, since every value of
    every body is checked against one and typing's introspection costs more than the check."""
    try:
        return _shape_cached(tp)
    except TypeError:  # an unhashable annotation: no cache
        return _shape_of(tp)


def _check(value: Any, tp: Any, path: str) -> Any:
    """Return `value` if it fits `tp` the way encoding/json would accept it (null always fits)."""
    if value is None:
        return None
    tp, origin = _shape(tp)
    if tp is Any or tp is object:
        return value
    if tp is str:
        if isinstance(value, str) and not isinstance(value, JSONNumber):
            return value
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, JSONNumber):
            try:
                return int(str(value))
            except ValueError:
                raise _Mismatch(f"number {value}", "int", path) from None
    elif origin is list:
        if isinstance(value, list):
            (inner,) = get_args(tp) or (Any,)
            return [_check(v, inner, path) for v in value]
    elif origin is dict:
        if isinstance(value, dict):
            args = get_args(tp) or (str, Any)
            return {k: _check(v, args[1], path) for k, v in value.items()}
    else:
        return value
    raise _Mismatch(_json_kind(value), _go_type(tp), path)


def _go_struct_name(model: type[BaseModel]) -> str:
    return getattr(model, "__go_name__", model.__name__)


@functools.cache
def _hints(model: type[BaseModel]) -> dict[str, Any]:
    return typing.get_type_hints(model)


@functools.cache
def _names_by_lower(model: type[BaseModel]) -> dict[str, str]:
    """Lower-cased JSON name → field name, once per model (the first field wins a clash, as before)."""
    by_lower: dict[str, str] = {}
    for name, info in model.model_fields.items():
        by_lower.setdefault((info.alias or name).lower(), name)
    return by_lower


def build(model: type[M], data: Any) -> M:
    """A decoded body → model, with encoding/json's rules (case-insensitive names, unknown ignored)."""
    if data is None:
        return model.model_construct()
    if not isinstance(data, dict):
        raise BodyError("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
                        f"{_json_kind(data)} into Go value of type handler.{_go_struct_name(model)}")
    fields = model.model_fields
    by_lower = _names_by_lower(model)
    values: dict[str, Any] = {}
    exact: set[str] = set()
    hints = _hints(model)
    for key, value in data.items():
        name = by_lower.get(key.lower())
        if name is None:
            continue
        json_name = fields[name].alias or name
        # encoding/json prefers the exact name when a body carries several spellings.
        if name in exact and key != json_name:
            continue
        if key == json_name:
            exact.add(name)
        try:
            values[name] = _check(value, hints.get(name, Any), json_name)
        except _Mismatch as m:
            raise BodyError("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
                            f"{m.kind} into Go struct field {_go_struct_name(model)}.{m.path} of type {m.gotype}") from None
    return model.model_construct(**values)


async def read_raw(request: Any, limit: int) -> bytes:
    """The body, unless µTask would ignore it; refuses more than `limit` bytes (http.MaxBytesReader)."""
    if request.method == "GET":
        return b""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            declared = -1
        if declared == 0:
            return b""
        if declared > limit:
            raise BodyError("http: request body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError("http: request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Any, model: type[M]) -> M:
    limit = getattr(request.app.state, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    raw = await read_raw(request, limit)
    return build(model, decode(raw))
