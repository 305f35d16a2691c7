"""The engine's and the task service's only door to PostgreSQL: queries, locking and encryption.

SQL text lives in `utask.core.storage.queries`; this module sends it, decides which lock each load takes,
and encrypts/decrypts every sensitive column with the foundation's keyring in µTask's formats (§9.2):

- `task.encrypted_input`, `resolution.encrypted_resolver_input`: marshal (JSON, encrypt, lower-case hex);
- `task.encrypted_result`: raw (JSON without HTML escaping);
- `resolution.encrypted_steps`: raw(compress(JSON of the steps map)), read as hex first for the rows
  µTask v1.21.1–v1.21.3 wrote;
- `resolution_step.encrypted_step` (ours): raw(JSON of one step), AAD = resolution public id + step name,
  so a row cannot be swapped with another step's or another resolution's.

Steps are persisted incrementally: while a resolution runs, each commit upserts only the rows of the
steps that changed, so its cost does not depend on how many steps the resolution has. The µTask blob is
rewritten once per run (at its end) and at creation, so the database stays readable by µTask; a legacy
row (blob only) is exploded into rows the first time it is loaded for writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import select
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb, set_json_loads
from utask.core import gojson
from utask.core.storage.queries import changes as chq
from utask.core.storage.queries import collectors as cq
from utask.core.storage.queries import resolutions as rq
from utask.core.storage.queries import tasks as tq

from . import audit

log = logging.getLogger(__name__)

COMPRESSION_ALGORITHMS = ("noop", "gzip")


class NotFoundError(Exception):
    """A row that should exist does not; `str(e)` is the µTask text (`... sql: no rows in result set`)."""


LOCK_NOT_AVAILABLE = 'Failed to load resolution from public id: pq: could not obtain lock on row in relation "resolution"'


class LockNotAvailable(Exception):
    """A NOWAIT lock was held by someone else (µTask answers 500 for it)."""


# -- JSON --------------------------------------------------------------------------------------------


def dumps(obj: Any, *, escape_html: bool = True) -> str:
    """Go `encoding/json` text: the one encoder the project shares, whichever module provides it."""
    shared = getattr(gojson, "dumps", None)
    if shared is not None:
        return shared(obj, escape_html=escape_html)
    from utask.core.crypto._gojson import go_dumps  # until utask.core.gojson.dumps lands

    text = go_dumps(obj)
    if not escape_html:
        text = text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")
    return text


def _to_json_obj(step: Any) -> Any:
    to_json = getattr(step, "to_json", None)
    return to_json() if to_json is not None else step


def _without_logs(step: Any) -> Any:
    if isinstance(step, dict) and "logs" in step:
        return {k: v for k, v in step.items() if k != "logs"}
    return step


# -- compression (§9.3) ------------------------------------------------------------------------------


def compress(alg: str, data: bytes) -> bytes:
    if alg in ("", "noop"):
        return data
    if alg == "gzip":
        return gzip.compress(data, mtime=0)
    raise ValueError(f"{alg} compression algorithm not found")


def decompress(alg: str, data: bytes) -> bytes:
    if alg in ("", "noop"):
        return data
    if alg == "gzip":
        return gzip.decompress(data)
    raise ValueError(f"{alg} compression algorithm not found")


# -- records -------------------------------------------------------------------------------------------


def decode_template_row(row: Mapping[str, Any]) -> Any:
    """A `task_template` row (with its version column, if any) → the decoded template with its id."""
    from utask.core.templates.decode import decode_template

    tpl = decode_template({k: v for k, v in row.items() if k not in ("id", "row_version", "template_version")})
    tpl.id = row["id"]
    return tpl


def utcnow() -> datetime:
    # Postgres keeps microseconds; truncating here keeps what we compare and hash identical to what we read back.
    return datetime.now(UTC)


@dataclass
class TaskRecord:
    id: int
    public_id: str
    title: str
    id_template: int
    id_batch: int | None
    template_name: str
    requester_username: str | None
    requester_groups: list[str] | None
    watcher_usernames: list[str] | None
    watcher_groups: list[str] | None
    resolver_usernames: list[str] | None
    resolver_groups: list[str] | None
    created: datetime
    state: str
    steps_done: int
    steps_total: int
    last_activity: datetime | None
    tags: dict[str, str] | None
    input: dict[str, Any]
    result: dict[str, Any]
    resolution_public_id: str | None = None
    last_start: datetime | None = None
    last_stop: datetime | None = None
    resolver_username: str | None = None
    batch_public_id: str | None = None


@dataclass
class ResolutionRecord:
    id: int
    public_id: str
    id_task: int
    task_public_id: str
    task_title: str
    resolver_username: str | None
    state: str
    instance_id: int | None
    created: datetime
    last_start: datetime | None
    last_stop: datetime | None
    next_retry: datetime | None
    run_count: int
    run_max: int
    steps_compression_alg: str
    base_configurations: Any
    resolver_inputs: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps_in_rows: bool = True


_RESOLUTION_FIELDS = (
    "state", "instance_id", "last_start", "last_stop", "run_count", "run_max", "resolver_inputs",
    "base_configurations", "next_retry", "resolver_username",
)


# -- connections -----------------------------------------------------------------------------------------


# pg_stat_activity tells which server process holds a connection (several instances share one database).
APPLICATION_NAME = f"utask pid {os.getpid()}"


def _still_open(conn: psycopg.AsyncConnection) -> bool:
    """Whether an idle pooled connection is still usable, without a round trip: an idle connection has
    nothing to read unless the server has sent it something, which for these (no LISTEN) means it is
    closing it (`terminating connection ...`, then end of file). One non-blocking poll of its socket."""
    if conn.closed or conn.broken:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class _Pool:
    """A few autocommit async connections; transactions are explicit (`conn.transaction()`).

    psycopg_pool is not a dependency of the project and SQLAlchemy's asyncio layer needs greenlet, so the
    hot path keeps its own small pool of psycopg 3 connections.
    """

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = max(1, size)
        self._idle: list[psycopg.AsyncConnection] = []
        self._sem = asyncio.Semaphore(self.size)
        self._closed = False

    async def _connect(self) -> psycopg.AsyncConnection:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, row_factory=dict_row,
                                                     application_name=APPLICATION_NAME)
        # jsonb columns keep exact numbers, like everything else that reaches templates.
        set_json_loads(gojson.loads, conn)
        return conn

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        await self._sem.acquire()
        conn: psycopg.AsyncConnection | None = None
        try:
            while self._idle and conn is None:
                candidate = self._idle.pop()
                if _still_open(candidate):
                    conn = candidate
                else:  # the server closed it meanwhile (restart, failover, pg_terminate_backend, idle reaping)
                    with contextlib.suppress(Exception):
                        await candidate.close()
            if conn is None:
                conn = await self._connect()
            yield conn
        finally:
            if conn is not None:
                healthy = not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE
                if healthy and not self._closed:
                    self._idle.append(conn)
                else:
                    with contextlib.suppress(Exception):
                        await conn.close()
            self._sem.release()

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            with contextlib.suppress(Exception):
                await self._idle.pop().close()


class Tx:
    """One open transaction: every store call that must be atomic with others takes it."""

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn
        # Notifications to send once, at commit (NOTIFY is transactional: listeners see committed rows).
        self._notified: set[str] = set()
        # Tasks this transaction changed: announced once it has committed (see `ChangeAnnouncer`).
        self.changed: set[str] = set()
        self._resolved: set[tuple[str, int]] = set()

    async def execute(self, query: str, params: Mapping[str, Any] | None = None) -> psycopg.AsyncCursor:
        return await self.conn.execute(query, params)

    async def fetchone(self, query: str, params: Mapping[str, Any] | None = None) -> dict | None:
        cur = await self.conn.execute(query, params)
        return await cur.fetchone()

    async def fetchall(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        cur = await self.conn.execute(query, params)
        return await cur.fetchall()

    async def executemany(self, query: str, params: list[Mapping[str, Any]]) -> None:
        if params:
            async with self.conn.cursor() as cur:
                await cur.executemany(query, params)

    async def notify(self, payload: str) -> None:
        """Announce claimable work to every listening instance (delivered when this transaction commits)."""
        if payload in self._notified:
            return
        self._notified.add(payload)
        await self.conn.execute(cq.NOTIFY, {"payload": payload})

    # Live views (the API's event streams) hear of every committed change of a task, its resolution or its
    # comments: the store's writes below record the task here, `Store.tx` announces them after the commit.
    async def task_changed(self, public_id: str) -> None:
        self.changed.add(public_id)

    async def tasks_changed(self, public_ids: Iterable[str]) -> None:
        self.changed.update(public_ids)

    async def task_changed_by_id(self, task_id: int) -> None:
        await self._resolve(chq.TASK_PUBLIC_ID, ("task", task_id))

    async def resolution_changed_by_id(self, resolution_id: int) -> None:
        await self._resolve(chq.TASK_PUBLIC_ID_OF_RESOLUTION, ("resolution", resolution_id))

    async def _resolve(self, query: str, key: tuple[str, int]) -> None:
        if key in self._resolved:
            return
        self._resolved.add(key)
        cur = await self.conn.execute(query, {"id": key[1]})
        row = await cur.fetchone()
        if row is not None:
            self.changed.add(row["public_id"])


class ChangeAnnouncer:
    """NOTIFY `utask_task_changed` for committed changes, batched per process, outside the writers'
    transactions.

    PostgreSQL serialises the commits of every transaction that NOTIFYs (a database-wide lock held through
    the commit's WAL flush): measured here, 8 concurrent writers fall from ~1,150 to ~500 commits/s when each
    also NOTIFYs. So the writers' transactions only record which tasks they changed; after their commit the
    ids are queued here and sent together, every `delay` seconds at most, in one short transaction that
    does not wait for its WAL flush (`synchronous_commit = off`: a notification is a hint, its loss costs
    a page a few seconds until the listeners' fallback poll). Listeners thus hear of a change only once it
    is committed, a few milliseconds later.
    """

    def __init__(self, pool: _Pool, delay: float = 0.01) -> None:
        self._pool = pool
        self.delay = delay
        self._pending: set[str] = set()
        self._flusher: asyncio.Task | None = None
        self.sent = 0  # notifications sent (tests, diagnostics)

    def announce(self, public_ids: Iterable[str]) -> None:
        self._pending.update(public_ids)
        if self._pending and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name="utask-announce")

    async def _flush(self) -> None:
        while self._pending:
            await asyncio.sleep(self.delay)  # what other commits bring meanwhile goes in the same batch
            batch, self._pending = sorted(self._pending), set()
            try:
                async with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
                    await conn.execute(chq.ASYNC_COMMIT)
                    await conn.execute(chq.NOTIFY_MANY, {"payloads": batch})
                self.sent += len(batch)
            except Exception as e:  # noqa: BLE001 - a hint lost: the listeners' poll catches up
                log.warning("task change notifications not sent: %s", e)

    async def close(self) -> None:
        flusher, self._flusher = self._flusher, None
        if flusher is not None and not flusher.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(flusher, 5)


# -- the store -----------------------------------------------------------------------------------------------


class Store:
    """Persistence of tasks and resolutions for one process (engine + API share it)."""

    def __init__(
        self,
        url: str,
        keyring: Any,
        *,
        pool_size: int = 10,
        compression: str = "noop",
        instance_id: int | None = None,
    ) -> None:
        if compression not in ("", *COMPRESSION_ALGORITHMS):
            raise ValueError(f"{compression} compression algorithm not found")
        self.url = url
        self.keyring = keyring
        self.compression = compression or "noop"
        self.instance_id = instance_id
        self._pool = _Pool(url, pool_size)
        self.changes = ChangeAnnouncer(self._pool)

    async def close(self) -> None:
        await self.changes.close()
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._pool.connection() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def tx(self, *, pipeline: bool = False) -> AsyncIterator[Tx]:
        """One transaction. `pipeline=True` sends statements without waiting for each result (psycopg
        pipeline mode): a commit of the run loop then costs two or three round trips instead of ten."""
        async with self._pool.connection() as conn:
            tx = Tx(conn)
            if pipeline:
                async with conn.pipeline(), conn.transaction():
                    yield tx
            else:
                async with conn.transaction():
                    yield tx
        if tx.changed:  # committed
            self.changes.announce(tx.changed)

    # -- encryption helpers -----------------------------------------------------------------------------
    def _step_aad(self, resolution_public_id: str, name: str) -> bytes:
        # The public id has a fixed length (36 characters), so the concatenation is unambiguous.
        return (resolution_public_id + name).encode("utf-8")

    def encrypt_step(self, resolution_public_id: str, name: str, step: Any) -> bytes:
        data = dumps(_to_json_obj(step)).encode("utf-8")
        return self.keyring.encrypt(data, self._step_aad(resolution_public_id, name))

    def decrypt_step(self, resolution_public_id: str, name: str, data: bytes) -> dict[str, Any]:
        return gojson.loads(self.keyring.decrypt(bytes(data), self._step_aad(resolution_public_id, name)))

    def encode_blob(self, public_id: str, steps: Mapping[str, Any], alg: str) -> bytes:
        # Without the steps' `logs` (ours, up to 64 KiB a step): the rows keep them, µTask has no use for them.
        data = dumps({name: _without_logs(_to_json_obj(s)) for name, s in steps.items()}).encode("utf-8")
        return self.keyring.encrypt(compress(alg, data), public_id)

    def decode_blob(self, public_id: str, blob: bytes, alg: str) -> dict[str, dict[str, Any]]:
        raw = bytes(blob)
        # v1.21.1–v1.21.3 stored the ciphertext as hex text; everything else is raw bytes (§9.2).
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            raw = bytes.fromhex(raw.decode("ascii"))
        steps = gojson.loads(decompress(alg, self.keyring.decrypt(raw, public_id)))
        return steps or {}

    def encrypt_result(self, public_id: str, result: Any) -> bytes:
        return self.keyring.encrypt(dumps(result, escape_html=False).encode("utf-8"), public_id)

    def decrypt_result(self, public_id: str, data: bytes) -> Any:
        return gojson.loads(self.keyring.decrypt(bytes(data), public_id))

    # -- tasks --------------------------------------------------------------------------------------------
    def _task_from_row(self, row: dict) -> TaskRecord:
        return TaskRecord(
            id=row["id"], public_id=row["public_id"], title=row["title"], id_template=row["id_template"],
            id_batch=row["id_batch"], template_name=row["template_name"],
            requester_username=row["requester_username"], requester_groups=row["requester_groups"],
            watcher_usernames=row["watcher_usernames"], watcher_groups=row["watcher_groups"],
            resolver_usernames=row["resolver_usernames"], resolver_groups=row["resolver_groups"],
            created=row["created"], state=row["state"], steps_done=row["steps_done"],
            steps_total=row["steps_total"], last_activity=row["last_activity"], tags=row["tags"],
            input=self.keyring.decrypt_marshal(row["encrypted_input"], row["public_id"]) or {},
            result=self.decrypt_result(row["public_id"], row["encrypted_result"]),
            resolution_public_id=row["resolution_public_id"], last_start=row["last_start"],
            last_stop=row["last_stop"], resolver_username=row["resolution_resolver_username"],
            batch_public_id=row["batch_public_id"],
        )

    async def load_task(self, tx: Tx, public_id: str, *, lock: bool = False) -> TaskRecord:
        query = tq.SELECT_BY_PUBLIC_ID_LOCKED if lock else tq.SELECT_BY_PUBLIC_ID
        try:
            row = await tx.fetchone(query, {"public_id": public_id})
        except psycopg.errors.InvalidTextRepresentation as e:
            raise NotFoundError("Failed to load task from public id: sql: no rows in result set") from e
        if row is None:
            raise NotFoundError("Failed to load task from public id: sql: no rows in result set")
        return self._task_from_row(row)

    async def load_task_by_id(self, tx: Tx, task_id: int) -> TaskRecord:
        row = await tx.fetchone(tq.SELECT_BY_ID, {"id": task_id})
        if row is None:
            raise NotFoundError("Failed to load task from id: sql: no rows in result set")
        return self._task_from_row(row)

    async def insert_task(self, tx: Tx, task: TaskRecord) -> int:
        row = await tx.fetchone(tq.INSERT, {
            "public_id": task.public_id, "id_template": task.id_template, "id_batch": task.id_batch,
            "title": task.title, "requester_username": task.requester_username,
            "requester_groups": Jsonb(task.requester_groups), "watcher_usernames": Jsonb(task.watcher_usernames),
            "watcher_groups": Jsonb(task.watcher_groups), "resolver_usernames": Jsonb(task.resolver_usernames),
            "resolver_groups": Jsonb(task.resolver_groups), "created": task.created,
            "last_activity": task.last_activity, "state": task.state, "steps_total": task.steps_total,
            "encrypted_input": self.keyring.encrypt_marshal(task.input, task.public_id),
            "encrypted_result": self.encrypt_result(task.public_id, task.result),
            "tags": Jsonb(task.tags),
        })
        task.id = row["id"]
        await tx.task_changed(task.public_id)
        return task.id

    async def update_task(self, tx: Tx, task: TaskRecord, *, bump_activity: bool = True) -> None:
        if bump_activity:
            task.last_activity = utcnow()
        await tx.execute(tq.UPDATE, {
            "id": task.id, "title": task.title, "watcher_usernames": Jsonb(task.watcher_usernames),
            "watcher_groups": Jsonb(task.watcher_groups), "resolver_usernames": Jsonb(task.resolver_usernames),
            "resolver_groups": Jsonb(task.resolver_groups), "state": task.state, "steps_done": task.steps_done,
            "last_activity": task.last_activity,
            "encrypted_input": self.keyring.encrypt_marshal(task.input, task.public_id),
            "encrypted_result": self.encrypt_result(task.public_id, task.result),
            "tags": Jsonb(task.tags),
        })
        await tx.task_changed(task.public_id)

    async def update_task_run_fields(self, tx: Tx, task: TaskRecord, *, result: bool = False) -> None:
        """A run loop commit: state, steps_done, tags, last_activity (and the result when it changed),
        without re-encrypting the inputs each time."""
        task.last_activity = utcnow()
        await tx.execute(tq.UPDATE_RUN_FIELDS, {
            "id": task.id, "state": task.state, "steps_done": task.steps_done,
            "last_activity": task.last_activity, "tags": Jsonb(task.tags),
        })
        if result:
            await tx.execute(tq.UPDATE_RESULT, {"id": task.id,
                                                "encrypted_result": self.encrypt_result(task.public_id, task.result)})
        await tx.task_changed(task.public_id)

    async def delete_task(self, tx: Tx, task_id: int) -> None:
        await tx.task_changed_by_id(task_id)  # before the row goes: the notification names it
        await tx.execute(tq.DELETE, {"id": task_id})

    async def load_template(self, tx: Tx, *, name: str | None = None, template_id: int | None = None) -> dict:
        if name is not None:
            row = await tx.fetchone(tq.SELECT_TEMPLATE_BY_NAME, {"name": name})
            if row is None:
                raise NotFoundError(f'Failed to load template "{name}" from name: sql: no rows in result set')
        else:
            row = await tx.fetchone(tq.SELECT_TEMPLATE_BY_ID, {"id": template_id})
            if row is None:
                raise NotFoundError("Failed to load template from id: sql: no rows in result set")
        return dict(row)

    async def decoded_template(self, tx: Tx, *, name: str | None = None, template_id: int | None = None) -> Any:
        """The decoded template (a shared object: callers must not modify it), from the process-wide cache
        while its row is unchanged: one small query instead of reading and decoding the row every time."""
        from utask.core.templates.cache import DECODED_TEMPLATES

        if name is not None:
            head = await tx.fetchone(tq.SELECT_TEMPLATE_VERSION_BY_NAME, {"name": name})
            if head is None:
                raise NotFoundError(f'Failed to load template "{name}" from name: sql: no rows in result set')
        else:
            head = await tx.fetchone(tq.SELECT_TEMPLATE_VERSION_BY_ID, {"id": template_id})
            if head is None:
                raise NotFoundError("Failed to load template from id: sql: no rows in result set")
        tpl = DECODED_TEMPLATES.get(self.url, head["id"], head["row_version"])
        if tpl is None:
            row = await self.load_template(tx, template_id=head["id"])
            tpl = decode_template_row(row)
            DECODED_TEMPLATES.put(self.url, row["id"], row["row_version"], tpl)
        return tpl

    async def add_comment(self, tx: Tx, task_id: int, username: str, content: str) -> dict:
        now = utcnow()
        public_id = str(uuid.uuid4())
        await tx.execute(tq.INSERT_COMMENT, {
            "public_id": public_id, "id_task": task_id, "username": username, "created": now,
            "content": content,
        })
        await tx.task_changed_by_id(task_id)
        return {"id": public_id, "username": username, "created": now, "updated": now, "content": content}

    async def list_comments(self, tx: Tx, task_id: int) -> list[dict]:
        return await tx.fetchall(tq.SELECT_COMMENTS, {"id_task": task_id})

    async def count_unfinished_batch_siblings(self, tx: Tx, batch_id: int) -> int:
        row = await tx.fetchone(tq.COUNT_UNFINISHED_BATCH_SIBLINGS, {"id_batch": batch_id})
        return int(row["count"])

    # -- resolutions ----------------------------------------------------------------------------------------
    async def load_resolution(
        self, tx: Tx, public_id: str, *, lock: str | None = None, with_steps: bool = True,
    ) -> ResolutionRecord:
        """Load one resolution; `lock` is None, "wait" (runs, §6.3) or "nowait" (admin edits)."""
        query = {None: rq.SELECT_BY_PUBLIC_ID, "wait": rq.SELECT_BY_PUBLIC_ID_LOCKED,
                 "nowait": rq.SELECT_BY_PUBLIC_ID_LOCKED_NOWAIT}[lock]
        try:
            if lock is not None:
                # Task before resolution, the one lock order of the project (see queries.resolutions).
                await tx.execute(rq.LOCK_TASK_OF_NOWAIT if lock == "nowait" else rq.LOCK_TASK_OF,
                                 {"public_id": public_id})
            row = await tx.fetchone(query, {"public_id": public_id})
        except psycopg.errors.LockNotAvailable as e:
            # µTask's text (it locks the resolution row; we lock its task's first, the project's lock order).
            raise LockNotAvailable(LOCK_NOT_AVAILABLE) from e
        except psycopg.errors.InvalidTextRepresentation as e:
            raise NotFoundError("Failed to load resolution from public id: sql: no rows in result set") from e
        if row is None:
            raise NotFoundError("Failed to load resolution from public id: sql: no rows in result set")
        return await self._resolution_from_row(tx, row, with_steps=with_steps, locked=lock is not None)

    async def load_resolution_of_task(self, tx: Tx, task_id: int, *, with_steps: bool = True) -> ResolutionRecord | None:
        row = await tx.fetchone(rq.SELECT_BY_TASK_ID, {"id_task": task_id})
        if row is None:
            return None
        return await self._resolution_from_row(tx, row, with_steps=with_steps, locked=False)

    async def _resolution_from_row(self, tx: Tx, row: dict, *, with_steps: bool, locked: bool) -> ResolutionRecord:
        public_id = row["public_id"]
        enc_input = row["encrypted_resolver_input"]
        resolver_inputs = self.keyring.decrypt_marshal(enc_input, public_id) if enc_input else None
        res = ResolutionRecord(
            id=row["id"], public_id=public_id, id_task=row["id_task"], task_public_id=row["task_public_id"],
            task_title=row["task_title"], resolver_username=row["resolver_username"], state=row["state"],
            instance_id=row["instance_id"], created=row["created"], last_start=row["last_start"],
            last_stop=row["last_stop"], next_retry=row["next_retry"], run_count=row["run_count"],
            run_max=row["run_max"], steps_compression_alg=row["steps_compression_alg"] or "",
            base_configurations=row["base_configurations"], resolver_inputs=resolver_inputs or {},
            steps_in_rows=row["steps_in_rows"],
        )
        if with_steps:
            res.steps = await self._load_steps(tx, res, locked=locked)
        return res

    async def _load_steps(self, tx: Tx, res: ResolutionRecord, *, locked: bool) -> dict[str, dict[str, Any]]:
        if res.steps_in_rows:
            rows = await tx.fetchall(rq.SELECT_STEP_ROWS_LOCKED if locked else rq.SELECT_STEP_ROWS, {"id": res.id})
            return {r["name"]: self.decrypt_step(res.public_id, r["name"], r["encrypted_step"]) for r in rows}
        blob = await tx.fetchone(rq.SELECT_BLOB, {"id": res.id})
        steps = self.decode_blob(res.public_id, blob["encrypted_steps"], blob["steps_compression_alg"] or "")
        if locked:
            # A row written by µTask (or before migration 0002): from now on its rows are the truth.
            await tx.executemany(rq.UPSERT_STEP_ROW, [
                {"id": res.id, "name": name, "encrypted_step": self.encrypt_step(res.public_id, name, s)}
                for name, s in steps.items()
            ])
            await tx.execute(rq.UPDATE_BLOB, {
                "id": res.id, "encrypted_steps": bytes(blob["encrypted_steps"]),
                "steps_compression_alg": blob["steps_compression_alg"], "steps_in_rows": True,
            })
            res.steps_in_rows = True
        return steps

    async def insert_resolution(self, tx: Tx, res: ResolutionRecord) -> int:
        alg = res.steps_compression_alg or self.compression
        res.steps_compression_alg = alg
        row = await tx.fetchone(rq.INSERT, {
            "public_id": res.public_id, "id_task": res.id_task, "resolver_username": res.resolver_username,
            "state": res.state, "created": res.created, "next_retry": res.next_retry, "run_max": res.run_max,
            "encrypted_resolver_input": self.keyring.encrypt_marshal(res.resolver_inputs, res.public_id),
            "encrypted_steps": self.encode_blob(res.public_id, res.steps, alg),
            "steps_compression_alg": alg,
            "base_configurations": Jsonb(res.base_configurations, dumps=lambda o: dumps(o)),
        })
        res.id = row["id"]
        await tx.executemany(rq.UPSERT_STEP_ROW, [
            {"id": res.id, "name": name, "encrypted_step": self.encrypt_step(res.public_id, name, s)}
            for name, s in res.steps.items()
        ])
        res.steps_in_rows = True
        await tx.task_changed(res.task_public_id)
        return res.id

    async def delete_resolution(self, tx: Tx, resolution_id: int) -> None:
        await tx.resolution_changed_by_id(resolution_id)
        await tx.execute(rq.DELETE, {"id": resolution_id})

    async def update_resolution(self, tx: Tx, res: ResolutionRecord, *, next_retry: str = "keep") -> None:
        """Write the resolution's fields (not its steps).

        next_retry: "keep" re-reads the stored value (µTask's Update with an empty next_retry), "guarded"
        applies the §6.7 rule, "force" writes it as is (manual actions and delayed creation).
        """
        await tx.execute(rq.UPDATE_FIELDS, {
            "id": res.id, "state": res.state, "instance_id": res.instance_id, "last_start": res.last_start,
            "last_stop": res.last_stop, "run_count": res.run_count, "run_max": res.run_max,
            "encrypted_resolver_input": self.keyring.encrypt_marshal(res.resolver_inputs, res.public_id),
            "base_configurations": Jsonb(res.base_configurations, dumps=lambda o: dumps(o)),
        })
        await tx.task_changed(res.task_public_id)
        if next_retry == "force":
            await tx.execute(rq.SET_NEXT_RETRY, {"id": res.id, "next_retry": res.next_retry})
        elif next_retry == "guarded" and res.next_retry is not None:
            res.next_retry = await self.update_next_retry(tx, res.id, res.next_retry, notify=False)
        else:
            row = await tx.fetchone(rq.SELECT_NEXT_RETRY, {"id": res.id})
            res.next_retry = row["next_retry"] if row else None

    async def update_next_retry(self, tx: Tx, resolution_id: int, value: datetime, *,
                                notify: bool = True) -> datetime | None:
        """§6.7: apply `value` only if it is in the current run cycle and earlier; return the effective value."""
        if notify:
            await tx.resolution_changed_by_id(resolution_id)
        await tx.execute(rq.ADVISORY_XACT_LOCK, {"id": resolution_id})
        row = await tx.fetchone(rq.UPDATE_NEXT_RETRY_GUARDED, {"id": resolution_id, "next_retry": value})
        if row is None:
            row = await tx.fetchone(rq.SELECT_NEXT_RETRY, {"id": resolution_id})
        return row["next_retry"] if row else None

    async def write_steps(
        self, tx: Tx, res: ResolutionRecord, steps: Mapping[str, Any], names: Iterable[str],
    ) -> None:
        """Upsert the rows of `names` from `steps`; a name absent from `steps` is a removed step.
        One statement for the upserts and one for the deletions, whatever their number."""
        upserts: list[str] = []
        encrypted: list[bytes] = []
        deletes: list[str] = []
        for name in dict.fromkeys(names):
            step = steps.get(name)
            if step is None:
                deletes.append(name)
            else:
                upserts.append(name)
                encrypted.append(self.encrypt_step(res.public_id, name, step))
        # One row: the plain statement (arrays cost more than they save); more: one statement for all.
        if len(upserts) == 1:
            await tx.execute(rq.UPSERT_STEP_ROW, {"id": res.id, "name": upserts[0], "encrypted_step": encrypted[0]})
        elif upserts:
            await tx.execute(rq.UPSERT_STEP_ROWS, {"id": res.id, "names": upserts, "encrypted_steps": encrypted})
        if len(deletes) == 1:
            await tx.execute(rq.DELETE_STEP_ROW, {"id": res.id, "name": deletes[0]})
        elif deletes:
            await tx.execute(rq.DELETE_STEP_ROWS, {"id": res.id, "names": deletes})
        if upserts or deletes:
            await tx.task_changed(res.task_public_id)

    async def replace_all_steps(self, tx: Tx, res: ResolutionRecord, steps: Mapping[str, Any]) -> None:
        """Replace the whole step map (admin PUT /resolution), rows and blob together."""
        await tx.execute(rq.DELETE_ALL_STEP_ROWS, {"id": res.id})
        await self.write_steps(tx, res, steps, list(steps))
        await self.write_blob(tx, res, steps)

    async def write_blob(self, tx: Tx, res: ResolutionRecord, steps: Mapping[str, Any]) -> None:
        """Mirror the steps into µTask's blob (end of a run, creation, edits): O(steps), once per run."""
        alg = res.steps_compression_alg or ""
        await tx.execute(rq.UPDATE_BLOB, {
            "id": res.id, "encrypted_steps": self.encode_blob(res.public_id, steps, alg),
            "steps_compression_alg": alg, "steps_in_rows": True,
        })
        await tx.task_changed(res.task_public_id)

    # -- instances ---------------------------------------------------------------------------------------------
    async def register_instance(self) -> int:
        async with self.tx() as tx:
            row = await tx.fetchone(cq.INSERT_INSTANCE)
        self.instance_id = int(row["id"])
        return self.instance_id

    async def db_now(self) -> datetime:
        async with self.connection() as conn:
            cur = await conn.execute(cq.SELECT_NOW)
            return (await cur.fetchone())["now"]

    # -- key rotation ------------------------------------------------------------------------------------------
    async def rotate_keys(self, *, page_size: int = 10000) -> dict[str, int]:
        """Re-encrypt callbacks, tasks and resolutions (in µTask's order) with the newest key.

        One short transaction per row, like µTask, so a long rotation never holds many locks; rows already
        under the newest key are still rewritten when cheap to keep the code single-path.
        """
        counts = {"callback": 0, "task": 0, "resolution": 0}
        async for item in self._rows_by_id(tq.LIST_CALLBACK_IDS_AFTER, page_size):
            async with self.tx() as tx:
                row = await tx.fetchone(tq.SELECT_CALLBACK_CRYPTED_LOCKED, {"id": item["id"]})
                if row is None:
                    continue
                pid = item["public_id"]
                out = {}
                for col in ("encrypted_schema", "encrypted_body", "encrypted_secret"):
                    data = bytes(row[col])
                    out[col] = self.keyring.encrypt(self.keyring.decrypt(data, pid), pid) if data else data
                await tx.execute(tq.UPDATE_CALLBACK_CRYPTED, {"id": item["id"], **out})
                counts["callback"] += 1
        async for item in self._rows_by_id(tq.LIST_IDS_AFTER, page_size):
            async with self.tx() as tx:
                row = await tx.fetchone(tq.SELECT_CRYPTED_LOCKED, {"id": item["id"]})
                if row is None:
                    continue
                pid = row["public_id"]
                await tx.execute(tq.UPDATE_CRYPTED, {
                    "id": row["id"],
                    "encrypted_input": self.keyring.encrypt_marshal(
                        self.keyring.decrypt_marshal(row["encrypted_input"], pid), pid),
                    "encrypted_result": self.keyring.encrypt(
                        self.keyring.decrypt(bytes(row["encrypted_result"]), pid), pid),
                })
                await audit.reencrypt_details(tx, pid, self.keyring)
                counts["task"] += 1
        async for item in self._rows_by_id(rq.LIST_IDS_AFTER, page_size):
            async with self.tx() as tx:
                try:
                    res = await self.load_resolution(tx, item["public_id"], lock="wait")
                except NotFoundError:
                    continue
                await self.update_resolution(tx, res)
                await self.write_steps(tx, res, res.steps, list(res.steps))
                await self.write_blob(tx, res, res.steps)
                counts["resolution"] += 1
        return counts

    async def _rows_by_id(self, list_after: str, page_size: int) -> AsyncIterator[dict[str, Any]]:
        """Every row `list_after` lists (`{id, public_id}` by increasing id), a page per short transaction."""
        after = 0
        while True:
            async with self.tx() as tx:
                page = await tx.fetchall(list_after, {"after": after, "limit": page_size})
            if not page:
                return
            for item in page:
                after = item["id"]
                yield item


# -- the commit path of a running resolution ---------------------------------------------------------------------


class RunWriter:
    """Persists a running resolution: group commits of changed steps, resolution and task fields.

    The engine hands `commit` the steps that changed (name → step, or None for a removed foreach
    child); only those rows are written, so a commit costs the same in a 10-step and a 10,000-step
    resolution. Commits requested while one is being written are merged into the next transaction, so
    results that arrive together cost one; every caller returns once its own changes are durable (which
    is what makes `mark_running` safe before a non-idempotent execution). State changes of steps, of the
    resolution and of the task are appended to the audit trail in the same transaction.
    """

    def __init__(
        self,
        store: Store,
        res: ResolutionRecord,
        task: TaskRecord,
        steps: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
        on_task_state: Callable[[TaskRecord, str, str], None] | None = None,
        owned_run: int | None = None,
    ) -> None:
        self.store = store
        # The run_count of the run this writer persists: each commit then checks that the run still owns the
        # resolution (RUNNING, same run_count). Once someone else has taken it (a pause or a cancel, forced
        # while a step ran; another run), `taken_over` says by what state, and the writer keeps the steps
        # that finished (same run only) but no longer writes the resolution or the task.
        self.owned_run = owned_run
        self.taken_over: str | None = None  # the state it was taken in ("DELETED": the resolution is gone)
        self.other_run = False  # taken over by another run: nothing more of this one is written
        self.res = res
        self.task = task
        self.steps = steps  # optional live step map, to commit by name
        self.actor = actor
        self.on_task_state = on_task_state
        self._persisted_step_states = {name: _state_of(s) for name, s in res.steps.items()}
        self._persisted_res_state = res.state
        self._persisted_task_state = task.state
        self._pending_steps: dict[str, Any] = {}
        self._pending_res = False
        self._pending_next_retry = False
        self._pending_task = False
        self._pending_result = False
        self._pending_events: list[audit.Event] = []
        self._waiters: list[asyncio.Future] = []
        self._flusher: asyncio.Task | None = None
        self._audit_heads: dict[str, tuple[int, bytes]] = {}  # last links this writer committed
        self.commits = 0  # transactions written (for benchmarks and tests)
        self.rows_written = 0

    async def commit(
        self,
        changes: Mapping[str, Any] | Iterable[str] | None = None,
        resolution_fields: Mapping[str, Any] | None = None,
        task_fields: Mapping[str, Any] | None = None,
        events: Iterable[audit.Event] = (),
    ) -> None:
        """Make `changes` (name → step or None) and the given fields durable; returns once they are."""
        if changes:
            if isinstance(changes, Mapping):
                self._pending_steps.update(changes)
            else:
                for name in changes:
                    self._pending_steps[name] = self.steps.get(name) if self.steps is not None else None
        if self.taken_over is not None:  # the resolution and the task are someone else's now
            resolution_fields = task_fields = None
        if resolution_fields:
            for key, value in resolution_fields.items():
                if key not in _RESOLUTION_FIELDS:
                    raise KeyError(f"unknown resolution field {key!r}")
                setattr(self.res, key, value)
                if key == "next_retry" and value is not None:
                    self._pending_next_retry = True
            self._pending_res = True
        if task_fields:
            for key, value in task_fields.items():
                setattr(self.task, key, value)
            if "result" in task_fields:
                self._pending_result = True
        # µTask bumps the task's last_activity with every commit of the loop.
        self._pending_task = True
        self._pending_events.extend(events)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        self._waiters.append(fut)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_loop())
        await fut

    # The engine's `mark_running` has the same contract: durable before it returns.
    mark_running = commit

    async def _flush_loop(self) -> None:
        while self._waiters:
            waiters, self._waiters = self._waiters, []
            steps, self._pending_steps = self._pending_steps, {}
            res_dirty, self._pending_res = self._pending_res, False
            nr_dirty, self._pending_next_retry = self._pending_next_retry, False
            task_dirty, self._pending_task = self._pending_task, False
            result_dirty, self._pending_result = self._pending_result, False
            events, self._pending_events = self._pending_events, []
            try:
                await self._write(steps, res_dirty, nr_dirty, task_dirty, events, result_dirty)
            except BaseException as e:  # handed to every waiter of this batch
                # Not durable: keep the batch pending for the next commit (newer step versions win).
                for name, st in steps.items():
                    self._pending_steps.setdefault(name, st)
                self._pending_res |= res_dirty
                self._pending_next_retry |= nr_dirty
                self._pending_task |= task_dirty
                self._pending_result |= result_dirty
                self._pending_events[:0] = events
                for w in waiters:
                    if not w.done():
                        w.set_exception(e)
                if isinstance(e, asyncio.CancelledError):
                    raise
                continue
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def _write(
        self, steps: dict[str, Any], res_dirty: bool, nr_dirty: bool, task_dirty: bool,
        events: list[audit.Event], result_dirty: bool = False,
    ) -> None:
        store, res, task = self.store, self.res, self.task
        step_states = {name: _state_of(st) for name, st in steps.items()}
        ev = list(events)
        for name, state in step_states.items():
            before = self._persisted_step_states.get(name)
            if state is not None and state != before:
                err = _field_of(steps[name], "error")
                ev.append(audit.Event(
                    kind=audit.STEP_STATE, task_public_id=res.task_public_id,
                    resolution_public_id=res.public_id, step_name=name, from_state=before, to_state=state,
                    actor=self.actor, instance_id=store.instance_id, details={"error": err} if err else None,
                ))
        res_state_changed = res_dirty and res.state != self._persisted_res_state
        if res_state_changed:
            ev.append(audit.Event(
                kind=audit.RESOLUTION_STATE, task_public_id=res.task_public_id, resolution_public_id=res.public_id,
                from_state=self._persisted_res_state, to_state=res.state, actor=self.actor,
                instance_id=store.instance_id,
            ))
        task_state_changed = task.state != self._persisted_task_state
        if task_state_changed:
            ev.append(audit.Event(
                kind=audit.TASK_STATE, task_public_id=res.task_public_id, resolution_public_id=res.public_id,
                from_state=self._persisted_task_state, to_state=task.state, actor=self.actor,
                instance_id=store.instance_id,
            ))
        for attempt in (1, 2):
            heads = dict(self._audit_heads)
            try:
                async with store.tx(pipeline=True) as tx:
                    # Task row, then resolution row, then its steps: the project's lock order.
                    if self.owned_run is not None and self.taken_over is None:
                        await self._check_owner(tx)
                    if self.taken_over is not None:
                        await self._write_taken_over(tx, steps, ev, heads)
                        break
                    if task_dirty:
                        await store.update_task_run_fields(tx, task, result=result_dirty)
                    if res_dirty:
                        await store.update_resolution(tx, res, next_retry="guarded" if nr_dirty else "keep")
                        if res_state_changed and res.state in _RETRY_COLLECTED:
                            await tx.notify("retry")  # collectors.WAKE_RETRY (collectors imports this module)
                    await store.write_steps(tx, res, steps, list(steps))
                    await audit.append(tx, ev, store.keyring, heads)
            except psycopg.errors.UniqueViolation:
                # Someone else (an API action) extended the audit chain since our last commit.
                self._audit_heads.clear()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                self._audit_heads.clear()
                raise
            self._audit_heads = heads
            break
        if self.taken_over is not None:
            self._audit_heads = heads
            self.commits += 1
            return
        self.commits += 1
        self.rows_written += len(steps)
        for name, state in step_states.items():
            if state is None:
                self._persisted_step_states.pop(name, None)
            else:
                self._persisted_step_states[name] = state
        if res_dirty:
            self._persisted_res_state = res.state
        if task_state_changed and self.on_task_state is not None:
            self.on_task_state(task, self._persisted_task_state, task.state)
        self._persisted_task_state = task.state

    def yield_to(self, res_state: str, task_state: str) -> None:
        """This process took the resolution over (a forced pause, a cancel): the run learns it at once,
        before its next commit would."""
        if self.owned_run is not None and not self.other_run and self.taken_over != "DELETED":
            self.taken_over = res_state
            self.res.state = self._persisted_res_state = res_state
            self.task.state = self._persisted_task_state = task_state

    async def _check_owner(self, tx: Tx) -> None:
        task_row = await tx.fetchone(rq.LOCK_RUN_TASK, {"id_task": self.res.id_task})
        row = await tx.fetchone(rq.LOCK_RUN_RESOLUTION, {"id": self.res.id})
        if row is None or task_row is None:
            self.taken_over = "DELETED"
        elif row["state"] != "RUNNING" or row["run_count"] != self.owned_run:
            self.taken_over, self.other_run = row["state"], row["run_count"] != self.owned_run
        else:
            return
        log.warning("resolution %s: taken over while it ran (%s): the run stops here", self.res.public_id,
                    "by another run" if self.other_run else self.taken_over)
        if row is not None and task_row is not None:  # what the database says, not what this run would have written
            self.res.state = self._persisted_res_state = row["state"]
            self.task.state = self._persisted_task_state = task_row["state"]

    async def _write_taken_over(self, tx: Tx, steps: dict[str, Any], events: list[audit.Event],
                                heads: dict[str, tuple[int, bytes]]) -> None:
        """After a takeover by a pause or a cancel, only the results of executions the database shows under
        way (durably RUNNING, same run) are kept, with their audit events: nothing that started after it, no
        step merely marked to start. After another run (or a deletion), nothing."""
        if self.other_run or self.taken_over == "DELETED":
            return
        steps = {name: st for name, st in steps.items()
                 if self._persisted_step_states.get(name) == "RUNNING" and _state_of(st) not in (None, "RUNNING")}
        if not steps:
            return
        await self.store.write_steps(tx, self.res, steps, list(steps))
        step_events = [e for e in events if e.kind == audit.STEP_STATE and e.step_name in steps]
        await audit.append(tx, step_events, self.store.keyring, heads)
        self.rows_written += len(steps)
        for name, st in steps.items():
            state = _state_of(st)
            if state is None:
                self._persisted_step_states.pop(name, None)
            else:
                self._persisted_step_states[name] = state

    async def write_blob(self, steps: Mapping[str, Any], *, max_backoff: float = 30.0) -> None:
        """Mirror the steps into µTask's blob at the end of a run (O(steps), once per run), retried like
        the final commit (µTask: 1 s, ×2, at most 30 s)."""
        delay = 1.0
        while True:
            try:
                async with self.store.tx() as tx:
                    await self.store.write_blob(tx, self.res, steps)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the database may come back
                log.warning("blob of resolution %s not written: %s", self.res.public_id, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_backoff)


# Resolution states a retry collector will pick up later: announce them so idle instances re-arm their timers.
_RETRY_COLLECTED = frozenset({"ERROR", "WAITING", "TO_AUTORUN_DELAYED"})


def _state_of(step: Any) -> str | None:
    if step is None:
        return None
    if isinstance(step, Mapping):
        return step.get("state")
    return getattr(step, "state", None)


def _field_of(step: Any, name: str) -> Any:
    if step is None:
        return None
    if isinstance(step, Mapping):
        return step.get(name)
    return getattr(step, name, None)
