"""Decode parsed YAML into the models with sigs.k8s.io/yaml + encoding/json semantics.

- Field names match the JSON tag exactly, else case-insensitively; unknown fields are ignored; when two
  keys name the same field the last one in Go's (sorted) key order wins.
- String-typed fields receive YAML numbers and booleans as text (`0` → "0", floats as 32-bit shortest
  `%g`, `true`/`false`); a JSON null leaves the field at its zero value.
- Free-JSON fields keep their types; numbers become `JSONNumber` with the text Go would produce.
- A type mismatch raises `DecodeError` with encoding/json's message
  (`json: cannot unmarshal string into Go struct field Step.steps.stepOne.idempotent of type bool`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from utask.core.gojson import JSONNumber
from utask.core.templates.goformat import json_number_from_python, yaml_float_to_string
from utask.core.templates.models import (
    OUTPUT_STRATEGIES,
    UNSET,
    Assert,
    Condition,
    Executor,
    Function,
    Input,
    Output,
    Step,
    TaskTemplate,
    Variable,
)
from utask_sdk.goconv import format_float_g, json_float

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class DecodeError(ValueError):
    """The YAML/JSON document does not fit the Go types (message is Go's)."""


class ConversionError(DecodeError):
    """sigs.k8s.io/yaml cannot turn the YAML into JSON at all (NaN/Inf in a free-JSON field): the
    message is complete, no decoding prefix is added."""


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | JSONNumber):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class _Ctx:
    """Where we are, for error messages: Go struct name and dotted JSON path."""

    def __init__(self, struct: str, path: str) -> None:
        self.struct = struct
        self.path = path

    def child(self, struct: str | None, key: str) -> _Ctx:
        return _Ctx(struct or self.struct, f"{self.path}.{key}" if self.path else key)

    def error(self, value: Any, go_type: str, with_number: bool = False) -> DecodeError:
        # encoding/json names a number by its text only when an integer field cannot hold it
        kind = _json_kind(value)
        if kind == "number" and with_number:
            kind = f"number {_number_text(value)}"
        return DecodeError(f"json: cannot unmarshal {kind} into Go struct field {self.struct}.{self.path} of type {go_type}")


def _number_text(value: Any) -> str:
    if isinstance(value, JSONNumber):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return json_float(value)


# --- scalar conversions -------------------------------------------------------------------------


def to_json_value(value: Any) -> Any:
    """A free-JSON value: keys already strings; numbers as JSONNumber; maps in Go's sorted key order."""
    if isinstance(value, dict):
        return {str(k): to_json_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, JSONNumber):
        return value
    if isinstance(value, int):
        return JSONNumber(str(value))
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            raise ConversionError(f"error converting YAML to JSON: json: unsupported value: {format_float_g(value)}")
        return json_number_from_python(value)
    return value


def _string(value: Any, ctx: _Ctx, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JSONNumber):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml_float_to_string(value)
    raise ctx.error(value, "string")


def _opt_string(value: Any, ctx: _Ctx, current: str | None) -> str | None:
    if value is None:
        return current
    return _string(value, ctx)


def _bool(value: Any, ctx: _Ctx, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    raise ctx.error(value, "bool")


def _int(value: Any, ctx: _Ctx, go_type: str = "int", default: int | None = 0) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | JSONNumber):
        raise ctx.error(value, go_type)
    text = _number_text(value) if not isinstance(value, JSONNumber) else str(value)
    try:
        result = int(text)
    except ValueError:
        raise ctx.error(value, go_type, with_number=True) from None
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise ctx.error(value, go_type, with_number=True)
    return result


def _str_list(value: Any, ctx: _Ctx) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ctx.error(value, "[]string")
    return [_string(v, ctx) for v in value]


def _str_map(value: Any, ctx: _Ctx) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ctx.error(value, "map[string]string")
    # Go 1.19's error path names struct fields only, not map keys
    return {str(k): _string(value[k], ctx) for k in sorted(value, key=str)}


# --- structs --------------------------------------------------------------------------------------

FieldSetter = Callable[[Any, Any, _Ctx], None]


def _fields_in_go_order(obj: dict[str, Any], names: list[str]) -> list[tuple[str, Any, str]]:
    """(field name, value, key) for the keys of `obj` that name a field, in sorted key order."""
    lowered = {n.lower(): n for n in names}
    out = []
    for key in sorted(obj, key=str):
        skey = str(key)
        name = skey if skey in names else lowered.get(skey.lower())
        if name is not None:
            out.append((name, obj[key], skey))
    return out


