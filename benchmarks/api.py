"""REST API benchmarks: one JSON line a figure (`python -m benchmarks.api`).

- `GET /task/:id` median latency over HTTP (goal ≤ 5 ms), against the naive floor measured in the same
  run: `GET /unsecured/mon/ping` (framework + one `SELECT 1`).
- `POST /task` throughput with concurrent clients (goal ≥ 300/s).
- The dashboard's list page on a big history: 10,000 more tasks bulk-inserted (SQL COPY, encrypted like the
  server's own), then the median latency of `GET /task?page_size=20` as a regular user, with a state
  filter, and `type=all` as an administrator (goal ≤ 300 ms, far above what it takes), and the time to the
  first `stats` event of `GET /task/events` (the counts by state the list page charts).

The server is `utask serve` as an operator runs it (a real subprocess: plugin host, engine, collectors,
template publishing, basic auth, `GIN_MODE=release` compact JSON, its log lines written to /dev/null), on a
fresh, migrated database (`UTASK_BENCH_DATABASE_URL`, else `UTASK_TEST_DATABASE_URL`, else the local server on
127.0.0.1:5432, else the embedded PostgreSQL); the database is dropped at the end. The HTTP client runs in a
process of its own (`python -m benchmarks.api --client ...`, asyncio, a bounded number of requests), so
the server's figures are not those of a process that also drives the load; the client speaks plain
HTTP/1.1 over keep-alive connections (httpx would cost it as much CPU as the server spends).

Every figure carries the load average beside it, and the server's CPU time per request (utime + stime from
/proc, load-independent): on a shared 2-core machine the client, PostgreSQL and the server compete for the
same cores, so `cpu_bound_value` (1000 / server CPU ms per request) says what one server process sustains
when it has a core to itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

TEMPLATE = """
name: bench-template
description: benchmark
title_format: bench {{.input.id}}
inputs:
  - name: id
steps:
  step:
    action:
      type: echo
      configuration:
        output: {foo: bar}
