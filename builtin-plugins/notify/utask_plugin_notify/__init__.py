"""The notify action plugin (reference §10.5): sends a message to the server's notification backends.

Config: `message`, `fields` (map string→string), `backends` (backend names; empty = all). The backends
and their secrets live in the server, so the plugin hands the message over with the `notify.send` host
call. Deliberate fix (DESIGN §6): µTask's plugin never delivers (its message has no notification type,
which every backend's strategy drops) and its backend-name check is broken; here the message really goes
to the named backends with strategy `always`, and unknown names are refused at template load. Always
succeeds with null output and metadata.

The server passes the configured backend names as the plugin setting `backends`; without it (a templates
check with no server configuration) names cannot be checked at load and are checked when the step runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, Result, hookimpl


@dataclass
class NotifyConfig:
    message: str = ""
    fields: dict[str, str] | None = None
    backends: list[str] | None = None


class Notify(ActionPlugin):
    name = "notify"
    version = "0.1"
    config_model = NotifyConfig
    default_settings = {"backends": None}  # noqa: RUF012 - set by the server: the notify_config names

    def validate(self, config: NotifyConfig) -> None:
        known = self.settings.get("backends")
        if not config.backends or known is None:
            return
        available = sorted(str(n) for n in known)
        if not available:
            raise ConfigError("registered notify senders list is empty")
        for backend in config.backends:
            # A templated name is only known once rendered: the server checks it when the step runs.
            if "{{" in backend:
                continue
            if backend not in available:
                raise ConfigError(f"can't find backend name: {backend}. Available backends: {', '.join(available)}")

    def execute(self, ctx: Any, config: NotifyConfig) -> Result:
        ctx.host.call("notify.send", message=config.message, fields=dict(config.fields or {}),
                      backends=list(config.backends or []))
        return Result(output=None, metadata=None)


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Notify()]
