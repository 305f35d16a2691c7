"""Decoding a step's configuration the way µTask does (reference §5.8, §10).

The base configuration is decoded first, then the step configuration over it: fields present in the step
configuration replace the base's, except fields the model types as maps, merged key by key, and nested
dataclass fields, merged recursively. Without a model the configuration is a plain dict and every key is
replaced. Unknown keys are ignored; a value of the wrong type is an error naming the field, and so is a
required field (no default) left out.

Templates render configurations as text, so a field typed as a number or a boolean takes a rendered string
too: `"3"` for an `int`, `"2.5"` for a `float`, `"true"` for a `bool` (Go's strconv.ParseBool spellings).
At template load the configuration is not rendered yet: a string holding a template expression (`{{`) is
accepted for a field of any type and reaches `validate` as that text; its type is checked once rendered.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from .errors import ConfigError
from .goconv import parse_bool
from .protocol import ExactFloat, JSONNumber

_JSON_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


@functools.lru_cache(maxsize=256)
def _field_types(model: type) -> dict[str, Any]:
    """Cached: a forked execution then reads it instead of re-evaluating annotations (fewer pages touched,
    fewer copy-on-write faults)."""
    hints = typing.get_type_hints(model)
    if dataclasses.is_dataclass(model):
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(model)}
    fields = getattr(model, "model_fields", None)  # pydantic v2
    if fields is not None:
        return {name: f.annotation for name, f in fields.items()}
    return dict(hints)


def _is_map(tp: Any) -> bool:
    tp = _strip_optional(tp)
    return tp in (dict, Mapping) or typing.get_origin(tp) in (dict, Mapping)


def merge(base: Any, config: Any, model: type | None = None) -> Any:
    """The step configuration decoded over the base one (both raw JSON values)."""
    if base is None:
        return config
    if config is None:
        return base
    if not isinstance(base, dict) or not isinstance(config, dict):
        return config
    types_ = _field_types(model) if model is not None else {}
    merged = dict(base)
    for key, value in config.items():
        tp = _strip_optional(types_.get(key, Any))
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            if _is_map(tp):
                merged[key] = {**old, **value}
                continue
            if isinstance(tp, type) and dataclasses.is_dataclass(tp):
                merged[key] = merge(old, value, tp)
                continue
        merged[key] = value
    return merged


def decode(raw: Any, model: type | None) -> Any:
    """The configuration the plugin sees: `raw` itself without a model, else an instance of the model."""
    if model is None:
        return raw if raw is not None else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"expected an object, got {_json_name(raw)}", field=None)
    validate_model = getattr(model, "model_validate", None)
    if validate_model is not None and not dataclasses.is_dataclass(model):
        return _decode_pydantic(model, raw)
    return _decode_dataclass(model, raw, "")


def _decode_dataclass(model: type, raw: dict[str, Any], prefix: str) -> Any:
    kwargs = {}
    for name, tp in _field_types(model).items():
        if name in raw:
            kwargs[name] = _check(raw[name], tp, prefix + name)
    for f in dataclasses.fields(model):
        if (f.init and f.name not in kwargs and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING):
            raise ConfigError("required", field=prefix + f.name)
    try:
        return model(**kwargs)
    except TypeError as err:  # a required field without a value
        raise ConfigError(str(err)) from None


def _decode_pydantic(model: type, raw: dict[str, Any]) -> Any:
    try:
        return model.model_validate(raw)  # type: ignore[attr-defined]
    except Exception as err:  # pydantic.ValidationError: report the first faulty field
        errors = getattr(err, "errors", None)
        if callable(errors):
            first = errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            raise ConfigError(first.get("msg", str(err)), field=field or None) from None
        raise ConfigError(str(err)) from None


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, JSONNumber):
        return "number"
    for tp, name in _JSON_TYPE_NAMES.items():
        if type(value) is tp or (tp is float and isinstance(value, ExactFloat)):
            return name
    return type(value).__name__


_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _scalar(value: Any, tp: type) -> Any:
    """`value` as a `tp` (int, float, bool) when it is one, or a number kept as text (the server's
    JSONNumber) or a rendered string spelling one; else `_MISMATCH`."""
    if isinstance(value, JSONNumber) or (isinstance(value, str) and tp is not bool):
        text = value.strip()
        if tp is int and _INTEGER.fullmatch(text):
            return int(text)
        if tp is float and _FLOAT.fullmatch(text):
            return ExactFloat(text) if isinstance(value, JSONNumber) else float(text)  # exact JSON text kept
        return _MISMATCH
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return parse_bool(value)
            except ValueError:
                return _MISMATCH
        return _MISMATCH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _MISMATCH
    if tp is int:
        return value if isinstance(value, int) else _MISMATCH
    return value  # float: ints are numbers too


_MISMATCH = object()


def _check(value: Any, tp: Any, path: str) -> Any:
    """`value` if it fits the annotation `tp` (recursing into containers and dataclasses), else ConfigError."""
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(value, arg, path)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"must be one of {list(typing.get_args(tp))}, got {value!r}", field=path)
    if value is None:
        return None  # JSON null leaves a Go field at its zero value; keep None
    if isinstance(value, str) and "{{" in value and tp is not str:
        return value  # a template expression, at template load: checked once rendered
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"expected an object, got {_json_name(value)}", field=path)
        return _decode_dataclass(tp, value, path + ".")
    if tp in (dict, Mapping) or origin in (dict, Mapping):
        if not isinstance(value, dict):
            raise ConfigError(f"expected an object, got {_json_name(value)}", field=path)
        args = typing.get_args(tp)
        if len(args) == 2:
            return {k: _check(v, args[1], f"{path}.{k}") for k, v in value.items()}
        return value
    if tp is list or origin in (list, tuple, typing.Sequence):
        if not isinstance(value, list):
            raise ConfigError(f"expected an array, got {_json_name(value)}", field=path)
        args = typing.get_args(tp)
        if args and origin is not tuple:
            return [_check(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
        return value
    if tp in (bool, int, float):
        checked = _scalar(value, tp)
        if checked is not _MISMATCH:
            return checked
    elif tp is str:
        if isinstance(value, str) and not isinstance(value, JSONNumber):
            return value
    elif isinstance(tp, type):
        if isinstance(value, tp):
            return value
    else:
        return value
    got = _json_name(value)
    if isinstance(value, str) and not isinstance(value, JSONNumber):
        got += " " + json.dumps(value if len(value) <= 40 else value[:40] + "…", ensure_ascii=False)
    raise ConfigError(f"expected {_JSON_TYPE_NAMES.get(tp, getattr(tp, '__name__', str(tp)))}, got {got}", field=path)