"""


def _admin_url() -> tuple[str, Any]:
    for name in ("UTASK_BENCH_DATABASE_URL", "UTASK_TEST_DATABASE_URL"):
        if os.environ.get(name):
            return os.environ[name], None
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return "postgresql://postgres@127.0.0.1:5432/postgres", None
    except OSError:
        from utask.core.storage.embedded import EmbeddedPostgres

        server = EmbeddedPostgres.default(purpose="bench")
        server.start()
        return server.url("postgres"), server


def _with_dbname(url: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the server process: the load-independent cost of what it served."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BENCH_USER, BENCH_PASSWORD = "bench", "bench-password"  # a regular (non-admin) user, as most callers are
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-password"


def _serve_env(url: str, port: int, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CFG_", "CONFIGURATION_FROM", "SERVER_", "DEBUG", "MAINTENANCE_MODE", "TEMPLATES",
                                "FUNCTIONS", "SCRIPTS", "REGION", "LOGS_FORMAT", "UTASK_DATA_DIR", "GIN_MODE"))}
    env.update({
        "CONFIGURATION_FROM": "env:CFG", "CFG_DATABASE": url, "CFG_ENCRYPTION_KEY": key,
        "CFG_UTASK_CFG": json.dumps({"admin_usernames": ["admin"], "application_name": "bench"}),
        "CFG_BASIC_AUTH": json.dumps({BENCH_USER: BENCH_PASSWORD, ADMIN_USER: ADMIN_PASSWORD}),
        "SERVER_PORT": str(port), "SERVER_HOST": "127.0.0.1", "GIN_MODE": "release",
    })
    return env


def _utask_bin() -> str:
    return str(Path(sys.executable).with_name("utask"))


def _wait_ready(proc: subprocess.Popen, base: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"utask serve exited with status {proc.returncode}")
        try:
            if httpx.get(base + "/unsecured/mon/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("utask serve did not start")
        time.sleep(0.1)


# -- the client process ------------------------------------------------------------------------------------


class _Connection:
    """A minimal HTTP/1.1 keep-alive client: httpx costs the client ~2.5 ms of CPU a request, as much as the
    server itself, which on a 2-core machine measures the client more than the server."""

    def __init__(self, base: str, admin: bool = False) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        user, password = (ADMIN_USER, ADMIN_PASSWORD) if admin else (BENCH_USER, BENCH_PASSWORD)
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = f"Host: {host}:{port}\r\nAuthorization: Basic {token}\r\nAccept: application/json\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.headers}{extra}\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length) if length else b""

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def _post_body(i: Any) -> bytes:
    return json.dumps({"template_name": "bench-template", "input": {"id": f"t{i}"}}).encode()


async def _client(base: str, phase: str, rounds: int, concurrency: int, task_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if phase == "create":
        conn = _Connection(base)
        status, body = await conn.request("POST", "/task", _post_body("first"))
        assert status == 201, body
        out["task_id"] = json.loads(body)["id"]
        await conn.close()
    elif phase in ("latency", "latency-admin"):
        conn = _Connection(base, admin=phase == "latency-admin")
        path = "/unsecured/mon/ping" if not task_id else task_id if task_id.startswith("/") else f"/task/{task_id}"
        for _ in range(50):  # warm-up: pools, caches
            await conn.request("GET", path)
        latencies = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            status, body = await conn.request("GET", path)
            latencies.append(time.perf_counter() - t0)
            assert status == 200, body
        out["latencies"] = latencies
        await conn.close()
    elif phase == "stream-first":
        # Open `task_id` (an event stream path) `rounds` times; the time to its first `stats` event each time.
        latencies = []
        for _ in range(rounds + 5):
            reader, writer = await asyncio.open_connection(*base.removeprefix("http://").split(":"))
            head = _Connection(base).headers
            t0 = time.perf_counter()
            writer.write(f"GET {task_id} HTTP/1.1\r\n{head}\r\n".encode())
            data = b""
            while b"event: stats\ndata: " not in data or not data.split(b"event: stats\ndata: ", 1)[1].count(b"\n"):
                chunk = await reader.read(65536)
                if not chunk:
                    raise RuntimeError(f"stream ended: {data[:300]!r}")
                data += chunk
            latencies.append(time.perf_counter() - t0)
            writer.close()
            await writer.wait_closed()
        out["latencies"] = latencies[5:]  # the first ones warm the server up
    elif phase == "throughput":
        conns = [_Connection(base) for _ in range(concurrency)]
        for i, conn in enumerate(conns * 4):  # warm-up: every connection, the server's pools and caches
            await conn.request("POST", "/task", _post_body(f"w{i}"))
        counter = iter(range(rounds))

        async def worker(conn: _Connection) -> int:
            done = 0
            for i in counter:
                status, body = await conn.request("POST", "/task", _post_body(i))
                assert status == 201, body
                done += 1
            return done

        # The parent reads the server's CPU between these two lines (the warm-up is not measured).
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.readline()
        t0, c0 = time.perf_counter(), time.process_time()
        out["created"] = sum(await asyncio.gather(*(worker(c) for c in conns)))
        out["seconds"] = time.perf_counter() - t0
        out["client_cpu_seconds"] = time.process_time() - c0
        for conn in conns:
            await conn.close()
    return out


def _run_client(base: str, phase: str, *, rounds: int = 0, concurrency: int = 1, task_id: str = "",
                on_ready: Any = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.api", "--client", base, phase, str(rounds), str(concurrency), task_id]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None and proc.stdin is not None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        msg = json.loads(line)
        if msg.get("ready"):
            if on_ready is not None:
                on_ready()
            proc.stdin.write("go\n")
            proc.stdin.flush()
        else:
            result = msg
    if proc.wait() != 0:
        raise RuntimeError(f"benchmark client failed ({phase})")
    return result


# -- the figures -------------------------------------------------------------------------------------------


def _measure(base: str, pid: int) -> list[dict[str, Any]]:
    task_id = _run_client(base, "create")["task_id"]
    floor = _run_client(base, "latency", rounds=500)["latencies"]
    cpu0 = _cpu_seconds(pid)
    get_task = _run_client(base, "latency", rounds=1000, task_id=task_id)["latencies"]
    # Includes the client's 50 warm-up requests.
    get_cpu_ms = (_cpu_seconds(pid) - cpu0) / (len(get_task) + 50) * 1000
    get_load = os.getloadavg()[0]

    total, concurrency = 3000, 16
    marks: dict[str, float] = {}
    post = _run_client(base, "throughput", rounds=total, concurrency=concurrency,
                       on_ready=lambda: marks.setdefault("cpu0", _cpu_seconds(pid)))
    post_cpu_ms = (_cpu_seconds(pid) - marks["cpu0"]) / post["created"] * 1000
    created, elapsed = post["created"], post["seconds"]

    def ms(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)

    lists = _measure_lists(base)

    return [
        {"figure": "api_get_task_latency_ms", "p50": round(statistics.median(get_task) * 1000, 3), "goal_p50": 5.0,
         "p90": ms(get_task, 0.9), "p99": ms(get_task, 0.99), "rounds": len(get_task),
         "baseline": "GET /unsecured/mon/ping", "baseline_p50": round(statistics.median(floor) * 1000, 3),
         "server_cpu_ms_per_request": round(get_cpu_ms, 3), "load_average": round(get_load, 2)},
        {"figure": "api_post_task_throughput_per_s", "value": round(created / elapsed, 1), "goal": 300,
         "tasks": created, "concurrency": concurrency, "seconds": round(elapsed, 3),
         "server_cpu_ms_per_request": round(post_cpu_ms, 3),
         # What the server's CPU allows when it has a core to itself (the client and PostgreSQL share the box).
         "cpu_bound_value": round(1000 / post_cpu_ms, 1) if post_cpu_ms else None,
         "client_cpu_ms_per_request": round(post["client_cpu_seconds"] / created * 1000, 3),
         "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2)},
        *lists,
    ]


LIST_TASKS = 10_000


def _bulk_insert(url: str, key: str, count: int) -> None:
    """`count` tasks of bench-template, most DONE, spread over 30 days, a third of them the bench user's, each
    non-TODO one with a resolution (COPY: seconds, where POST /task would take minutes)."""
    import random
    from datetime import UTC, datetime, timedelta

    from utask.core.crypto import KeyRing

    keyring = KeyRing.from_values([key])
    rnd = random.Random(7)
    states = ("DONE",) * 16 + ("TODO", "RUNNING", "BLOCKED", "CANCELLED", "WONTFIX")
    users = (BENCH_USER, "alice", "carol")
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        template_id = conn.execute("SELECT id FROM task_template WHERE name = 'bench-template'").fetchone()[0]
        rows = []
        for i in range(count):
            pid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            last = now - timedelta(seconds=rnd.uniform(0, 30 * 86400))
            rows.append((pid, template_id, f"bulk {i}", rnd.choice(users), "[]", "null", last, last,
                         rnd.choice(states), 0, 1, b"", keyring.encrypt_marshal({"id": str(i)}, pid),
                         keyring.encrypt(b"{}", pid)))
        with conn.cursor() as cur, cur.copy(
                'COPY "task" (public_id, id_template, title, requester_username, requester_groups, watcher_usernames, '
                "created, last_activity, state, steps_done, steps_total, crypt_key, encrypted_input, "
                "encrypted_result) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute("""
            INSERT INTO "resolution" (public_id, id_task, resolver_username, state, created, last_start, last_stop,
                                      run_count, run_max, crypt_key, encrypted_steps, base_configurations)
            SELECT gen_random_uuid(), t.id, t.requester_username,
                   CASE t.state WHEN 'BLOCKED' THEN 'BLOCKED_BADREQUEST' WHEN 'WONTFIX' THEN 'CANCELLED'
                                ELSE t.state END,
                   t.created, t.created, t.last_activity, 1, 10, ''::bytea, ''::bytea, '{}'::jsonb
            FROM "task" t LEFT JOIN "resolution" r ON r.id_task = t.id
            WHERE r.id IS NULL AND t.state <> 'TODO' AND t.title LIKE 'bulk %'""")
        conn.execute('ANALYZE "task"')
        conn.execute('ANALYZE "resolution"')


def _measure_lists(base: str) -> list[dict[str, Any]]:
    url, key = _CONTEXT["url"], _CONTEXT["key"]
    _bulk_insert(url, key, LIST_TASKS)
    with psycopg.connect(url) as conn:
        total = conn.execute('SELECT count(*) FROM "task"').fetchone()[0]

    def p50(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 3)

    def p90(values: list[float]) -> float:
        return round(sorted(values)[int(0.9 * len(values))] * 1000, 3)

    out = []
    cases = [
        ("api_list_20_of_10000_tasks_ms", "latency", "/task?page_size=20", "regular user, type=own"),
        ("api_list_20_of_10000_tasks_state_filter_ms", "latency", "/task?page_size=20&state=BLOCKED",
         "regular user, type=own, state=BLOCKED"),
        ("api_list_20_of_10000_tasks_admin_all_ms", "latency-admin", "/task?page_size=20&type=all",
         "administrator, type=all"),
        ("api_list_20_of_10000_tasks_admin_all_state_ms", "latency-admin",
         "/task?page_size=20&type=all&state=RUNNING", "administrator, type=all, state=RUNNING"),
    ]
    for figure, phase, path, who in cases:
        lat = _run_client(base, phase, rounds=200, task_id=path)["latencies"]
        out.append({"figure": figure, "p50": p50(lat), "goal_p50": 300.0, "p90": p90(lat), "rounds": len(lat),
                    "request": f"GET {path}", "caller": who, "tasks_in_database": total,
                    "load_average": round(os.getloadavg()[0], 2)})
    lat = _run_client(base, "stream-first", rounds=50, task_id="/task/events?type=own")["latencies"]
    out.append({"figure": "api_task_events_first_stats_ms", "p50": p50(lat), "goal_p50": 300.0, "p90": p90(lat),
                "rounds": len(lat), "request": "GET /task/events (until its first `stats` event)",
                "caller": "regular user, type=own", "tasks_in_database": total,
                "load_average": round(os.getloadavg()[0], 2)})
    return out


_CONTEXT: dict[str, str] = {}


def main() -> None:
    admin, embedded = _admin_url()
    name = f"utask_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_dbname(admin, name)
    proc = None
    try:
        from utask.core.crypto import generate_key_json
        from utask.core.storage import migrate

        migrate(url)
        key = generate_key_json(timestamp=1_600_000_000)
        _CONTEXT.update(url=url, key=key)
        with tempfile.TemporaryDirectory(prefix="utask-bench-") as work:
            # `utask serve` publishes ./templates at start-up, as in a deployment.
            (Path(work) / "templates").mkdir()
            (Path(work) / "templates" / "bench-template.yaml").write_text(TEMPLATE)
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen([_utask_bin(), "serve"], env=_serve_env(url, port, key), cwd=work,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait_ready(proc, base)
            for line in _measure(base, proc.pid):
                print(json.dumps(line), flush=True)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        _base, _phase, _rounds, _conc = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        _task = sys.argv[6] if len(sys.argv) > 6 else ""
        print(json.dumps(asyncio.run(_client(_base, _phase, _rounds, _conc, _task))), flush=True)
    else:
        main()
