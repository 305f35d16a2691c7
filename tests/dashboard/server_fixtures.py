"""Helpers of the dashboard's server-side tests (static files, events, list scale): not a conftest, so the
browser tests' `conftest.py` beside it stays theirs.

- `bulk_insert_tasks`: thousands of tasks (and resolutions) in a few COPY statements, encrypted with the
  server's key so `GET /task/:id` can still read them;
- `serve_process`: a real `utask serve` subprocess on a given database (basic auth users below);
- `SSEReader`: reads a text/event-stream from an httpx streaming response, event by event, with a deadline.
"""

from __future__ import annotations

import json
import queue
import random
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.foundation.conftest import HELLO_WORLD, UTASK_BIN, clean_environ, free_port, utask_env
from tests.foundation.test_cli import wait_for_ping

USERS = {"admin": "1234", "alice": "5678", "bob": "9012"}
STATES = ("DONE",) * 16 + ("TODO", "RUNNING", "BLOCKED", "CANCELLED", "WONTFIX")


def bulk_insert_tasks(url: str, keyring: Any, template_id: int, count: int, *,
                      users: tuple[str, ...] = ("alice", "bob", "carol", "dave"), seed: int = 8,
                      now: datetime | None = None) -> list[str]:
    """`count` tasks of `template_id` spread over 30 days of activity, most DONE, each non-TODO one with a
    resolution; requesters and watchers drawn from `users`. Returns the public ids, newest activity first."""
    rnd = random.Random(seed)
    now = now or datetime.now(UTC)
    tasks: list[tuple] = []
    for i in range(count):
        public_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        state = rnd.choice(STATES)
        requester = rnd.choice(users)
        watchers = [u for u in users if u != requester and rnd.random() < 0.1] or None
        last = now - timedelta(seconds=rnd.uniform(0, 30 * 86400))
        created = last - timedelta(seconds=rnd.uniform(0, 3600))
        done = 1 if state == "DONE" else 0
        tasks.append((public_id, template_id, f"bulk task {i}", requester, json.dumps([]),
                      json.dumps(watchers), created, last, state, done,
                      keyring.encrypt_marshal({"id": str(i)}, public_id),
                      keyring.encrypt(b"{}", public_id)))
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy(
            'COPY "task" (public_id, id_template, title, requester_username, requester_groups, '
            "watcher_usernames, created, last_activity, state, steps_done, steps_total, crypt_key, "
            "encrypted_input, encrypted_result) FROM STDIN"
        ) as copy:
            for (pid, tid, title, req, groups, watchers, created, last, state, done, enc_in, enc_res) in tasks:
                copy.write_row((pid, tid, title, req, groups, watchers, created, last, state, done, 1, b"",
                                enc_in, enc_res))
        rows = conn.execute('SELECT id, public_id::text, state, requester_username, created, last_activity '
                            'FROM "task" WHERE public_id = ANY(%s)', ([t[0] for t in tasks],)).fetchall()
        res_state = {"DONE": "DONE", "RUNNING": "RUNNING", "BLOCKED": "BLOCKED_BADREQUEST",
                     "CANCELLED": "CANCELLED", "WONTFIX": "CANCELLED"}
        with conn.cursor() as cur, cur.copy(
            'COPY "resolution" (public_id, id_task, resolver_username, state, created, last_start, last_stop, '
            "run_count, run_max, crypt_key, encrypted_steps, base_configurations) FROM STDIN"
        ) as copy:
            for task_id, _pid, state, req, created, last in rows:
                if state == "TODO":
                    continue
                rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                copy.write_row((rid, task_id, req, res_state[state], created, created, last, 1, 10, b"",
                                keyring.encrypt(b"{}", rid), "{}"))
        conn.execute('ANALYZE "task"')
        conn.execute('ANALYZE "resolution"')
    return [t[0] for t in sorted(tasks, key=lambda t: t[7], reverse=True)]


