"""JSON schemas of template and function files, for editors (YAML language servers, IDEs).

Generated from the model dataclasses (field names, Python types, defaults) plus the enumerations the
validator enforces, so they cannot drift from what the loader reads. They describe what is *written*
in a file: runtime-only step fields are left out, and scalars accepted by Go's string conversion
(`value: 404`) are allowed where a string is expected.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from utask.core.templates import models
from utask.core.templates.inputs import INPUT_TYPES
from utask.core.templates.models import OUTPUT_STRATEGIES
from utask.core.templates.validate import RETRY_PATTERNS

SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"

# attribute name → key in the files, where they differ
_JSON_NAMES = {"if_": "if"}
# fields that exist only at runtime (refused by validation) or are loader bookkeeping
_SKIP = {
    "Step": {"name", "output", "metadata", "children", "error", "state", "try_count", "last_run",
             "children_steps", "children_steps_map", "item", "tags"},
    "Function": {"file_name", "args"},
}
_ENUMS: dict[tuple[str, str], list[str]] = {
    ("Output", "strategy"): list(OUTPUT_STRATEGIES),
    ("Condition", "type"): ["skip", "check"],
    ("Condition", "foreach"): ["", "children", "parent"],
    ("Input", "type"): ["", *INPUT_TYPES],
    ("Step", "retry_pattern"): list(RETRY_PATTERNS),
    ("Step", "foreach_strategy"): ["", "parallel", "sequence"],
}
_DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("TaskTemplate", "name"): "Unique name (trimmed and lower-cased at load), 3..1000 bytes.",
    ("TaskTemplate", "title_format"): "Templated task title, 3..1000 bytes.",
    ("TaskTemplate", "result_format"): "Templated map that becomes the task result when the resolution is DONE.",
    ("TaskTemplate", "retry_max"): "Maximum number of runs of a resolution (default 100).",
    ("TaskTemplate", "base_configurations"): "Reusable action configurations, referenced by `base_configuration`.",
    ("Step", "execution_delay"): "Delay before execution, in nanoseconds, between 0 and 20s.",
    ("Step", "max_retries"): "0 means 10000; negative means unlimited.",
    ("Step", "dependencies"): "`step`, `step:STATE`, `step:S1,S2` or `step:ANY`.",
    ("Step", "json_schema"): "JSON schema of the output; `version: 4|6|7` selects the draft when `$schema` is absent.",
    ("Executor", "type"): "Action plugin name or function name.",
    ("Executor", "configuration"): "Plugin configuration (raw; string values may be templates).",
    ("Executor", "base_output"): "Deprecated: same as output {strategy: merge, format: ...}.",
    ("Assert", "operator"): "EQ NE GT LT GE LE REGEXP NOTREGEXP IN NOTIN (case-insensitive).",
}

_SCALAR_AS_STRING = {"type": ["string", "number", "boolean", "null"]}


def _type_schema(tp: Any, owner: str, name: str) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        inner = _type_schema(non_none[0], owner, name) if len(non_none) == 1 else {}
        return inner
    if tp is str:
        schema: dict[str, Any] = dict(_SCALAR_AS_STRING)
        enum = _ENUMS.get((owner, name))
        if enum is not None:
            schema = {"type": "string", "enum": enum}
        return schema
    if tp is bool:
        return {"type": ["boolean", "null"]}
    if tp is int:
        return {"type": ["integer", "null"]}
    if origin is list:
        return {"type": ["array", "null"], "items": _type_schema(args[0], owner, name) if args else {}}
    if origin is dict:
        return {"type": ["object", "null"], "additionalProperties": _type_schema(args[1], owner, name) if args else {}}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return {"$ref": f"#/definitions/{tp.__name__}"}
    return {}  # free JSON


def _definition(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, vars(models))
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in _SKIP.get(cls.__name__, set()):
            continue
        key = _JSON_NAMES.get(f.name, f.name)
        schema = _type_schema(hints[f.name], cls.__name__, f.name)
        desc = _DESCRIPTIONS.get((cls.__name__, f.name))
        if desc:
            schema = {**schema, "description": desc}
        if f.default is not dataclasses.MISSING and f.default is not models.UNSET and f.default not in (None, ""):
            schema = {**schema, "default": f.default}
        props[key] = schema
    return {"type": "object", "properties": props}


def _definitions() -> dict[str, Any]:
    return {
        cls.__name__: _definition(cls)
        for cls in (models.Output, models.Executor, models.Assert, models.Condition, models.Step,
                    models.Input, models.Variable)
    }


def template_schema() -> dict[str, Any]:
    """JSON schema of a task template file."""
    root = _definition(models.TaskTemplate)
    root["required"] = ["name", "description", "title_format", "steps"]
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": "https://utask.example/schemas/template.json",
        "title": "µTask task template",
        **root,
        "definitions": _definitions(),
    }


def function_schema() -> dict[str, Any]:
    """JSON schema of a function file (`description` is accepted and ignored, like µTask)."""
    root = _definition(models.Function)
    root["properties"]["description"] = {"type": "string"}
    root["required"] = ["name", "action"]
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": "https://utask.example/schemas/function.json",
        "title": "µTask function",
        **root,
        "definitions": _definitions(),
    }

