"""Many instances, one database: heartbeat, collectors, LISTEN/NOTIFY, concurrency limits, shutdown (§6.4–§6.6).

Each instance registers a `runner_instance` row and heartbeats it. Four collectors claim work with µTask's
queries (`utask.core.storage.queries.collectors`), each an UPDATE over a `FOR UPDATE SKIP LOCKED`
sub-select so two instances never claim the same resolution:

- autorun: `TO_AUTORUN` resolutions (created by the API);
- retry: `ERROR` / `TO_AUTORUN_DELAYED` whose `next_retry` is due, and woken `WAITING` ones;
- crashed instances: resolutions left by an instance whose heartbeat is older than `dead_after`;
- garbage: finished tasks older than `completed_task_expiration`, orphan batches, and the audit trails of
  deleted tasks once their last event is older than `audit_retention` (ours; 0 keeps them).

Beyond µTask (which only polls, sleeping 0, 1, … 9, then 10 s): writers `NOTIFY utask_work` when they
create or reschedule work, and every instance `LISTEN`s, so an idle instance claims new work within
milliseconds. The notification only wakes the collector up; the claim itself is still the SKIP LOCKED
query, so lost or duplicated notifications are harmless, and the polling sleeper stays as the fallback.
The retry collector also asks the database when the next retry falls due and sleeps exactly until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from utask.core.metrics import METRICS
from utask.core.storage.queries import collectors as cq

from .store import APPLICATION_NAME, Store, utcnow

log = logging.getLogger(__name__)

# Notification payloads (hints for which collector to wake).
WAKE_AUTORUN = "autorun"
WAKE_RETRY = "retry"
WAKE_CRASHED = "crashed"


class ShuttingDown(Exception):
    """Raised by admission waits once the instance is shutting down (µTask: `instance is shutting down`)."""

    def __init__(self) -> None:
        super().__init__("instance is shutting down")


@dataclass
class CollectorConfig:
    heartbeat_interval: float = 30.0  # µTask: 30 s
    dead_after: float = 60.0  # µTask: an instance is dead after 2 × 30 s without heartbeat
    instance_collector_interval: float = 60.0  # µTask: every minute
    delay_between_crashed: float = 1.0  # delay_between_crashed_tasks_resolution
    max_concurrent_executions: int = 100  # -1 unlimited, 0 blocks everything
    max_concurrent_executions_from_crashed: int = 20
    completed_task_expiration: timedelta = timedelta(hours=720)
    audit_retention: timedelta = timedelta(hours=2160)  # 0: audit trails are kept forever
    poll_max_sleep: float = 10.0  # the sleeper's cap (µTask: 10 s)
    poll_step: float = 1.0  # the sleeper's increment (µTask: 1 s)
    grace_period: float = 3.0  # after a shutdown starts, runs stop waiting for outstanding results
    shutdown_wait: float = 5.0  # at most this long for runs to finish
    listen: bool = True  # LISTEN/NOTIFY wake-ups (polling remains the fallback)
    collectors: bool = True  # False in maintenance mode: heartbeat only

    @classmethod
    def from_utask_cfg(cls, cfg: Any, **overrides: Any) -> CollectorConfig:
        """Take µTask's keys from the parsed utask-cfg (`utask.core.config.utask_cfg.UtaskConfig`)."""
        values: dict[str, Any] = {}
        for name in ("max_concurrent_executions", "max_concurrent_executions_from_crashed"):
            if hasattr(cfg, name):
                values[name] = getattr(cfg, name)
        delay = getattr(cfg, "delay_between_crashed_tasks_resolution", None)
        if isinstance(delay, timedelta):
            values["delay_between_crashed"] = delay.total_seconds()
        expiration = getattr(cfg, "completed_task_expiration", None)
        if isinstance(expiration, timedelta):
            values["completed_task_expiration"] = expiration
        retention = getattr(cfg, "audit_retention", None)
        if isinstance(retention, timedelta):
            values["audit_retention"] = retention
        for key, name in (("shutdown_grace_period", "grace_period"), ("shutdown_timeout", "shutdown_wait")):
            value = getattr(cfg, key, None)
            if isinstance(value, timedelta):
                values[name] = value.total_seconds()
        values.update(overrides)
        return cls(**values)


