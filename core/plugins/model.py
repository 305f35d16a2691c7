"""The host's public value types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

STEP_FAILURE_KINDS = ("client", "server", "fatal", "waiting", "retry")


@dataclass(frozen=True)
class StepFailure:
    kind: str  # client | server | fatal | waiting | retry
    message: str


@dataclass
class ExecutionResult:
    output: Any = None
    metadata: Any = None
    tags: dict[str, str] = field(default_factory=dict)
    error: StepFailure | None = None
    # The step's log lines: ctx.logger's, then stdout/stderr's prefixed "OUTPUT " (also those written before
    # the sandbox killed the execution); `logs_dropped` counts the earlier ones left out (the SDK keeps the
    # last 1000 logger lines, the output's last 64 KiB).
    logs: list[str] = field(default_factory=list)
    logs_dropped: int = 0


@dataclass(frozen=True)
class ExecutionIdentity:
    """Who an execution acts as; host calls are checked against it, never against what the plugin says."""

    task_id: str
    resolution_id: str
    step_name: str
    template_name: str = ""
    requester: str = ""
    resolver: str = ""

    def to_dict(self) -> dict[str, Any]:
        # Built by hand: `dataclasses.asdict` deep-copies, a cost paid on every execution.
        return {"task_id": self.task_id, "resolution_id": self.resolution_id, "step_name": self.step_name,
                "template_name": self.template_name, "requester": self.requester, "resolver": self.resolver}


class PluginConfigError(Exception):
    """A configuration the plugin refuses (template load); `str()` is the plugin's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PluginRefusedError(Exception):
    """At start-up: plugins that cannot run (incompatible protocol, required layer missing, load error)."""

    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = dict(refused)
        super().__init__("; ".join(f"plugin {name!r} refused: {why}" for name, why in sorted(refused.items())))


class HostCallError(Exception):
    """Raised by a host-call handler to fail the call with a step-failure kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind if kind in STEP_FAILURE_KINDS else "server"
        self.message = message


HostCallHandler = Callable[[ExecutionIdentity, str, dict[str, Any]], Awaitable[Any]]
