"""Prometheus metrics (reference §13 plus ours), registered once, in core: the engine and the plugin host feed them, the API exposes them.

    from utask.core.metrics import METRICS
    METRICS.step_executions.labels(plugin="echo", state="DONE").inc()
    METRICS.run_duration.labels(template="hello").observe(seconds)
    METRICS.sandbox_kills.labels(limit="memory").inc()

`utask_task_state{status,template,group}` is refreshed from the database (µTask: every 5 s) by
`refresh_task_states`, called by `/metrics` when the last refresh is older than the interval, so an
idle server issues no query. Gauges are never removed, as in µTask.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client import generate_latest as _generate
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# The states µTask always publishes (0 when absent) for every (group, template) seen.
ALWAYS_PUBLISHED = ("TODO", "BLOCKED", "RUNNING", "WONTFIX", "DONE", "CANCELLED")
REFRESH_INTERVAL = 5.0


@dataclass
class Metrics:
    registry: CollectorRegistry
    task_state: Gauge
    valid_times: Summary
    complete_times: Summary
    exec_times: Summary
    step_executions: Counter
    run_duration: Histogram
    sandbox_kills: Counter
    claims: Counter
    _last_refresh: float = field(default=0.0)

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        if registry is None:
            # The default registry carries the process/platform collectors (µTask: Go/process collectors).
            from prometheus_client import REGISTRY

            registry = REGISTRY
        return cls(
            registry=registry,
            task_state=Gauge("utask_task_state", "Tasks by state, template and resolver group",
                             ["status", "template", "group"], registry=registry),
            valid_times=Summary("utask_valid_times", "Seconds between task creation and resolution creation",
                                ["template"], registry=registry),
            complete_times=Summary("utask_complete_times", "Seconds between task creation and DONE",
                                   ["template"], registry=registry),
            exec_times=Summary("utask_exec_times", "Seconds between resolution creation and DONE",
                               ["template"], registry=registry),
            step_executions=Counter("utask_step_executions", "Step executions by action plugin and resulting state",
                                    ["plugin", "state"], registry=registry),
            run_duration=Histogram("utask_run_duration_seconds", "Duration of one run of a resolution",
                                   ["template"], registry=registry,
                                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                            300, float("inf"))),
            sandbox_kills=Counter("utask_sandbox_kills", "Sandboxed executions killed, by the limit they hit",
                                  ["limit"], registry=registry),
            claims=Counter("utask_collector_claims", "Resolutions this instance claimed, by collector (autorun, "
                           "retry, crashed: recollected from a dead instance)", ["collector"], registry=registry),
        )

    def set_task_states(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows of (group_name, state, template, state_count) → the gauge, µTask's publishing rules."""
        seen: dict[tuple[str, str], dict[str, float]] = {}
        for r in rows:
            key = (r["group_name"] or "", r["template"] or "")
            counts = seen.setdefault(key, dict.fromkeys(ALWAYS_PUBLISHED, 0.0))
            counts[r["state"]] = float(r["state_count"])
        for (group, template), counts in seen.items():
            for state, n in counts.items():
                self.task_state.labels(status=state, template=template, group=group).set(n)

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return now - self._last_refresh >= REFRESH_INTERVAL

    def mark_refreshed(self, now: float | None = None) -> None:
        self._last_refresh = time.monotonic() if now is None else now

    def exposition(self) -> tuple[bytes, str]:
        return _generate(self.registry), CONTENT_TYPE_LATEST


METRICS = Metrics.create()
