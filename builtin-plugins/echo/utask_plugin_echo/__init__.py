"""The echo action plugin (reference §10.1): returns its configuration's `output` and `metadata`,
optionally parsing `output` as YAML/JSON, optionally failing with a chosen error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from utask_sdk import ActionPlugin, ClientError, ConfigError, Result, ServerError, hookimpl


@dataclass
class EchoConfig:
    output: Any = None
    metadata: dict[str, Any] | None = None  # a map: merged key by key over the base configuration
    unmarshal: bool = False
    error_message: str = ""
    error_type: str = ""


class Echo(ActionPlugin):
    name = "echo"
    version = "0.1"
    config_model = EchoConfig

    def validate(self, config: EchoConfig) -> None:
        if config.error_type not in ("", "client", "server"):
            raise ConfigError("Wrong error type: expecting 'client' or 'server'")

    def execute(self, ctx: Any, config: EchoConfig) -> Result:
        output = config.output
        if config.unmarshal:
            if not isinstance(output, str):
                raise ServerError(f"cannot unmarshal: invalid data type ({_go_type(output)})")
            try:
                output = yaml.safe_load(output)
            except yaml.YAMLError as err:
                raise ServerError(f"failed to unmarshal output: {_yaml_message(err)}") from None
        if config.error_message:
            error = ClientError if config.error_type == "client" else ServerError
            raise error(config.error_message, output=output, metadata=config.metadata)
        return Result(output=output, metadata=config.metadata)


def _go_type(value: Any) -> str:
    """The Go dynamic type name µTask prints (its configuration is decoded into interface{})."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "json.Number"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return type(value).__name__


def _yaml_message(err: yaml.YAMLError) -> str:
    return " ".join(str(err).split())


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Echo()]
