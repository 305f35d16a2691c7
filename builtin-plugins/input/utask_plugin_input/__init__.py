"""The input action plugin: a manual-input step (a human answers a form in the middle of a resolution).

Configuration: `inputs` (the same definitions as template inputs, §2.1, checked at template load with the
same rules and messages, §2.2), `message`, `allowed_usernames`, `allowed_groups`. The step waits
(WAITING) with its form as metadata:

    {"message": ..., "inputs": [...], "allowed_usernames": [...], "allowed_groups": [...]}

`POST /resolution/:id/step/:stepName/input` with `{"values": {...}}` (from an allowed user, a resolution
manager or an admin) validates the values like task inputs, records them in the step's metadata
(`answer: {values, answered_by}`) and resumes the resolution at once. The step then runs again: its
context (rendered by the engine from the step's own metadata) carries the answer, and the step completes
with the values as its output, so the step's conditions, output strategy and json_schema apply to the
answer like to any output (e.g. a `check` condition turning a "reject" into a custom state).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, Result, WaitingError, hookimpl, protocol

INPUT_TYPES = ("string", "password", "bool", "number")
MAX_TEXT_SIZE_LONG = 100000
WAITING_MESSAGE = "step is waiting for a manual input"


@dataclass
class InputDefinition:
    name: str = ""
    description: str = ""
    regex: str | None = None
    legal_values: list[Any] | None = None
    collection: bool = False
    type: str = ""
    optional: bool = False
    default: Any = None
    hidden: bool = False


@dataclass
class InputConfig:
    inputs: list[InputDefinition] = field(default_factory=list)
    message: str = ""
    allowed_usernames: list[str] | None = None
    allowed_groups: list[str] | None = None


# -- §2.2 definition checks (the messages of utask.core.templates.inputs) ------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def format_v(v: Any) -> str:
    """Go's `%v` of a decoded JSON value."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_number(v):
        return str(v)
    if isinstance(v, list):
        return "[" + " ".join(format_v(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{format_v(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def check_type(d: InputDefinition, v: Any) -> None:
    if v is None:
        return
    if d.type in ("string", "password", ""):
        if not isinstance(v, str):
            raise ConfigError(f"Invalid value '{d.name}': expected a string")
    elif d.type == "bool":
        if not isinstance(v, bool):
            raise ConfigError(f"Invalid value '{d.name}': expected a boolean")
    elif d.type == "number" and not _is_number(v):
        raise ConfigError(f"Invalid value '{d.name}': expected a number")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if _is_number(a) and _is_number(b):
        return str(a) == str(b)  # exact texts, like json.Number
    return False


def _check_single(d: InputDefinition, v: Any) -> None:
    check_type(d, v)
    text = format_v(v)
    if len(text.encode()) > MAX_TEXT_SIZE_LONG:
        raise ConfigError(f"Invalid input '{d.name}': value can't be longer than {MAX_TEXT_SIZE_LONG}")
    if d.legal_values:
        if not any(_equal(legal, v) for legal in d.legal_values):
            raise ConfigError(f"Invalid input '{d.name}': '{text}' is not a legal value ({format_v(d.legal_values)})")
    elif d.regex is not None:
        if re.search(d.regex, text) is None:
            raise ConfigError(f"Invalid input '{d.name}': '{text}' doesnt comply with regex '{d.regex}'")
    elif '"' in text:
        raise ConfigError(f"Invalid input '{d.name}': cannot contain double quotes")


def check_value(d: InputDefinition, v: Any) -> None:
    if v is None:
        return
    if d.collection:
        if not isinstance(v, list):
            raise ConfigError(f"Input '{d.name}' is expected to be an array")
        for x in v:
            _check_single(d, x)
    else:
        _check_single(d, v)


def validate_definition(d: InputDefinition) -> None:
    if d.regex is not None:
        if d.legal_values:
            raise ConfigError(f"Invalid input '{d.name}': both regex and legal value list configured")
        try:
            re.compile(d.regex)
        except re.error:
            raise ConfigError(f"Invalid regex for input '{d.name}'") from None
    if d.type and d.type not in INPUT_TYPES:
        raise ConfigError(f"Invalid input type '{d.type}': must be either [string password bool number]")
    for legal in d.legal_values or []:
        check_type(d, legal)
    check_type(d, d.default)
    check_value(d, d.default)


def _definition_json(d: InputDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"name": d.name, "description": d.description}
    if d.regex is not None:
        out["regex"] = d.regex
    if d.legal_values:
        out["legal_values"] = d.legal_values
    out["collection"] = d.collection
    if d.type:
        out["type"] = d.type
    out["optional"] = d.optional
    out["default"] = d.default
    out["hidden"] = d.hidden
    return out


class Input(ActionPlugin):
    name = "input"
    version = "0.1"
    config_model = InputConfig

    def validate(self, config: InputConfig) -> None:
        if not config.inputs:
            raise ConfigError("at least one input is required", field="inputs")
        seen: set[str] = set()
        for d in config.inputs:
            if d.name == "":
                raise ConfigError("an input has no name", field="inputs")
            if d.name in seen:
                raise ConfigError(f"input '{d.name}' defined twice", field="inputs")
            seen.add(d.name)
            validate_definition(d)

    def context(self, step_name: str) -> dict[str, Any]:
        # The answer the server recorded in this step's metadata, as base64 of its JSON (safe inside the
        # JSON text the engine renders the context in).
        return {"answer": (f"{{{{ if (index .step `{step_name}`) }}}}{{{{ with (index .step `{step_name}` `metadata`) }}}}"
                           "{{ with .answer }}{{ . | toJson | b64enc }}{{ end }}{{ end }}{{ end }}")}

    def execute(self, ctx: Any, config: InputConfig) -> Any:
        self.validate(config)  # the rendered configuration may differ from the one checked at load
        form = {
            "message": config.message,
            "inputs": [_definition_json(d) for d in config.inputs],
            "allowed_usernames": list(config.allowed_usernames or []),
            "allowed_groups": list(config.allowed_groups or []),
        }
        encoded = str((ctx.context or {}).get("answer") or "")
        if encoded:
            answer = protocol.loads(base64.b64decode(encoded))  # exact numbers, as the server validated them
            return Result(output=answer.get("values"), metadata={**form, "answered_by": answer.get("answered_by")})
        raise WaitingError(WAITING_MESSAGE, metadata=form)


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Input()]
