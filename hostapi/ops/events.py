"""Live views of the API as server-sent events (text/event-stream): a task's page and the task list.

Both streams authenticate like every secured route and check, before the stream starts, exactly what the
corresponding GET checks (so 401/403/404/400 come as ordinary JSON errors). Every event's `data` is one
line of compact JSON. The stream starts with `retry: 3000` (an EventSource's reconnection delay) and sends
a `: keepalive` comment every 15 s of silence.

`GET /task/{id}/events` (rights of `GET /task/{id}`):

    event: task         data: the body of GET /task/{id} for this caller
    event: resolution   data: the body of GET /resolution/{resolution id} (when the task has one and the
                              caller may read it; step outputs hidden as that route hides them)
    ... then a new `task` and/or `resolution` event each time the body the caller would GET changes
    (state, steps, comments, last_activity...); only the changed one(s) are sent, at most one refresh per
    ~250 ms (more for big resolutions: the interval adapts to the cost of reading them).
    event: gone         data: {"id": "<task id>"}  the task was deleted; the stream ends
    event: error        data: {"status": 403, "error": "..."}  the caller lost the right to read it; ends

`GET /task/events` (the query filters of `GET /task`: type, state, template, batch, tag; the paging ones —
page_size, last, after, before — are accepted and ignored):

    event: stats        data: {"TODO": n, "BLOCKED": n, "RUNNING": n, "WONTFIX": n, "DONE": n,
                               "CANCELLED": n, ...any other state present}
                        counts of the tasks the caller sees with this type/template/batch/tag filter
                        (the `state` filter does not apply to the counts); sent first, then when they change
    event: changed      data: {"ids": ["<task id>", ...]}
                        tasks the caller sees with these filters (state included) that were created or
                        changed in any way (state, progress, edits, comments) since the last event, and
                        tasks that left the filter or were deleted when the stream saw them match before
                        (it remembers the newest 1,000 matching tasks at start and every match since);
                        at most one event per 500 ms
    event: resync       data: {}   changes were missed (slow client, lost database connection):
                                   reload the list; fresh `stats` follow

A change made by any instance on the same database reaches every stream: writers NOTIFY, each server
process LISTENs once (`utask.hostapi.live`), and a fallback poll plus a per-stream check every 15 s
catch what a lost notification would have hidden. Streams end when the server shuts down.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from utask.core import gojson
from utask.core.engine.service import Caller
from utask.core.engine.store import Store
from utask.core.storage.queries import api_tasks as q

from ..http import sse
from ..http.errors import APIError, Forbidden, NotFound
from ..live import Subscription, TaskChanges
from . import resolutions as resolution_ops
from . import tasks as task_ops

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
TASK_MIN_INTERVAL = 0.25  # between two refreshes of a task's page
TASK_MAX_INTERVAL = 5.0
LIST_DEBOUNCE = 0.5  # between two `changed` events
KNOWN_SEED = 1000  # matching tasks remembered at start (to report those that leave the filter)
KNOWN_MAX = 20000
STATS_TTL = 1.0  # identical count queries of several streams share one answer for this long


class ShuttingDown(APIError):
    status = 503


def _subscribe(hub: TaskChanges, task_id: str | None) -> Subscription:
    try:
        return hub.subscribe(task_id)
    except RuntimeError:
        raise ShuttingDown("server is shutting down") from None


# -- a task's page -------------------------------------------------------------------------------------------


def _dumps(payload: Any) -> bytes:
    return gojson.dumps(payload).encode("utf-8")


async def _read_task(store: Store, caller: Caller, public_id: str) -> tuple[bytes, bytes | None]:
    """The bodies of GET /task/{id} and (when readable) GET /resolution/{its id}; raises NotFound/Forbidden."""
    task = await task_ops.get_task(store, caller, public_id)
    res_body = None
    res_id = task.get("resolution")
    if res_id:
        try:
            res_body = _dumps(await resolution_ops.get_resolution(store, caller, res_id))
        except (Forbidden, NotFound):
            res_body = None
        except Exception as e:  # noqa: BLE001 - deleted between the two reads: the task read says what is left
            if type(e).__name__ != "NotFoundError":
                raise
    return _dumps(task), res_body


async def _signature(store: Store, public_id: str) -> tuple | None:
    async with task_ops.read_tx(store) as tx:
        row = await tx.fetchone(q.TASK_SIGNATURE, {"public_id": public_id})
    return None if row is None else (row["task_version"], row["resolution_version"], row["comments_version"])


async def open_task_stream(store: Store, hub: TaskChanges, caller: Caller, public_id: str) -> AsyncIterator[bytes]:
    """Checks (raising GET /task/{id}'s errors), then the stream's events."""
    public_id = str(uuid.UUID(public_id))  # notifications carry the canonical text
    sub = _subscribe(hub, public_id)  # before the first read: a change in between is not missed
    try:
        signature = await _signature(store, public_id)
        task_body, res_body = await _read_task(store, caller, public_id)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    return _task_events(store, caller, public_id, sub, task_body, res_body, signature)


async def _task_events(store: Store, caller: Caller, public_id: str, sub: Subscription, task_body: bytes,
                       res_body: bytes | None, signature: tuple | None) -> AsyncIterator[bytes]:
    async with sub:
        yield sse.retry(RETRY_MILLISECONDS)
        yield sse.event_raw("task", task_body)
        if res_body is not None:
            yield sse.event_raw("resolution", res_body)
        interval, last_read = TASK_MIN_INTERVAL, time.monotonic()
        while True:
            woke = await sub.wait(KEEPALIVE_SECONDS)
            if sub.closed:
                return
            if not woke:
                yield sse.comment("keepalive")
                # Fallback for a lost notification: re-read only if the rows moved.
                current = await _signature(store, public_id)
                if current == signature and current is not None:
                    continue
            else:
                pause = interval - (time.monotonic() - last_read)
                if pause > 0:
                    await asyncio.sleep(pause)  # changes arriving meanwhile are read together
                if sub.closed:
                    return
                sub.take()
            t0 = time.monotonic()
            try:
                signature = await _signature(store, public_id)
                new_task, new_res = await _read_task(store, caller, public_id)
            except NotFound:
                yield sse.event("gone", {"id": public_id})
                return
            except Exception as e:
                if type(e).__name__ == "NotFoundError":
                    yield sse.event("gone", {"id": public_id})
                    return
                if isinstance(e, Forbidden):
                    yield sse.event("error", {"status": 403, "error": e.message})
                    return
                raise
            last_read = time.monotonic()
            interval = min(TASK_MAX_INTERVAL, max(TASK_MIN_INTERVAL, 3 * (last_read - t0)))
            if new_task != task_body:
                task_body = new_task
                yield sse.event_raw("task", task_body)
            if new_res is not None and new_res != res_body:
                res_body = new_res
                yield sse.event_raw("resolution", res_body)


# -- the task list -----------------------------------------------------------------------------------------------

_stats_cache: dict[tuple, tuple[float, dict[str, int]]] = {}


async def _stats(store: Store, filters: set[str], params: dict[str, Any], not_before: float = 0.0) -> dict[str, int]:
    """Counts per state; an answer cached by another stream is reused only if it is recent and was computed
    after `not_before` (the moment this stream learnt of a change), so a change is never hidden by the cache."""
    counted = filters - {"state"}
    key_params = {k: v for k, v in params.items() if k not in ("limit", "state", "ids")}
    if not counted & {"own", "resolvable", "all"}:
        key_params.pop("user", None)
        key_params.pop("groups", None)
    key = (frozenset(counted), gojson.dumps(key_params))
    now = time.monotonic()
    hit = _stats_cache.get(key)
    if hit is not None and now - hit[0] < STATS_TTL and hit[0] >= not_before:
        return hit[1]
    async with task_ops.read_tx(store) as tx:
        rows = await tx.fetchall(q.count_tasks_by_state(counted), params)
    counts: dict[str, int] = dict.fromkeys(task_ops.BUILTIN_STATS_STATES, 0)
    for r in rows:
        counts[r["state"]] = int(r["state_count"])
    if len(_stats_cache) > 1000:
        _stats_cache.clear()
    _stats_cache[key] = (now, counts)
    return counts


async def _visible(store: Store, filters: set[str], params: dict[str, Any], ids: list[str] | None,
                   limit: int) -> list[str]:
    p = {**params, "limit": limit}
    if ids is not None:
        p["ids"] = ids
    async with task_ops.read_tx(store) as tx:
        rows = await tx.fetchall(q.visible_task_ids(filters, among=ids is not None), p)
    return [r["public_id"] for r in rows]


async def open_list_stream(store: Store, hub: TaskChanges, caller: Caller,
                           f: task_ops.TaskFilter) -> AsyncIterator[bytes]:
    """Checks (raising GET /task's errors for the same filters), then the stream's events."""
    f.last = f.after = f.before = None  # paging does not apply to a stream
    async with task_ops.read_tx(store) as tx:
        filters, params = await task_ops.task_filters(tx, caller, f)
    sub = _subscribe(hub, None)
    try:
        known = OrderedDict.fromkeys(await _visible(store, filters, params, None, KNOWN_SEED))
        stats = await _stats(store, filters, params)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    return _list_events(store, filters, params, sub, known, stats)


async def _list_events(store: Store, filters: set[str], params: dict[str, Any], sub: Subscription,
                       known: OrderedDict[str, None], stats: dict[str, int]) -> AsyncIterator[bytes]:
    async with sub:
        yield sse.retry(RETRY_MILLISECONDS)
        yield sse.event("stats", stats)
        last_emit = 0.0
        while True:
            woke = await sub.wait(KEEPALIVE_SECONDS)
            if sub.closed:
                return
            if not woke:
                yield sse.comment("keepalive")
                fresh = await _stats(store, filters, params)  # fallback for a lost notification
                if fresh != stats:
                    stats = fresh
                    yield sse.event("stats", stats)
                continue
            pause = LIST_DEBOUNCE - (time.monotonic() - last_emit)
            if pause > 0:
                await asyncio.sleep(pause)
            if sub.closed:
                return
            woke_at = last_emit = time.monotonic()
            ids, resync = sub.take()
            if resync:
                known = OrderedDict.fromkeys(await _visible(store, filters, params, None, KNOWN_SEED))
                yield sse.event("resync", {})
                stats = await _stats(store, filters, params, not_before=woke_at)
                yield sse.event("stats", stats)
                continue
            if not ids:
                continue
            changed = _report(known, ids, await _visible(store, filters, params, sorted(ids), len(ids)))
            if changed:
                yield sse.event("changed", {"ids": changed})
                fresh = await _stats(store, filters, params, not_before=woke_at)
                if fresh != stats:
                    stats = fresh
                    yield sse.event("stats", stats)


def _report(known: OrderedDict[str, None], ids: set[str], matching: list[str]) -> list[str]:
    """The ids to report: matching now, or matching before (known) and now deleted or out of the filter."""
    out = set(matching)
    for public_id in ids:
        if public_id in known and public_id not in out:
            out.add(public_id)  # left the filter, or deleted
            del known[public_id]
    for public_id in matching:
        known[public_id] = None
        known.move_to_end(public_id)
    while len(known) > KNOWN_MAX:
        known.popitem(last=False)
    return sorted(out)
