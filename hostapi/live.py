"""Task changes for the live views of the API (server-sent events): one LISTEN per process, fanned out.

Writers announce `utask_task_changed` with a task's public id once they have committed a change of the
task, its resolution or its comments (`utask.core.storage.queries.changes`, `store.ChangeAnnouncer`). `TaskChanges` keeps ONE listening
connection per server process, whatever the number of open streams, and hands each notification to the
subscriptions interested in that task (a task's page) or in every task (the task list):

- started lazily by the first subscription, stopped by `close()` (server shutdown), which also ends every
  subscription so open streams finish at once instead of holding uvicorn's graceful shutdown;
- reconnects with an exponential back-off when the connection drops; after a reconnection every
  subscription is told to resync (notifications sent while nobody listened are lost);
- a subscription is a bounded mailbox: a set of pending task ids (duplicates coalesce) and a wake-up event;
  a subscriber too slow to keep up (more than `max_pending` distinct ids) gets `resync` instead and starts
  over from a fresh read;
- a fallback poll (`poll_interval`, 5 s) looks for tasks whose `last_activity` moved (through the store's
  pool, one short query per interval for the whole process, only while someone is subscribed), so a lost
  notification never leaves a page stale for long.

No database connection is held per subscriber: streams read through the store's pool when woken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from utask.core.storage.queries import changes as chq

log = logging.getLogger("utask.api.live")


class Subscription:
    """What one stream waits on: `await wait()` then `take()` the ids changed since the last take."""

    def __init__(self, hub: TaskChanges, task_id: str | None, max_pending: int) -> None:
        self.hub = hub
        self.task_id = task_id  # None: every task
        self.max_pending = max_pending
        self.pending: set[str] = set()
        self.resync = False
        self.closed = False
        self._wake = asyncio.Event()

    def _deliver(self, public_id: str) -> None:
        if self.resync:
            return
        self.pending.add(public_id)
        if len(self.pending) > self.max_pending:
            self.pending.clear()
            self.resync = True
        self._wake.set()

    def _resync(self) -> None:
        self.pending.clear()
        self.resync = True
        self._wake.set()

    def _close(self) -> None:
        self.closed = True
        self._wake.set()

    async def wait(self, timeout: float | None = None) -> bool:
        """True when something is pending (or the hub closed), False on timeout."""
        if self._wake.is_set():
            return True
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def take(self) -> tuple[set[str], bool]:
        """(changed ids, resync) since the last take."""
        ids, resync = self.pending, self.resync
        self.pending, self.resync = set(), False
        if not self.closed:
            self._wake.clear()
        return ids, resync

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.hub.unsubscribe(self)


class TaskChanges:
    """The process-wide fan-out of `utask_task_changed` (see the module docstring)."""

    def __init__(self, url: str, store: Any = None, *, max_pending: int = 1000, poll_interval: float = 5.0,
                 reconnect_max: float = 10.0) -> None:
        self.url = url
        self.store = store
        self.max_pending = max_pending
        self.poll_interval = poll_interval
        self.reconnect_max = reconnect_max
        self.listening = asyncio.Event()  # set while the LISTEN connection is up (tests wait for it)
        self.closed = False
        self._by_task: dict[str, set[Subscription]] = {}
        self._all: set[Subscription] = set()
        self._tasks: list[asyncio.Task] = []
        self._conn: psycopg.AsyncConnection | None = None
        self.notifications = 0  # received (tests and diagnostics)

    # -- subscriptions ------------------------------------------------------------------------------------
    @property
    def subscribers(self) -> int:
        return len(self._all) + sum(len(s) for s in self._by_task.values())

    def subscribe(self, task_id: str | None = None) -> Subscription:
        """A new subscription to one task's changes (`task_id`) or to every task's (None)."""
        if self.closed:
            raise RuntimeError("the server is shutting down")
        sub = Subscription(self, task_id, self.max_pending)
        if task_id is None:
            self._all.add(sub)
        else:
            self._by_task.setdefault(task_id, set()).add(sub)
        self._start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.task_id is None:
            self._all.discard(sub)
        else:
            subs = self._by_task.get(sub.task_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_task[sub.task_id]

    def publish(self, public_ids: Iterable[str]) -> None:
        """Hand changed task ids to the interested subscriptions (the listener and the poll call this)."""
        for public_id in public_ids:
            for sub in self._by_task.get(public_id, ()):
                sub._deliver(public_id)
            for sub in self._all:
                sub._deliver(public_id)

    def _resync_all(self) -> None:
        for sub in self._all:
            sub._resync()
        for subs in self._by_task.values():
            for sub in subs:
                sub._resync()

    # -- life cycle -------------------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._tasks or self.closed:
            return
        self._tasks = [asyncio.get_running_loop().create_task(self._listen_loop(), name="utask-live-listen")]
        if self.store is not None and self.poll_interval > 0:
            self._tasks.append(asyncio.get_running_loop().create_task(self._poll_loop(), name="utask-live-poll"))

    async def close(self) -> None:
        """Stop listening and end every subscription (their streams finish)."""
        self.closed = True
        for sub in list(self._all):
            sub._close()
        for subs in list(self._by_task.values()):
            for sub in subs:
                sub._close()
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.listening.clear()

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not all(t.done() for t in self._tasks)

    async def _listen_loop(self) -> None:
        backoff, connected_before = 0.25, False
        while not self.closed:
            conn: psycopg.AsyncConnection | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                await conn.execute(chq.LISTEN)
                self._conn = conn
                self.listening.set()
                if connected_before:
                    self._resync_all()  # what was committed while we were away was not heard
                connected_before, backoff = True, 0.25
                while True:
                    got = False
                    async for note in conn.notifies(timeout=30.0):
                        got = True
                        self.notifications += 1
                        self.publish((note.payload,))
                    if not got:
                        await conn.execute("SELECT 1")  # a silent half-open connection fails here
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the poll covers the gap; reconnect with back-off
                self.listening.clear()
                log.warning("live updates: LISTEN connection lost (%s), reconnecting in %.1fs", e, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.reconnect_max)
            finally:
                self._conn = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _poll_loop(self) -> None:
        """Fallback: tasks whose last_activity moved since the last look, as if they had been notified.

        `last_activity` is written by each instance's clock before its commit, so a row may become visible
        with a value older than the previous look: the query looks back `overlap` and remembers what it
        already saw within that window, so each change is published once."""
        overlap = timedelta(seconds=max(30.0, 6 * self.poll_interval))
        seen: dict[str, datetime] = {}
        since: datetime | None = None  # None: (re)seed without publishing
        while not self.closed:
            try:
                if since is not None or not self.subscribers:
                    await asyncio.sleep(self.poll_interval)
                if not self.subscribers:
                    since = None  # idle: nobody to tell; start afresh when someone subscribes
                    continue
                async with self.store.connection() as conn:
                    seeding = since is None
                    if since is None:
                        cur = await conn.execute("SELECT now() AS now")
                        since = (await cur.fetchone())["now"]
                        seen.clear()
                    cur = await conn.execute(chq.SELECT_ACTIVE_SINCE, {"since": since - overlap, "limit": 5000})
                    rows = await cur.fetchall()
                fresh = [r["public_id"] for r in rows if seen.get(r["public_id"]) != r["last_activity"]]
                for r in rows:
                    seen[r["public_id"]] = r["last_activity"]
                    since = max(since, r["last_activity"])
                horizon = since - overlap
                for key in [k for k, v in seen.items() if v < horizon]:
                    del seen[key]
                if fresh and not seeding:
                    self.publish(fresh)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the next look may succeed
                log.warning("live updates: poll failed: %s", e)
                await asyncio.sleep(self.poll_interval)