class Semaphore:
    """A counting semaphore where -1 means unlimited and 0 blocks forever (§6.6), aware of shutdown."""

    def __init__(self, size: int, shutdown: asyncio.Event) -> None:
        self.size = size
        self._sem = asyncio.Semaphore(size) if size >= 0 else None
        self._shutdown = shutdown

    async def acquire(self, timeout: float | None = None) -> None:
        if self._sem is None:
            return
        if self._shutdown.is_set():
            raise ShuttingDown()
        acquire = asyncio.ensure_future(self._sem.acquire())
        stop = asyncio.ensure_future(self._shutdown.wait())
        try:
            done, _ = await asyncio.wait({acquire, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if acquire in done:
            return
        acquire.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquire
        # The acquisition may have completed while being cancelled: give the slot back.
        if acquire.done() and not acquire.cancelled() and acquire.exception() is None:
            self._sem.release()
        if self._shutdown.is_set():
            raise ShuttingDown()
        raise TimeoutError("failed to acquire resources")

    def release(self) -> None:
        if self._sem is not None:
            self._sem.release()


class Sleeper:
    """µTask's back-off (0, 1, 2, … up to the cap) that a notification or a found claim cuts short."""

    def __init__(self, step: float, cap: float) -> None:
        self.step = step
        self.cap = cap
        self._count = 0
        self._event = asyncio.Event()

    def delay(self) -> float:
        return min(self._count * self.step, self.cap)

    async def sleep(self, at_most: float | None = None) -> None:
        delay = self.delay()
        if at_most is not None:
            delay = max(0.0, min(delay, at_most))
        self._count += 1
        if delay <= 0 and not self._event.is_set():
            await asyncio.sleep(0)
        elif not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), delay)
        self._event.clear()

    def found(self) -> None:
        """A poll found work: the next poll is immediate."""
        self._count = 0

    def poke(self) -> None:
        """Work was announced: wake up now and poll eagerly again."""
        self._count = 0
        self._event.set()


# A callable that initialises and launches a run (the task service's `run`); it returns once the
# run is started (or refused); `semaphore` is the crashed-instance limit when recollecting.
Resolver = Callable[..., Awaitable[Any]]