# -- a real `utask serve` ------------------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    workdir: Path
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, user: str = "admin", **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(user, USERS[user]), timeout=kw.pop("timeout", 15), **kw)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 60) -> float:
        """SIGTERM; returns how long the process took to exit."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return time.monotonic() - t0


def serve_process(database_url: str, workdir: Path, *, utask_cfg: dict | None = None,
                  templates: list[Path] | None = None) -> Served:
    """Start `utask serve` on `database_url` (already created; it migrates) with hello-world (+ `templates`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    tdir = workdir / "templates"
    tdir.mkdir(exist_ok=True)
    for t in [HELLO_WORLD, *(templates or [])]:
        shutil.copy(t, tdir / Path(t).name)
    port = free_port()
    env = clean_environ(**utask_env(database_url), SERVER_PORT=str(port))
    env["CFG_BASIC_AUTH"] = json.dumps(USERS)
    env["CFG_UTASK_CFG"] = json.dumps({"admin_usernames": ["admin"], "application_name": "µTask",
                                        **(utask_cfg or {})})
    log = workdir / f"server-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([UTASK_BIN, "serve"], env=env, cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
    wait_for_ping(proc, port)
    return Served(f"http://127.0.0.1:{port}", proc, workdir, log)


@contextmanager
def served(database_url: str, workdir: Path, **kw: Any) -> Iterator[Served]:
    server = serve_process(database_url, workdir, **kw)
    try:
        yield server
    finally:
        server.stop()
        text = server.output()
        assert "Traceback" not in text, text[-5000:]


# -- reading a text/event-stream -------------------------------------------------------------------------------


@dataclass
class Event:
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class SSEReader:
    """Events of a streaming httpx response, read by a thread so `next(timeout)` can give up."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self._q: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        event, data = "message", []
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if data:
                        self._q.put(Event(event, "\n".join(data)))
                    event, data = "message", []
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "event":
                        event = value
                    elif name == "data":
                        data.append(value)
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self._q.put(None)

    def next(self, timeout: float = 10) -> Event | None:
        """The next event; None at the end of the stream. Raises TimeoutError."""
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no event within {timeout}s") from None

    def until(self, predicate: Any, timeout: float = 30) -> Event:
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching event within {timeout}s; saw {seen[-10:]}")
            ev = self.next(left)
            if ev is None:
                raise EOFError(f"stream ended; saw {seen[-10:]}")
            seen.append((ev.event, ev.data[:200]))
            if predicate(ev):
                return ev


# -- the app in process, behind a real uvicorn (streams need a real HTTP server) -----------------------------


class ThreadedServer:
    """`create_app` + `build_api` (no engine) served by uvicorn on its own event loop in a thread, so a test
    can look inside the running process (the live-updates hub, the loop's tasks)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app: Any = None
        self.loop: Any = None
        self.server: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        asyncio.run(self._main())

    async def _main(self) -> None:
        import asyncio

        import uvicorn
        from utask.core.engine.service import TaskService
        from utask.core.engine.store import Store
        from utask.hostapi.api import Services, build_api
        from utask.hostapi.app import create_app

        self.loop = asyncio.get_running_loop()
        store = Store(self.settings.database_url, self.settings.keyring, pool_size=4)
        self.app = create_app(self.settings, None)
        build_api(self.app, Services(settings=self.settings, store=store, tasks=TaskService(store)))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on",
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
        task = asyncio.ensure_future(self.server.serve())
        while not self.server.started and not task.done():
            await asyncio.sleep(0.02)
        self._ready.set()
        try:
            await task
        finally:
            await store.close()

    def start(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("in-process server did not start")
        return self

    def call(self, fn: Any, timeout: float = 10) -> Any:
        """Run `fn()` (sync, or returning an awaitable) on the server's loop; its result."""
        import asyncio
        import inspect

        async def run() -> Any:
            out = fn()
            return await out if inspect.isawaitable(out) else out

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self._thread.join(30)
