"""The plugin host: pluggy discovery, sandboxed warm workers, the wire protocol, host calls."""

from .host import PluginHost
from .manager import ENTRY_POINT_GROUP, PluginEntry, PluginLoadError, action_plugins, build_manager
from .model import (
    ExecutionIdentity,
    ExecutionResult,
    HostCallError,
    HostCallHandler,
    PluginConfigError,
    PluginRefusedError,
    StepFailure,
)
from .wire import PROTOCOL_VERSION

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROTOCOL_VERSION",
    "ExecutionIdentity",
    "ExecutionResult",
    "HostCallError",
    "HostCallHandler",
    "PluginConfigError",
    "PluginEntry",
    "PluginHost",
    "PluginLoadError",
    "PluginRefusedError",
    "StepFailure",
    "action_plugins",
    "build_manager",
]
