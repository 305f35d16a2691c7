"""Start-up and idle footprint: one JSON line a figure (`python -m benchmarks.startup`).

`utask serve` is run as an operator runs it (a subprocess, `CONFIGURATION_FROM=env:CFG`, the five example
templates of `templates/`, its log lines to a file) on an *existing* database: a scratch database created for
the run, migrated and with the templates published by a first start that is not measured, dropped at the end
(`UTASK_BENCH_DATABASE_URL`, else `UTASK_TEST_DATABASE_URL`, else the local server on 127.0.0.1:5432, else
the embedded PostgreSQL).

Figures:
1. `startup_to_ping_s`: from `exec` of `utask serve` to the first `200` of `/unsecured/mon/ping` (polled every
   10 ms), over `--rounds` starts (default 5): median, min, max, and the load average of each start
   (goal ≤ 2 s); beside it `cpu_s_median`, the CPU time the server and every process it started (workers,
   the catalog process) spent until then (what the load barely moves), and `python_startup_s`, a bare
   `python -c pass`.
2. `idle_pss_mb`: the server settled 3 s after start-up: PSS summed over its process tree (server and every
   sandboxed worker it holds; shared pages counted once), from `/proc/<pid>/smaps_rollup` (goal ≤ 150 MB),
   with the RSS sum, the server process alone, and the number of processes.
3. `idle_pss_mb_after_task`: the same after one `hello-world` task ran to DONE (the `echo` worker is then
   warm) and the server settled again.
4. `first_execution_ms`: in process, a fresh plugin host (lazy workers): the first `echo` execution, which
   spawns and confines the worker, against the warm executions that follow, over `--cold` fresh hosts.

Wall-clock figures move with the load of the shared machine: every line carries the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from .api import _admin_url, _free_port, _with_dbname
from .procfs import memory_kb, process_tree

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
UTASK = str(Path(sys.executable).with_name("utask"))
AUTH = "Basic " + base64.b64encode(b"admin:1234").decode()


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _env(url: str, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CFG_", "CONFIGURATION_FROM", "SERVER_PORT", "TEMPLATES", "FUNCTIONS", "SCRIPTS"))}
    env.update({"CONFIGURATION_FROM": "env:CFG", "CFG_DATABASE": url,
                "CFG_UTASK_CFG": json.dumps({"admin_usernames": ["admin"], "application_name": "bench"}),
                "CFG_ENCRYPTION_KEY": key, "CFG_BASIC_AUTH": json.dumps({"admin": "1234"})})
    return env


def _get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": AUTH})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local server
        return response.status, response.read()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": AUTH, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
        return json.loads(response.read())


class Server:
    """`utask serve` in a subprocess; `start()` returns the seconds from exec to the first ping answered."""

    def __init__(self, url: str, key: str) -> None:
        self.env = _env(url, key)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - not a pipe: nobody reads it meanwhile
        self.proc: subprocess.Popen | None = None

    def cpu(self) -> float:
        """CPU seconds spent by the server and every process it started, running (workers) or reaped (the
        catalog process): the load barely moves it, unlike the wall time."""
        assert self.proc is not None
        ticks = 0
        for pid in process_tree(self.proc.pid):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
                ticks += sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def start(self) -> float:
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([UTASK, "serve", "--http-host", "127.0.0.1", "--http-port", str(self.port),
                                      "--templates-path", str(TEMPLATES)], env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=self.errors, text=True)
        deadline = t0 + 120
        while True:
            with contextlib.suppress(OSError):
                if _get(f"{self.base}/unsecured/mon/ping", timeout=0.5)[0] == 200:
                    return time.perf_counter() - t0
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.errors.seek(0)
                raise RuntimeError("utask serve did not start: " + self.errors.read()[-4000:])
            time.sleep(0.01)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errors.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _footprint(pid: int, figure: str) -> dict[str, Any]:
    samples = []
    for _ in range(3):
        pids = process_tree(pid)
        samples.append((sum(memory_kb(p, "Pss") for p in pids), sum(memory_kb(p, "Rss") for p in pids),
                        memory_kb(pid, "Pss"), memory_kb(pid, "Rss"), len(pids)))
        time.sleep(0.5)
    pss, rss, own_pss, own_rss, count = samples[-1]
    return {"figure": figure, "value": round(pss / 1024, 1), "goal": 150, "rss_sum_mb": round(rss / 1024, 1),
            "server_process_pss_mb": round(own_pss / 1024, 1), "server_process_rss_mb": round(own_rss / 1024, 1),
            "processes": count, "load_average": _load()}


def _run_task(base: str) -> str:
    created = _post(f"{base}/task", {"template_name": "hello-world", "input": {"name": "Ada"}})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = json.loads(_get(f"{base}/task/{created['id']}")[1])["state"]
        if state in ("DONE", "BLOCKED", "CANCELLED"):
            return state
        time.sleep(0.05)
    return "TIMEOUT"


async def _first_execution(rounds: int, warm_rounds: int = 20) -> dict[str, Any]:
    from utask.core.plugins import ExecutionIdentity, PluginHost

    identity = ExecutionIdentity("bench-task", "bench-resolution", "step")
    config = {"output": {"id": 42}}
    cold, warm, loads = [], [], []
    for _ in range(rounds):
        host = PluginHost.from_config({"defaults": {"max_executions": 100000}})
        await host.start()
        try:
            loads.append(_load())
            t0 = time.perf_counter()
            result = await host.execute("echo", config=config, identity=identity)
            cold.append((time.perf_counter() - t0) * 1000)
            assert result.error is None, result.error
            for _ in range(warm_rounds):
                t0 = time.perf_counter()
                result = await host.execute("echo", config=config, identity=identity)
                warm.append((time.perf_counter() - t0) * 1000)
                assert result.error is None, result.error
        finally:
            await host.stop()
    return {"figure": "first_execution_ms", "median": round(statistics.median(cold), 1),
            "min": round(min(cold), 1), "max": round(max(cold), 1), "rounds": rounds,
            "warm_median_ms": round(statistics.median(warm), 3), "warm_executions": len(warm),
            "load_average": [min(loads), max(loads)]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup")
    parser.add_argument("--rounds", type=int, default=5, help="measured starts of `utask serve` (default 5)")
    parser.add_argument("--cold", type=int, default=7, help="fresh plugin hosts for first_execution_ms (default 7)")
    parser.add_argument("--only", default="", help="comma-separated figure numbers (default: all)")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x} or {1, 2, 3, 4}
    from utask.core.crypto import generate_key_json
    from utask.core.storage import migrate

    admin, embedded = _admin_url()
    name = f"utask_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_dbname(admin, name)
    key = generate_key_json(timestamp=1_600_000_000)
    try:
        if only & {1, 2, 3}:
            migrate(url)
            with Server(url, key) as first:  # the database then exists: migrated, templates published
                first.start()
            python = []
            for _ in range(3):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-c", "pass"], check=True)
                python.append(time.perf_counter() - t0)
        if 1 in only:
            times, cpu, loads = [], [], []
            for _ in range(args.rounds):
                loads.append(_load())
                with Server(url, key) as server:
                    times.append(server.start())
                    cpu.append(server.cpu())
            print(json.dumps({"figure": "startup_to_ping_s", "median": round(statistics.median(times), 3),
                              "min": round(min(times), 3), "max": round(max(times), 3), "rounds": len(times),
                              "goal": 2, "cpu_s_median": round(statistics.median(cpu), 3),
                              "python_startup_s": round(statistics.median(python), 3),
                              "load_average": loads}), flush=True)
        if only & {2, 3}:
            with Server(url, key) as server:
                server.start()
                assert server.proc is not None
                time.sleep(3)  # idle: start-up done, collectors asleep
                if 2 in only:
                    print(json.dumps(_footprint(server.proc.pid, "idle_pss_mb")), flush=True)
                if 3 in only:
                    state = _run_task(server.base)
                    time.sleep(3)
                    line = _footprint(server.proc.pid, "idle_pss_mb_after_task")
                    print(json.dumps({**line, "task_state": state}), flush=True)
        if 4 in only:
            print(json.dumps(asyncio.run(_first_execution(args.cold))), flush=True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
