"""What the engine needs from whoever runs actions (the plugin host), and the error-kind mapping (§5.14).

The engine knows no action type by name: it asks an `ActionExecutor`. `PluginHostExecutor` adapts
`utask.core.plugins.PluginHost`; tests may pass any object with the same four methods.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import states
from .steps import cap_logs

# StepFailure.kind → step state (the one error-to-state mapping of the project).
FAILURE_STATES: dict[str, str] = {
    "client": states.CLIENT_ERROR,
    "waiting": states.WAITING,
    "retry": states.TO_RETRY,
    "server": states.SERVER_ERROR,
    "fatal": states.FATAL_ERROR,
}


def failure_state(kind: str | None) -> str:
    return FAILURE_STATES.get(kind or "server", states.SERVER_ERROR)


class ActionExecutor(Protocol):
    def has(self, action_type: str) -> bool: ...

    async def resources(self, action_type: str, base_config: Any, config: Any) -> list[str]: ...

    def context_template(self, action_type: str, step_name: str) -> dict | None: ...

    async def execute(self, action_type: str, base_config: Any, config: Any, context: Any, identity: Any) -> Any: ...


@dataclass(slots=True)
class Outcome:
    """An execution result in the engine's terms (duck-typed from the host's ExecutionResult)."""

    output: Any = None
    metadata: Any = None
    tags: dict[str, str] | None = None
    error_kind: str | None = None
    error_message: str = ""
    # The execution's log lines, capped (`steps.cap_logs`); None: nothing was executed (the step keeps
    # the lines of its previous execution).
    logs: list[str] | None = None


def to_outcome(result: Any) -> Outcome:
    if isinstance(result, Outcome):
        return result
    error = getattr(result, "error", None)
    kind = None
    message = ""
    if error is not None:
        kind = getattr(error, "kind", None) or "server"
        message = str(getattr(error, "message", error))
    return Outcome(
        output=getattr(result, "output", None),
        metadata=getattr(result, "metadata", None),
        tags=getattr(result, "tags", None),
        error_kind=kind,
        error_message=message,
        logs=cap_logs(getattr(result, "logs", None), _count(getattr(result, "logs_dropped", 0))),
    )


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class PluginHostExecutor:
    """`ActionExecutor` over colleague C's `PluginHost`."""

    def __init__(self, host: Any, host_calls: Any = None,
                 identity_factory: Callable[[str, Any], Any] | None = None) -> None:
        self.host = host
        self.host_calls = host_calls
        self.identity_factory = identity_factory
        self._types: frozenset[str] | None = None
        self._resourceful: dict[str, bool] = {}

    def has(self, action_type: str) -> bool:
        if self._types is None:
            self._types = frozenset(self.host.action_types())
        return action_type in self._types

    async def resources(self, action_type: str, base_config: Any, config: Any) -> list[str]:
        if not self._declares_resources(action_type):
            return []  # spares a worker round trip per execution for plugins without resources (echo, ...)
        return list(await _maybe_await(self.host.resources(action_type, base_config, config)) or [])

    def _declares_resources(self, action_type: str) -> bool:
        cached = self._resourceful.get(action_type)
        if cached is None:
            cached = True
            entry = getattr(self.host, "entries", {}).get(action_type)
            plugin = getattr(entry, "plugin", None)
            if plugin is not None:
                try:
                    from utask_sdk import ActionPlugin

                    cached = type(plugin).resources is not ActionPlugin.resources
                except (ImportError, AttributeError):
                    cached = True
            self._resourceful[action_type] = cached
        return cached

    def context_template(self, action_type: str, step_name: str) -> dict | None:
        return self.host.context_template(action_type, step_name)

    async def execute(self, action_type: str, base_config: Any, config: Any, context: Any, identity: Any) -> Any:
        if isinstance(identity, dict):
            from utask.core.plugins import ExecutionIdentity

            identity = ExecutionIdentity(**identity)
        kwargs: dict[str, Any] = {"base_config": base_config, "config": config, "context": context,
                                  "identity": identity}
        if self.host_calls is not None:
            kwargs["host_calls"] = self.host_calls
        return await self.host.execute(action_type, **kwargs)
