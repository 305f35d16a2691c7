"""REST API benchmarks: one JSON line a figure (`python -m benchmarks.api`).

- `GET /task/:id` median latency over HTTP (goal ≤ 5 ms), against the naive floor measured in the same
  run: `GET /unsecured/mon/ping` (framework + one `SELECT 1`).
- `POST /task` throughput with concurrent clients (goal ≥ 300/s).

The server is the real app (create_app + build_api, compact JSON as in release mode, the audit log line
written at INFO to /dev/null) served by uvicorn in its own process, on a fresh, migrated database
(`UTASK_BENCH_DATABASE_URL`, else `UTASK_TEST_DATABASE_URL`, else the local server on 127.0.0.1:5432, else
the embedded PostgreSQL); the database is dropped at the end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import socket
import statistics
import time
import uuid
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


def _settings(url: str) -> Any:
    from utask.core.config import Settings, UtaskConfig
    from utask.core.crypto import KeyRing, generate_key_json

    return Settings(database_url=url, keyring=KeyRing.from_values([generate_key_json(timestamp=1_600_000_000)]),
                    utask=UtaskConfig.from_dict({"admin_usernames": ["admin"], "application_name": "bench"}))


def _serve(url: str, port: int, key: str) -> None:
    import uvicorn
    from utask.core.config import Settings
    from utask.core.crypto import KeyRing
    from utask.core.engine.service import TaskService
    from utask.core.engine.store import Store
    from utask.hostapi.api import Services, build_api
    from utask.hostapi.app import ServeOptions, create_app

    handler = logging.FileHandler(os.devnull)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    base = _settings(url)
    settings = Settings(database_url=url, keyring=KeyRing.from_values([key]), utask=base.utask)
    store = Store(url, settings.keyring, pool_size=10)
    from utask.core.storage import Database

    database = Database.connect(url, pool_size=2)
    app = create_app(settings, database, ServeOptions())
    build_api(app, Services(settings=settings, store=store, tasks=TaskService(store), database=database,
                            pretty_json=False))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the server process: the load-independent cost of what it served."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(base: str, pid: int) -> list[dict[str, Any]]:
    import httpx

    headers = {"x-remote-user": "regular"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        r = await client.post("/task", json={"template_name": "bench-template", "input": {"id": "first"}})
        r.raise_for_status()
        task_id = r.json()["id"]

        async def latencies(path: str, rounds: int) -> list[float]:
            for _ in range(50):  # warm-up: pools, caches
                await client.get(path)
            out = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                resp = await client.get(path)
                out.append(time.perf_counter() - t0)
                assert resp.status_code == 200, resp.text
            return out

        floor = await latencies("/unsecured/mon/ping", 500)
        cpu0 = _cpu_seconds(pid)
        get_task = await latencies(f"/task/{task_id}", 1000)
        get_cpu_ms = (_cpu_seconds(pid) - cpu0) / len(get_task) * 1000

        total, concurrency = 1500, 16
        counter = iter(range(total))

        async def worker() -> int:
            done = 0
            for i in counter:
                resp = await client.post("/task", json={"template_name": "bench-template", "input": {"id": f"t{i}"}})
                assert resp.status_code == 201, resp.text
                done += 1
            return done

        t0, cpu0 = time.perf_counter(), _cpu_seconds(pid)
        created = sum(await asyncio.gather(*(worker() for _ in range(concurrency))))
        elapsed = time.perf_counter() - t0
        post_cpu_ms = (_cpu_seconds(pid) - cpu0) / created * 1000

    def ms(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)

    return [
        {"figure": "api_get_task_latency_ms", "p50": round(statistics.median(get_task) * 1000, 3),
         "p90": ms(get_task, 0.9), "p99": ms(get_task, 0.99), "goal_p50": 5.0, "rounds": len(get_task),
         "baseline": "GET /unsecured/mon/ping", "baseline_p50": round(statistics.median(floor) * 1000, 3),
         "server_cpu_ms_per_request": round(get_cpu_ms, 3), "load_average": os.getloadavg()[0]},
        {"figure": "api_post_task_throughput_per_s", "value": round(created / elapsed, 1), "goal": 300,
         "tasks": created, "concurrency": concurrency, "seconds": round(elapsed, 3),
         "server_cpu_ms_per_request": round(post_cpu_ms, 3),
         # One server process: what its CPU allows when it has a core to itself (shared machines lie).
         "cpu_bound_value": round(1000 / post_cpu_ms, 1) if post_cpu_ms else None,
         "load_average": os.getloadavg()[0]},
    ]


def main() -> None:
    admin, embedded = _admin_url()
    name = f"utask_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_dbname(admin, name)
    proc = None
    try:
        from utask.core.crypto import generate_key_json
        from utask.core.engine.store import Store
        from utask.core.storage import migrate
        from utask.core.templates import parse_template
        from utask.hostapi.ops.templates import upsert_templates

        migrate(url)
        key = generate_key_json(timestamp=1_600_000_000)

        async def publish() -> None:
            from utask.core.crypto import KeyRing

            store = Store(url, KeyRing.from_values([key]), pool_size=1)
            try:
                await upsert_templates(store, [parse_template(TEMPLATE)])
            finally:
                await store.close()

        asyncio.run(publish())
        port = _free_port()
        proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(url, port, key), daemon=True)
        proc.start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.05)
        for line in asyncio.run(_measure(base, proc.pid)):
            print(json.dumps(line), flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.join(5)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
