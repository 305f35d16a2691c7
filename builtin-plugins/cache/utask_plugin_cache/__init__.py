"""The cache action plugin (reference §10.13): a global key/value store shared by every task.

Values are kept as JSON on the server, unencrypted, with an optional time to live; the plugin reaches them
through the `cache.set` / `cache.get` / `cache.delete` host calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ClientError, ConfigError, hookimpl
from utask_sdk.goconv import go_quote


@dataclass
class CacheConfig:
    action: str = ""
    key: str = ""
    value: Any = None
    ttl: int = 0  # seconds; 0 = no expiry


class Cache(ActionPlugin):
    name = "cache"
    version = "0.1"
    config_model = CacheConfig

    def validate(self, config: CacheConfig) -> None:
        if config.key == "":
            raise ConfigError(f"missing required parameter {go_quote('key')}")
        if config.action not in ("set", "get", "delete"):
            raise ConfigError(f'invalid action {go_quote(config.action)}: expected "set", "get", or "delete"')

    def execute(self, ctx: Any, config: CacheConfig) -> Any:
        if config.action == "set":
            ctx.host.call("cache.set", key=config.key, value=config.value, ttl=config.ttl or None)
            return {"key": config.key, "cached": True}
        if config.action == "get":
            got = ctx.host.call("cache.get", key=config.key)
            return {"key": config.key, "hit": bool(got.get("hit")), "value": got.get("value")}
        if config.action == "delete":
            ctx.host.call("cache.delete", key=config.key)
            return {"key": config.key, "deleted": True}
        raise ClientError(f"invalid action {go_quote(config.action)}")


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Cache()]
