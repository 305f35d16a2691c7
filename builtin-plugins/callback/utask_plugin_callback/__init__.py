"""The callback action plugin (reference §10.12): `create` a callback URL, `wait` until it is called.

The callback row (encrypted secret, schema and body) lives on the server: `create` and `wait` are host
calls (`callback.create`, `callback.get`) made as the task's identity. The unauthenticated route
`POST /unsecured/callback/:id?t=TOKEN` records the body and resumes the task's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ClientError, ConfigError, WaitingError, hookimpl
from utask_sdk.goconv import go_quote


@dataclass
class CallbackConfig:
    action: str = ""
    schema: str = ""  # a JSON-schema text (create)
    id: str = ""  # the callback's id (wait)


class Callback(ActionPlugin):
    name = "callback"
    version = "0.1"
    config_model = CallbackConfig

    def validate(self, config: CallbackConfig) -> None:
        action = config.action.lower()
        if action == "create":
            return
        if action == "wait":
            if config.id == "":
                raise ConfigError(f"missing {go_quote('id')} parameter")
            return
        raise ConfigError(f"invalid action {go_quote(config.action)}")

    def context(self, step_name: str) -> dict[str, Any]:
        return {"task_id": "{{.task.task_id}}", "requester_username": "{{.task.requester_username}}",
                "step": step_name}

    def execute(self, ctx: Any, config: CallbackConfig) -> Any:
        action = config.action.lower()
        if action == "create":
            created = ctx.host.create_callback(schema=config.schema, step=ctx.step_name)
            return {"id": created["id"], "url": created["url"], "token": created["token"],
                    "schema": created.get("schema")}
        if action == "wait":
            cb = ctx.host.get_callback(config.id)
            if cb.get("called") is None:
                raise WaitingError("task is waiting for a callback")
            return {"id": cb["id"], "date": cb["called"], "body": cb.get("body")}
        raise ClientError(f"invalid action {go_quote(config.action)}")


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Callback()]