def _decode_struct(obj: Any, ctx: _Ctx, go_type: str, setters: dict[str, FieldSetter], target: Any) -> Any:
    if obj is None:
        return target
    if not isinstance(obj, dict):
        raise ctx.error(obj, go_type)
    for name, value, key in _fields_in_go_order(obj, list(setters)):
        setters[name](target, value, ctx.child(go_type.split(".")[-1].lstrip("*"), key))
    return target


def decode_output(obj: Any, ctx: _Ctx) -> Output:
    out = Output()

    def strategy(t: Output, v: Any, c: _Ctx) -> None:
        if v is None:
            return
        if not isinstance(v, str) or isinstance(v, JSONNumber):
            got = _number_text(v) if isinstance(v, int | float | JSONNumber) and not isinstance(v, bool) else str(v).lower()
            raise DecodeError(f"OutputStrategy should be a string, got {got}")
        if v not in OUTPUT_STRATEGIES:
            raise DecodeError(f'invalid OutputStrategy "{v}"')
        t.strategy = v

    def fmt(t: Output, v: Any, c: _Ctx) -> None:
        t.format = _yaml_again(to_json_value(v))

    return _decode_struct(obj, ctx, "executor.Output", {"format": fmt, "strategy": strategy}, out)


def decode_executor(obj: Any, ctx: _Ctx) -> Executor:
    ex = Executor()

    def set_type(t: Executor, v: Any, c: _Ctx) -> None:
        t.type = _string(v, c)

    def set_base_conf(t: Executor, v: Any, c: _Ctx) -> None:
        t.base_configuration = _string(v, c)

    def set_conf(t: Executor, v: Any, c: _Ctx) -> None:
        t.configuration = _yaml_again(to_json_value(v))

    def set_output(t: Executor, v: Any, c: _Ctx) -> None:
        t.output = None if v is None else decode_output(v, c)

    def set_base_output(t: Executor, v: Any, c: _Ctx) -> None:
        t.base_output = _yaml_again(to_json_value(v))

    # Go's Executor.UnmarshalJSON decodes into an "InnerExecutor" then turns a non-null base_output
    # into an output with the merge strategy (it replaces `output`).
    if obj is not None and not isinstance(obj, dict):
        raise DecodeError(f"json: cannot unmarshal {_json_kind(obj)} into Go value of type executor.InnerExecutor")
    _decode_struct(
        obj,
        _Ctx("InnerExecutor", ""),
        "executor.InnerExecutor",
        {
            "type": set_type,
            "base_configuration": set_base_conf,
            "configuration": set_conf,
            "output": set_output,
            "base_output": set_base_output,
        },
        ex,
    )
    if ex.base_output is not UNSET and ex.base_output is not None:
        ex.output = Output(strategy="merge", format=ex.base_output)
    return ex


