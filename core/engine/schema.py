"""Output validation against a step's `json_schema` (reference §5.10)."""

from __future__ import annotations

from typing import Any

import jsonschema

_DRAFTS = {
    "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
    "http://json-schema.org/draft-06/schema#": jsonschema.Draft6Validator,
    "http://json-schema.org/draft-04/schema#": jsonschema.Draft4Validator,
}
_VERSIONS = {4: "http://json-schema.org/draft-04/schema#", 6: "http://json-schema.org/draft-06/schema#",
             7: "http://json-schema.org/draft-07/schema#"}

_cache: dict[int, tuple[Any, Any]] = {}


def normalise_schema(schema: Any) -> Any:
    """Load-time normalisation: `version` (4, 6, 7) → `$schema`, default draft-07."""
    if not isinstance(schema, dict) or "$schema" in schema:
        return schema
    out = dict(schema)
    version = out.pop("version", None)
    try:
        key = int(float(str(version))) if version is not None and float(str(version)).is_integer() else None
    except ValueError:
        key = None
    out["$schema"] = _VERSIONS.get(key, _VERSIONS[7])
    return out


def _plain(value: Any) -> Any:
    """JSONNumber (exact text) → int/float so the validator sees numbers."""
    from utask.core.gojson import JSONNumber

    if isinstance(value, JSONNumber):
        text = str(value)
        try:
            return int(text)
        except ValueError:
            return float(text)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def validate_output(step_name: str, schema: Any, output: Any) -> str | None:
    """None when valid (or no schema), else the validation message."""
    if schema is None:
        return None
    cached = _cache.get(id(schema))
    if cached is None or cached[0] is not schema:
        if not isinstance(schema, dict | bool):
            return None
        cls = _DRAFTS.get(schema.get("$schema", "") if isinstance(schema, dict) else "", jsonschema.Draft7Validator)
        cached = (schema, cls(_plain(schema)))
        _cache[id(schema)] = cached
    validator = cached[1]
    errors = sorted(validator.iter_errors(_plain(output)), key=lambda e: list(e.absolute_schema_path))
    if not errors:
        return None
    # santhosh-tekuri/jsonschema's text: the top error, then one indented line per cause.
    lines = [f'I[#] S[#] doesn\'t validate with "{step_name}#"']
    for err in errors:
        lines.append("  " + _cause(err))
    return "\n".join(lines)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _cause(err: Any) -> str:
    instance = "#" + "".join(f"/{p}" for p in err.absolute_path)
    schema_path = "#" + "".join(f"/{p}" for p in err.absolute_schema_path)
    if err.validator == "required":
        present = err.instance if isinstance(err.instance, dict) else {}
        missing = [name for name in err.validator_value if name not in present]
        message = "missing properties: " + ", ".join(f'"{m}"' for m in missing)
    elif err.validator == "type":
        expected = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        message = f"expected {expected}, but got {_json_type(err.instance)}"
    else:
        message = err.message
    return f"I[{instance}] S[{schema_path}] {message}"