class Coordinator:
    """One instance's share of the cluster work: registration, heartbeat, collectors, shutdown."""

    def __init__(self, store: Store, resolve: Resolver, config: CollectorConfig | None = None) -> None:
        self.store = store
        self.resolve = resolve
        self.config = config or CollectorConfig()
        self.shutting_down = asyncio.Event()
        self.grace_over = asyncio.Event()
        self.execution_slots = Semaphore(self.config.max_concurrent_executions, self.shutting_down)
        self.crashed_slots = Semaphore(self.config.max_concurrent_executions_from_crashed, self.shutting_down)
        self.instance_id: int | None = None
        self._tasks: list[asyncio.Task] = []
        self._runs: set[asyncio.Task] = set()
        self._autorun = Sleeper(self.config.poll_step, self.config.poll_max_sleep)
        self._retry = Sleeper(self.config.poll_step, self.config.poll_max_sleep)
        self._instance_wake = asyncio.Event()
        self.listening = asyncio.Event()  # set once LISTEN is active (tests wait for it)
        self.claims = {"autorun": 0, "retry": 0, "crashed": 0}

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> int:
        self.instance_id = await self.store.register_instance()
        spawn = asyncio.get_running_loop().create_task
        self._tasks.append(spawn(self._heartbeat_loop(), name="utask-heartbeat"))
        if self.config.collectors:
            if self.config.listen:
                self._tasks.append(spawn(self._listen_loop(), name="utask-listen"))
            self._tasks.append(spawn(self._autorun_loop(), name="utask-autorun"))
            self._tasks.append(spawn(self._retry_loop(), name="utask-retry"))
            self._tasks.append(spawn(self._instance_loop(), name="utask-instance-collector"))
            self._tasks.append(spawn(self._garbage_loop(), name="utask-garbage"))
        log.info("instance %s started", self.instance_id)
        return self.instance_id

    def track_run(self, task: asyncio.Task) -> None:
        """Runs started by this instance, awaited (up to `shutdown_wait`) at shutdown."""
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def shutdown(self) -> None:
        """§6.5: stop claiming, let runs wind down for the grace period, wait at most `shutdown_wait`."""
        if self.shutting_down.is_set():
            return
        self.shutting_down.set()
        collectors = [t for t in self._tasks if t.get_name() != "utask-heartbeat"]
        for t in collectors:
            t.cancel()
        await asyncio.gather(*collectors, return_exceptions=True)
        runs = set(self._runs)
        grace = asyncio.get_running_loop().call_later(self.config.grace_period, self.grace_over.set)
        finished = True
        if runs:
            _, pending = await asyncio.wait(runs, timeout=self.config.shutdown_wait)
            finished = not pending
        grace.cancel()
        self.grace_over.set()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if finished and self.instance_id is not None:
            # Nothing of ours is left running: let other instances recollect our CRASHED resolutions now
            # instead of waiting for the heartbeat to expire.
            with contextlib.suppress(Exception):
                async with self.store.tx() as tx:
                    await tx.execute(cq.MARK_STOPPED, {"id": self.instance_id})
                    await tx.notify(WAKE_CRASHED)
        log.info("instance %s stopped", self.instance_id)

    # -- heartbeat --------------------------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            try:
                async with self.store.tx() as tx:
                    cur = await tx.execute(cq.HEARTBEAT, {"id": self.instance_id})
                if cur.rowcount == 0:
                    # Another instance found us dead (a pause longer than dead_after) and recollected our
                    # work. Our runs still going stop at their next commit (they are no longer the owners);
                    # we register again, so that what we claim from now on is collected if we die.
                    old = self.instance_id
                    self.instance_id = await self.store.register_instance()
                    log.error("instance %s: runner_instance row gone (declared dead by another instance, its "
                              "work recollected): registered again as instance %s", old, self.instance_id)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the next beat may succeed
                log.warning("heartbeat failed: %s", e)

    # -- LISTEN/NOTIFY ------------------------------------------------------------------------------------------
    async def _listen_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.store.url, autocommit=True,
                                                             application_name=APPLICATION_NAME + " listen")
                try:
                    await conn.execute(cq.LISTEN)
                    self.listening.set()
                    backoff = 0.5
                    # Anything announced while we were not listening is found by this poll.
                    self._autorun.poke()
                    self._retry.poke()
                    async for note in conn.notifies():
                        self._on_notify(note.payload)
                finally:
                    self.listening.clear()
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - polling covers the gap; reconnect with back-off
                log.warning("LISTEN connection lost: %s", e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.config.poll_max_sleep)

    def _on_notify(self, payload: str) -> None:
        if payload == WAKE_AUTORUN:
            self._autorun.poke()
        elif payload == WAKE_RETRY:
            self._retry.poke()
        elif payload == WAKE_CRASHED:
            self._instance_wake.set()
        else:
            self._autorun.poke()
            self._retry.poke()

    # -- claims -----------------------------------------------------------------------------------------------
    async def _claim(self, query: str, **params: Any) -> dict | None:
        async with self.store.tx() as tx:
            return await tx.fetchone(query, {"me": self.instance_id, **params})

    async def claim_autorun(self) -> dict | None:
        return await self._claim(cq.CLAIM_AUTORUN)

    async def claim_retry(self) -> dict | None:
        return await self._claim(cq.CLAIM_RETRY)

    async def claim_crashed(self, dead: int) -> dict | None:
        return await self._claim(cq.CLAIM_CRASHED, dead=dead)

    async def _launch(self, public_id: str, semaphore: Semaphore | None = None, claimed: str | None = None) -> None:
        """Run a claimed resolution; `claimed`: the state the claim left it in, which the run must still find
        (a pause or a cancel between the claim and the run wins)."""
        try:
            await self.resolve(public_id, semaphore=semaphore, claimed=claimed)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - µTask ignores Resolve errors in collectors
            log.info("collected resolution %s not run: %s", public_id, e)

    async def _poll_loop(self, sleeper: Sleeper, claim: Callable[[], Awaitable[dict | None]], kind: str,
                         due: Callable[[], Awaitable[float | None]] | None = None) -> None:
        found = False
        while not self.shutting_down.is_set():
            at_most = await due() if due is not None else None
            if at_most is not None and not found:
                # A due row another instance holds locked (SKIP LOCKED) must not make us spin.
                at_most = max(at_most, 0.05)
            await sleeper.sleep(at_most)
            if self.shutting_down.is_set():
                return
            try:
                row = await claim()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - keep polling
                log.warning("%s collector: %s", kind, e)
                continue
            found = row is not None
            if row is not None:
                sleeper.found()
                self.claims[kind] += 1
                METRICS.claims.labels(collector=kind).inc()
                await self._launch(row["public_id"], claimed=row.get("state"))

    async def _autorun_loop(self) -> None:
        await self._poll_loop(self._autorun, self.claim_autorun, "autorun")

    async def _retry_due(self) -> float | None:
        try:
            async with self.store.tx() as tx:
                row = await tx.fetchone(cq.NEXT_RETRY_DUE)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - fall back to the plain sleeper
            return None
        when = row["min"] if row else None
        if when is None:
            return None
        # A small margin: the claim compares with the database's now(), which must be past next_retry.
        return max(0.0, (when - utcnow()).total_seconds() + 0.005)

    async def _retry_loop(self) -> None:
        await self._poll_loop(self._retry, self.claim_retry, "retry", due=self._retry_due)

    # -- crashed instances ----------------------------------------------------------------------------------------
    async def collect_crashed(self) -> int:
        """One pass of µTask's instance collector; returns the number of resolutions recollected."""
        async with self.store.tx() as tx:
            dead = await tx.fetchall(cq.LIST_DEAD_INSTANCES,
                                     {"dead_after": self.config.dead_after, "me": self.instance_id})
            dead += await tx.fetchall(cq.LIST_ORPHAN_INSTANCES, {"me": self.instance_id})
        collected = 0
        for inst in dead:
            while not self.shutting_down.is_set():
                row = await self.claim_crashed(inst["id"])
                if row is None:
                    break
                collected += 1
                self.claims["crashed"] += 1
                METRICS.claims.labels(collector="crashed").inc()
                await self._launch(row["public_id"], self.crashed_slots, claimed=row.get("state"))
                # Leave other instances a chance to take their share of the dead instance's work.
                await asyncio.sleep(self.config.delay_between_crashed)
            async with self.store.tx() as tx:
                left = await tx.fetchone(cq.COUNT_REMAINING_OF_INSTANCE, {"dead": inst["id"]})
                if int(left["count"]) == 0:
                    await tx.execute(cq.DELETE_INSTANCE, {"id": inst["id"]})
                    log.info("collected all resolutions of instance %s: deleted it", inst["id"])
        return collected

    async def _instance_loop(self) -> None:
        while not self.shutting_down.is_set():
            try:
                await self.collect_crashed()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                log.warning("instance collector: %s", e)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._instance_wake.wait(), self.config.instance_collector_interval)
            self._instance_wake.clear()

    # -- garbage --------------------------------------------------------------------------------------------------
    async def collect_garbage(self) -> None:
        threshold = utcnow() - self.config.completed_task_expiration
        async with self.store.tx() as tx:
            gone = await tx.fetchall(cq.GC_DELETE_TASKS, {"threshold": threshold})
            await tx.tasks_changed(row["public_id"] for row in gone)  # live views drop them
        async with self.store.tx() as tx:
            await tx.execute(cq.GC_DELETE_ORPHAN_BATCHES)
        purged = await self.purge_audit()
        if purged:
            log.info("garbage collector: audit trails of %d deleted task(s) purged", purged)

    async def purge_audit(self, batch: int = 500) -> int:
        """Delete the audit trails of tasks that no longer exist and whose last event is older than
        `audit_retention` (never with a retention of 0), a batch per transaction. Returns how many."""
        if self.config.audit_retention <= timedelta(0):
            return 0
        threshold = utcnow() - self.config.audit_retention
        total = 0
        while not self.shutting_down.is_set():
            async with self.store.tx() as tx:
                await tx.execute(cq.GC_ALLOW_AUDIT_PURGE)
                rows = await tx.fetchall(cq.GC_PURGE_AUDIT, {"threshold": threshold, "limit": batch})
            total += len(rows)
            if len(rows) < batch:
                break
        return total

    async def _garbage_loop(self) -> None:
        period = min(timedelta(hours=24), self.config.completed_task_expiration).total_seconds()
        while not self.shutting_down.is_set():
            try:
                await self.collect_garbage()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                log.warning("garbage collector: %s", e)
            await asyncio.sleep(max(period, 1.0))
