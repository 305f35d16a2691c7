"""Per-instance resource semaphores (reference §5.13): `resource_limits`, dead resources, acquire timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

DEFAULT_ACQUIRE_TIMEOUT = 60.0  # `resource_acquire_timeout` default: 1m


class ResourceLimiter:
    """Counting semaphores by label; a label without a limit is unlimited, a limit of 0 is a dead resource."""

    def __init__(self, limits: Mapping[str, int] | None = None, acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT):
        self.limits = dict(limits or {})
        self.acquire_timeout = acquire_timeout
        self._sems: dict[str, asyncio.Semaphore] = {}

    def _sem(self, label: str) -> asyncio.Semaphore | None:
        limit = self.limits.get(label)
        if limit is None or limit < 0:
            return None
        sem = self._sems.get(label)
        if sem is None:
            sem = self._sems[label] = asyncio.Semaphore(limit)
        return sem

    async def acquire(self, label: str, shutdown: asyncio.Event | None = None) -> bool:
        if self.limits.get(label) == 0:
            return False  # dead resource: fails at once
        sem = self._sem(label)
        if sem is None:
            return True
        if not sem.locked():
            await sem.acquire()
            return True
        if shutdown is not None and shutdown.is_set():
            return False
        waiter = asyncio.ensure_future(sem.acquire())
        waits: set[asyncio.Future] = {waiter}
        stopper = None
        if shutdown is not None:
            stopper = asyncio.ensure_future(shutdown.wait())
            waits.add(stopper)
        done, _ = await asyncio.wait(waits, timeout=self.acquire_timeout, return_when=asyncio.FIRST_COMPLETED)
        if stopper is not None and not stopper.done():
            stopper.cancel()
        if waiter in done:
            return True
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        if waiter.done() and not waiter.cancelled():
            sem.release()  # acquired while being cancelled
        return False

    def release(self, label: str) -> None:
        sem = self._sems.get(label)
        if sem is not None:
            sem.release()

    async def acquire_all(self, labels: Iterable[str], shutdown: asyncio.Event | None = None) -> bool:
        """Acquire in the given (sorted) order; on failure release what was taken and return False."""
        taken: list[str] = []
        for label in labels:
            if not await self.acquire(label, shutdown):
                for t in reversed(taken):
                    self.release(t)
                return False
            taken.append(label)
        return True

    def release_all(self, labels: Iterable[str]) -> None:
        for label in labels:
            self.release(label)


def resource_list(plugin_resources: Iterable[str] | None, step_resources: Iterable[str] | None) -> list[str]:
    """Plugin-declared + step resources, de-duplicated and sorted."""
    return sorted(set(plugin_resources or ()) | set(step_resources or ()))