def _yaml_again(value: Any) -> Any:
    """Executor.UnmarshalJSON feeds the executor's JSON to yaml.Unmarshal once more: numbers are read
    again as YAML, which only changes a negative zero (`-0` is the integer 0 for YAML)."""
    if isinstance(value, dict):
        return {k: _yaml_again(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_again(v) for v in value]
    if isinstance(value, JSONNumber) and value == "-0":
        return JSONNumber("0")
    return value


def _wrap_executor(v: Any, c: _Ctx) -> Executor:
    try:
        return decode_executor(v, c)
    except ConversionError:
        raise
    except DecodeError as exc:
        # the nested yaml.Unmarshal of Executor.UnmarshalJSON adds its own prefix
        raise DecodeError(f"error unmarshaling JSON: while decoding JSON: {exc}") from None


def decode_assert(obj: Any, ctx: _Ctx) -> Assert:
    setters = {
        name: (lambda n: lambda t, v, c: setattr(t, n, _string(v, c)))(name)
        for name in ("value", "operator", "expected", "list_separator", "message")
    }
    return _decode_struct(obj, ctx, "*condition.Assert", setters, Assert())


def decode_condition(obj: Any, ctx: _Ctx) -> Condition:
    def set_if(t: Condition, v: Any, c: _Ctx) -> None:
        if v is None:
            return
        if not isinstance(v, list):
            raise c.error(v, "[]*condition.Assert")
        t.if_ = [decode_assert(a, c) for a in v]

    def set_then(t: Condition, v: Any, c: _Ctx) -> None:
        t.then = _str_map(v, c)

    def set_final(t: Condition, v: Any, c: _Ctx) -> None:
        t.final = _bool(v, c)

    setters: dict[str, FieldSetter] = {
        "type": lambda t, v, c: setattr(t, "type", _string(v, c)),
        "if": set_if,
        "then": set_then,
        "final": set_final,
        "foreach": lambda t, v, c: setattr(t, "foreach", _string(v, c)),
        "message": lambda t, v, c: setattr(t, "message", _string(v, c)),
    }
    return _decode_struct(obj, ctx, "*condition.Condition", setters, Condition())


def _conditions(v: Any, c: _Ctx) -> list[Condition] | None:
    if v is None:
        return None
    if not isinstance(v, list):
        raise c.error(v, "[]*condition.Condition")
    return [decode_condition(x, c) for x in v]


def decode_step(obj: Any, ctx: _Ctx) -> Step:
    def s(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _string(v, c, getattr(t, name)))

    def b(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _bool(v, c, getattr(t, name)))

    def i(name: str, go_type: str = "int") -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _int(v, c, go_type, getattr(t, name)))

    def sl(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _str_list(v, c))

    def raw(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, to_json_value(v))

    def set_schema(t: Step, v: Any, c: _Ctx) -> None:
        # Go keeps an explicit null as the RawMessage "null" and then crashes normalising it;
        # we treat it as "no schema".
        t.json_schema = UNSET if v is None else to_json_value(v)

    def set_pre_hook(t: Step, v: Any, c: _Ctx) -> None:
        t.pre_hook = None if v is None else _wrap_executor(v, c)

    def set_action(t: Step, v: Any, c: _Ctx) -> None:
        if v is not None:
            t.action = _wrap_executor(v, c)

    def set_children(t: Step, v: Any, c: _Ctx) -> None:
        if v is None:
            return
        if not isinstance(v, list):
            raise c.error(v, "[]interface {}")
        t.children = to_json_value(v)

    def set_children_map(t: Step, v: Any, c: _Ctx) -> None:
        if v is None:
            return
        if not isinstance(v, dict):
            raise c.error(v, "map[string]bool")
        t.children_steps_map = {k: bool(_bool(x, c)) for k, x in sorted(v.items())}

    def set_last_run(t: Step, v: Any, c: _Ctx) -> None:
        if v is None:
            return
        if not isinstance(v, str):
            # time.Time's UnmarshalJSON parses the raw JSON token
            raw = "true" if v is True else "false" if v is False else _number_text(v) if _json_kind(v) == "number" else "?"
            raise DecodeError(
                f'parsing time "{raw}" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "{raw}" as "\\""'
            )
        if not _RFC3339.match(v):
            raise DecodeError(
                f'parsing time "\\"{v}\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "{v}\\"" as "2006"'
            )
        t.last_run = v

    setters: dict[str, FieldSetter] = {
        "name": s("name"),
        "description": s("description"),
        "idempotent": b("idempotent"),
        "action": set_action,
        "pre_hook": set_pre_hook,
        "json_schema": set_schema,
        "output": raw("output"),
        "metadata": raw("metadata"),
        "children": set_children,
        "error": s("error"),
        "state": s("state"),
        "retry_pattern": s("retry_pattern"),
        "try_count": i("try_count"),
        "max_retries": i("max_retries"),
        "last_run": set_last_run,
        "execution_delay": i("execution_delay", "time.Duration"),
        "dependencies": sl("dependencies"),
        "custom_states": sl("custom_states"),
        "conditions": lambda t, v, c: setattr(t, "conditions", _conditions(v, c)),
        "foreach": s("foreach"),
        "foreach_strategy": s("foreach_strategy"),
        "children_steps": sl("children_steps"),
        "children_steps_map": set_children_map,
        "item": raw("item"),
        "resources": sl("resources"),
        "tags": lambda t, v, c: setattr(t, "tags", _str_map(v, c)),
    }
    if obj is not None and not isinstance(obj, dict):
        raise ctx.error(obj, "step.Step")
    return _decode_struct(obj, ctx, "*step.Step", setters, Step())


def decode_input(obj: Any, ctx: _Ctx) -> Input:
    def set_regex(t: Input, v: Any, c: _Ctx) -> None:
        t.regex = _opt_string(v, c, t.regex)

    def set_legal(t: Input, v: Any, c: _Ctx) -> None:
        if v is None:
            t.legal_values = None
            return
        if not isinstance(v, list):
            raise c.error(v, "[]interface {}")
        t.legal_values = to_json_value(v)

    setters: dict[str, FieldSetter] = {
        "name": lambda t, v, c: setattr(t, "name", _string(v, c)),
        "description": lambda t, v, c: setattr(t, "description", _string(v, c)),
        "regex": set_regex,
        "legal_values": set_legal,
        "collection": lambda t, v, c: setattr(t, "collection", _bool(v, c)),
        "type": lambda t, v, c: setattr(t, "type", _string(v, c)),
        "optional": lambda t, v, c: setattr(t, "optional", _bool(v, c)),
        "default": lambda t, v, c: setattr(t, "default", to_json_value(v)),
        "hidden": lambda t, v, c: setattr(t, "hidden", _bool(v, c)),
    }
    return _decode_struct(obj, ctx, "input.Input", setters, Input())


