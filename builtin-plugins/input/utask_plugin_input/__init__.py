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
from dataclasses import dataclass, field
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, Result, WaitingError, hookimpl, protocol
from utask_sdk.inputs import InputDefinition, InputError, validate_definition

WAITING_MESSAGE = "step is waiting for a manual input"


@dataclass
class InputConfig:
    inputs: list[InputDefinition] = field(default_factory=list)
    message: str = ""
    allowed_usernames: list[str] | None = None
    allowed_groups: list[str] | None = None


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
            try:
                validate_definition(d)  # the server's own checks of template inputs (utask_sdk.inputs)
            except InputError as e:
                raise ConfigError(str(e)) from None

    def context(self, step_name: str) -> dict[str, Any]:
        # The answer the server recorded in this step's metadata, as base64 of its JSON (safe inside the
        # JSON text the engine renders the context in).
        return {"answer": (f"{{{{ if (index .step `{step_name}`) }}}}{{{{ with (index .step `{step_name}` `metadata`) }}}}"
                           "{{ with .answer }}{{ . | toJson | b64enc }}{{ end }}{{ end }}{{ end }}")}

    def execute(self, ctx: Any, config: InputConfig) -> Any:
        self.validate(config)  # the rendered configuration may differ from the one checked at load
        form = {
            "message": config.message,
            "inputs": [d.to_json() for d in config.inputs],
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
