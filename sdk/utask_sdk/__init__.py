"""The µTask for Python plugin SDK: everything a plugin author needs.

    from utask_sdk import ActionPlugin, hookimpl, ClientError

    class Hello(ActionPlugin):
        name = "hello"
        version = "1.0.0"

        def execute(self, ctx, config):
            return {"greeting": "hi " + config["who"]}

    @hookimpl
    def utask_action_plugins():
        return [Hello()]

See sdk/README.md for the whole contract.
"""

from .context import Context, HostCalls
from .errors import (
    ClientError,
    ConfigError,
    FatalError,
    PluginError,
    RetryError,
    ServerError,
    WaitingError,
)
from .hookspecs import hookimpl, hookspec
from .plugin import ActionPlugin, Result, SandboxProfile
from .protocol import PROTOCOL_VERSION

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION",
    "ActionPlugin",
    "ClientError",
    "ConfigError",
    "Context",
    "FatalError",
    "HostCalls",
    "PluginError",
    "Result",
    "RetryError",
    "SandboxProfile",
    "ServerError",
    "WaitingError",
    "hookimpl",
    "hookspec",
]