def decode_variable(obj: Any, ctx: _Ctx) -> Variable:
    setters: dict[str, FieldSetter] = {
        "name": lambda t, v, c: setattr(t, "name", _string(v, c)),
        "expression": lambda t, v, c: setattr(t, "expression", _string(v, c)),
        "expression_timeout": lambda t, v, c: setattr(t, "expression_timeout", _string(v, c)),
        "value": lambda t, v, c: setattr(t, "value", to_json_value(v)),
    }
    return _decode_struct(obj, ctx, "values.Variable", setters, Variable())


def _list_of(decoder: Callable[[Any, _Ctx], Any], go_type: str) -> Callable[[Any, _Ctx], list[Any]]:
    def decode(v: Any, c: _Ctx) -> list[Any]:
        if v is None:
            return []
        if not isinstance(v, list):
            raise c.error(v, go_type)
        return [decoder(x, c) for x in v]

    return decode


_inputs = _list_of(decode_input, "[]input.Input")
_variables = _list_of(decode_variable, "[]values.Variable")


def _steps(v: Any, c: _Ctx) -> dict[str, Step]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise c.error(v, "map[string]*step.Step")
    return {str(k): decode_step(v[k], c) for k in sorted(v, key=str)}


def _base_configurations(v: Any, c: _Ctx) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise c.error(v, "map[string]json.RawMessage")
    return to_json_value(v)


def _result_format(v: Any, c: _Ctx) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise c.error(v, "map[string]interface {}")
    return to_json_value(v)


def decode_template(obj: Any) -> TaskTemplate:
    """A TaskTemplate from parsed YAML (or JSON) — not yet normalised nor validated."""
    ctx = _Ctx("TaskTemplate", "")

    def s(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _string(v, c, getattr(t, name)))

    def ps(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _opt_string(v, c, getattr(t, name)))

    def b(name: str) -> FieldSetter:
        return lambda t, v, c: setattr(t, name, _bool(v, c, getattr(t, name)))

    setters: dict[str, FieldSetter] = {
        "name": s("name"),
        "description": s("description"),
        "long_description": ps("long_description"),
        "doc_link": ps("doc_link"),
        "title_format": s("title_format"),
        "result_format": lambda t, v, c: setattr(t, "result_format", _result_format(v, c)),
        "allowed_resolver_groups": lambda t, v, c: setattr(t, "allowed_resolver_groups", _str_list(v, c)),
        "allowed_resolver_usernames": lambda t, v, c: setattr(t, "allowed_resolver_usernames", _str_list(v, c)),
        "allow_all_resolver_usernames": b("allow_all_resolver_usernames"),
        "auto_runnable": b("auto_runnable"),
        "blocked": b("blocked"),
        "hidden": b("hidden"),
        "retry_max": lambda t, v, c: setattr(t, "retry_max", _int(v, c, "int", t.retry_max)),
        "allow_task_start_over": b("allow_task_start_over"),
        "inputs": lambda t, v, c: setattr(t, "inputs", _inputs(v, c)),
        "resolver_inputs": lambda t, v, c: setattr(t, "resolver_inputs", _inputs(v, c)),
        "variables": lambda t, v, c: setattr(t, "variables", _variables(v, c)),
        "tags": lambda t, v, c: setattr(t, "tags", _str_map(v, c)),
        "steps": lambda t, v, c: setattr(t, "steps", _steps(v, c)),
        "base_configurations": lambda t, v, c: setattr(t, "base_configurations", _base_configurations(v, c)),
    }
    if obj is None:
        return TaskTemplate()
    if not isinstance(obj, dict):
        raise DecodeError(
            f"json: cannot unmarshal {_json_kind(obj)} into Go value of type tasktemplate.TaskTemplate"
        )
    return _decode_struct(obj, ctx, "TaskTemplate", setters, TaskTemplate())


def decode_function(obj: Any) -> Function:
    """A Function from parsed YAML."""
    ctx = _Ctx("Function", "")
    setters: dict[str, FieldSetter] = {
        "name": lambda t, v, c: setattr(t, "name", _string(v, c)),
        "action": lambda t, v, c: setattr(t, "action", Executor() if v is None else _wrap_executor(v, c)),
        "pre_hook": lambda t, v, c: setattr(t, "pre_hook", None if v is None else _wrap_executor(v, c)),
        "conditions": lambda t, v, c: setattr(t, "conditions", _conditions(v, c)),
        "custom_states": lambda t, v, c: setattr(t, "custom_states", _str_list(v, c)),
    }
    if obj is None:
        return Function()
    if not isinstance(obj, dict):
        raise DecodeError(f"json: cannot unmarshal {_json_kind(obj)} into Go value of type functions.Function")
    return _decode_struct(obj, ctx, "Function", setters, Function())
