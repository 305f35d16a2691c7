"""Engine benchmarks, end to end: one JSON line a figure (`python -m benchmarks.engine`).

Everything is the real thing: the composition root of `utask serve` (`utask.hostapi.server.Runtime`: the
plugin host with its sandboxed warm workers, templates published from YAML files, the store with encryption,
the task service, the coordinator and its LISTEN/NOTIFY collectors), the builtin `echo` plugin executed in
its confined worker (one forked child per execution), on a scratch PostgreSQL database created for the run
and dropped at the end (`UTASK_BENCH_DATABASE_URL`, else `UTASK_TEST_DATABASE_URL`, else the local server on
127.0.0.1:5432, else the embedded PostgreSQL).

Figures (design §7):
1. `engine_chain_40_steps_seconds`: 40 sequential echo steps, run start → resolution DONE (goal ≤ 0.4 s);
   baseline: 40 × one warm sandboxed echo round trip measured in the same run (the floor without engine
   and database).
2. `engine_foreach_1000_steps_per_s`: one instance, a foreach of 1,000 echo items (goal ≥ 1,000 steps/s);
   baseline: the plugin host alone executing 1,000 echoes with as many in flight as the engine allows.
3. `engine_foreach_per_step_ratio`: per-step cost of a foreach of N (10,000 by default, `--big`) vs 100
   items (goal ≤ 1.5, i.e. no quadratic rewrite of the steps).
4. `engine_post_task_to_first_step_ms`: POST /task (auto-run) over the real HTTP app (httpx ASGI transport,
   in process) → the first step's execution starting in the plugin host, p50 over 30 tasks (goal ≤ 20 ms);
   baselines: µTask's design (0–10 s polling) and our own polling-only mode (LISTEN switched off).
5. `server_idle_rss_mb`: `utask serve` as a subprocess (environment configuration, this benchmark's
   templates) after start-up, the RSS of its whole process tree incl. warm workers and zygotes (goal ≤ 150
   MB); PSS beside it (forked workers share pages, so the RSS sum counts them more than once).

Figures 1–3 run with the instance in maintenance mode (heartbeat only) and call the task service's
`run(..., wait=True)` directly, so no collector races the measured run; figure 4 uses a normal instance.
Each figure is repeated (`--repeat`, default 3): the JSON line carries the median and every value, with
the load average beside it (the development machines are shared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
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

from .api import _admin_url, _free_port, _with_dbname
from .procfs import memory_kb, process_tree

ROOT = Path(__file__).resolve().parent.parent
ECHO = {"type": "echo", "configuration": {"output": {"v": "{{.iterator}}"}}}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _templates(folder: Path, big: int) -> None:
    """YAML templates as an operator writes them (JSON is valid YAML)."""
    chain = {f"s{i}": {"action": {"type": "echo", "configuration": {"output": {"i": str(i)}}},
                       "dependencies": [f"s{i - 1}"] if i else []} for i in range(40)}
    docs = {
        "bench-chain": {"steps": chain, "auto_runnable": False},
        "bench-one": {"steps": {"only": {"action": {"type": "echo", "configuration": {"output": {"v": "x"}}}}},
                      "auto_runnable": True},
    }
    for n in sorted({100, 1000, big}):
        docs[f"bench-foreach-{n}"] = {"steps": {"loop": {"foreach": json.dumps(list(range(n))), "action": ECHO}},
                                      "auto_runnable": False}
    for name, body in docs.items():
        doc = {"name": name, "description": "benchmark", "title_format": name, "allowed_resolver_usernames": [],
               **body}
        (folder / f"{name}.yaml").write_text(json.dumps(doc))


def _settings(url: str, key: str, **utask: Any) -> Any:
    from utask.core.config import Settings, UtaskConfig
    from utask.core.crypto import KeyRing

    return Settings(database_url=url, keyring=KeyRing.from_values([key]),
                    utask=UtaskConfig.from_dict({"admin_usernames": ["admin"], "application_name": "bench", **utask}))


class _FirstExecution:
    """Wraps the engine's executor to note when each task's first execution starts (figure 4)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.started: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def execute(self, action_type: str, base_config: Any, config: Any, context: Any, identity: Any) -> Any:
        task_id = identity.get("task_id") if isinstance(identity, dict) else getattr(identity, "task_id", None)
        if task_id is not None and task_id not in self.started:
            self.started[task_id] = time.perf_counter()
            waiter = self.waiters.pop(task_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        return await self.inner.execute(action_type, base_config, config, context, identity)


async def _runtime(url: str, key: str, folder: Path, *, maintenance: bool, **utask: Any) -> Any:
    from utask.hostapi.app import ServeOptions
    from utask.hostapi.server import Runtime

    options = ServeOptions(templates_paths=(str(folder),), functions_path=str(folder / "functions"),
                           maintenance_mode=maintenance)
    return await Runtime.start(_settings(url, key, **utask), options)


async def _resolve(runtime: Any, template: str) -> tuple[float, Any]:
    """Create a task and its resolution (not auto-run), then time run start → end of run."""
    from utask.core.engine.service import Caller

    admin = Caller("admin", [], is_admin=True)
    task = await runtime.tasks.create_task(admin, template, {})
    res = await runtime.tasks.create_resolution(admin, task.public_id)
    t0, c0 = time.perf_counter(), time.process_time()
    handle = await runtime.tasks.run(res.public_id, wait=True)
    elapsed = time.perf_counter() - t0
    handle.server_cpu = time.process_time() - c0  # the engine's own CPU: what the load barely moves
    state = getattr(handle.outcome, "state", None)
    assert str(state).endswith("DONE"), f"{template}: run ended {state}"
    return elapsed, handle


async def _warm_echo_ms(runtime: Any, rounds: int = 40) -> float:
    from utask.core.plugins import ExecutionIdentity

    identity = ExecutionIdentity("bench-task", "bench-resolution", "step")
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = await runtime.host.execute("echo", config={"output": {"i": "1"}}, identity=identity)
        times.append(time.perf_counter() - t0)
        assert result.error is None, result.error
    return statistics.median(times) * 1000


async def _host_parallel(runtime: Any, total: int) -> float:
    from utask.core.plugins import ExecutionIdentity

    identity = ExecutionIdentity("bench-task", "bench-resolution", "step")
    async def one(i: int) -> None:  # the pool's own semaphore caps executions in flight (max_parallel)
        result = await runtime.host.execute("echo", config={"output": {"v": str(i)}}, identity=identity)
        assert result.error is None, result.error

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(total)))
    return total / (time.perf_counter() - t0)


def _proc_cpu(pid: int, children: bool = True) -> float:
    """CPU seconds of a process (utime + stime), with its reaped children (cutime + cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def _sandbox_cpu(runtime: Any) -> float:
    """CPU seconds of the plugin workers: the live zygotes with their reaped executions, plus the workers this
    process reaped (retired ones)."""
    total = 0.0
    for pool in runtime.host.pools.values():
        for worker in list(pool.workers):
            proc = worker.proc
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(OSError):
                    total += _proc_cpu(proc.pid)
    times = os.times()
    return total + times.children_user + times.children_system


def _postgres_cpu() -> float | None:
    """CPU seconds of the local PostgreSQL processes (None when none is visible: a remote database)."""
    total, seen = 0.0, False
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() not in ("postgres", "postmaster"):
                        continue
                total += _proc_cpu(int(entry), children=False)
                seen = True
    return total if seen else None


def _stats(values: list[float], digits: int = 3) -> dict[str, Any]:
    return {"median": round(statistics.median(values), digits), "runs": [round(v, digits) for v in values]}


async def _engine_figures(url: str, key: str, folder: Path, big: int, repeat: int) -> list[dict[str, Any]]:
    runtime = await _runtime(url, key, folder, maintenance=True)
    out = []
    try:
        await _resolve(runtime, "bench-chain")  # warm-up: pools, template cache, worker
        loads, chain, commits, cpu = [], [], 0, []
        for _ in range(repeat):
            elapsed, handle = await _resolve(runtime, "bench-chain")
            chain.append(elapsed)
            cpu.append(handle.server_cpu / 40 * 1000)
            commits = handle.writer.commits if handle.writer else None
            loads.append(_load())
        echo_ms = await _warm_echo_ms(runtime)
        out.append({"figure": "engine_chain_40_steps_seconds", **_stats(chain), "goal": 0.4,
                    "per_step_ms": round(statistics.median(chain) / 40 * 1000, 2), "commits": commits,
                    "server_cpu_ms_per_step": round(statistics.median(cpu), 3),
                    "baseline": "40 x warm sandboxed echo round trip (no engine, no database)",
                    "baseline_seconds": round(40 * echo_ms / 1000, 3), "load_average": loads})

        loads, rates, cpu, sandbox, postgres = [], [], [], [], []
        for _ in range(repeat):
            sandbox0, postgres0 = _sandbox_cpu(runtime), _postgres_cpu()
            elapsed, handle = await _resolve(runtime, "bench-foreach-1000")
            rates.append(1000 / elapsed)
            cpu.append(handle.server_cpu)
            sandbox.append(_sandbox_cpu(runtime) - sandbox0)
            postgres1 = _postgres_cpu()
            if postgres0 is not None and postgres1 is not None:
                postgres.append(postgres1 - postgres0)
            loads.append(_load())
        host_rate = await _host_parallel(runtime, 1000)
        out.append({"figure": "engine_foreach_1000_steps_per_s", **_stats(rates, 1), "goal": 1000,
                    "commits": handle.writer.commits if handle.writer else None,
                    # Where the CPU goes (2 cores): the engine process, the plugin workers (zygotes and their
                    # forked executions), the local PostgreSQL; ms per step, medians of the runs.
                    "server_cpu_ms_per_step": round(statistics.median(cpu), 3),
                    "sandbox_cpu_ms_per_step": round(statistics.median(sandbox), 3),
                    "postgres_cpu_ms_per_step": round(statistics.median(postgres), 3) if postgres else None,
                    "baseline": "plugin host alone, 1,000 echoes in flight together (no engine, no database)",
                    "baseline_per_s": round(host_rate, 1), "load_average": loads})

        loads, small, large = [], [], []
        for _ in range(repeat):
            elapsed, _h = await _resolve(runtime, "bench-foreach-100")
            small.append(elapsed / 100 * 1000)
            elapsed, _h = await _resolve(runtime, f"bench-foreach-{big}")
            large.append(elapsed / big * 1000)
            loads.append(_load())
        ratios = [b / s for s, b in zip(small, large, strict=True)]
        out.append({"figure": "engine_foreach_per_step_ratio", "items": [100, big],
                    "ratio": round(statistics.median(large) / statistics.median(small), 3),
                    "ratios": [round(r, 3) for r in ratios], "goal": 1.5,
                    "per_step_ms_100": _stats(small), f"per_step_ms_{big}": _stats(large),
                    "load_average": loads})
    finally:
        await runtime.stop()
    return out


async def _latency(url: str, key: str, folder: Path, rounds: int, *, listen: bool) -> tuple[list[float], list[float]]:
    """POST /task (auto-run) through the real app → first execution starting; returns latencies, loads."""
    import httpx
    from utask.core.storage import Database
    from utask.hostapi.app import ServeOptions, create_app

    runtime = await _runtime(url, key, folder, maintenance=False)
    database = Database.connect(url, pool_size=2)
    try:
        coordinator = runtime.coordinator
        if not listen:
            # Polling-only mode: LISTEN off (µTask's sleeper: 0, 1, … 9, then 10 s between polls).
            await coordinator.shutdown()
            from utask.core.engine.collectors import CollectorConfig, Coordinator

            config = CollectorConfig.from_utask_cfg(runtime.settings.utask, listen=False)
            coordinator = Coordinator(runtime.store, runtime.tasks.run, config)
            runtime.tasks.coordinator = runtime.coordinator = coordinator
            await coordinator.start()
        else:
            await asyncio.wait_for(coordinator.listening.wait(), 10)
        probe = runtime.tasks.engine.executor = _FirstExecution(runtime.tasks.engine.executor)
        app = create_app(runtime.settings, database, ServeOptions())
        runtime.mount_api(app, database)
        transport = httpx.ASGITransport(app=app)
        latencies, loads = [], []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"x-remote-user": "admin"}, timeout=60) as client:
            for i in range(rounds + 3):  # 3 warm-up rounds
                loop = asyncio.get_running_loop()
                t0 = time.perf_counter()
                resp = await client.post("/task", json={"template_name": "bench-one", "input": {}})
                assert resp.status_code == 201, resp.text
                task_id = resp.json()["id"]
                if task_id not in probe.started:
                    waiter = probe.waiters[task_id] = loop.create_future()
                    await asyncio.wait_for(waiter, 30)
                if i >= 3:
                    latencies.append((probe.started[task_id] - t0) * 1000)
                    loads.append(_load())
                await asyncio.sleep(0.2 if listen else 0)  # let the run end and the instance go idle
    finally:
        await runtime.stop()
        database.dispose()
    return latencies, loads


def _idle_rss(url: str, key: str, folder: Path) -> dict[str, Any]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CFG_", "CONFIGURATION_FROM", "SERVER_PORT"))}
    env.update({"CONFIGURATION_FROM": "env:CFG", "CFG_DATABASE": url,
                "CFG_UTASK_CFG": json.dumps({"admin_usernames": ["admin"], "application_name": "bench"}),
                "CFG_ENCRYPTION_KEY": key, "CFG_BASIC_AUTH": json.dumps({"admin": "1234"})})
    utask = str(Path(sys.executable).with_name("utask"))
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - not a pipe: nobody reads it while the server runs
    proc = subprocess.Popen([utask, "serve", "--http-host", "127.0.0.1", "--http-port", str(port),
                             "--templates-path", str(folder)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=errors, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    raise RuntimeError("utask serve did not start: " + errors.read()) from None
                time.sleep(0.1)
        time.sleep(3)  # idle: start-up done, collectors asleep
        samples = []
        for _ in range(3):
            pids = process_tree(proc.pid)
            samples.append((sum(memory_kb(p, "Rss") for p in pids), sum(memory_kb(p, "Pss") for p in pids),
                            memory_kb(proc.pid, "Rss"), len(pids)))
            time.sleep(1)
        rss, pss, main_rss, count = samples[-1]
        return {"figure": "server_idle_rss_mb", "value": round(rss / 1024, 1), "goal": 150,
                "pss_mb": round(pss / 1024, 1), "server_process_rss_mb": round(main_rss / 1024, 1),
                "processes": count, "load_average": _load()}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine")
    parser.add_argument("--big", type=int, default=10_000, help="items of the large foreach (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of figures 1-3 (default 3)")
    parser.add_argument("--rounds", type=int, default=30, help="tasks of figure 4 (default 30)")
    parser.add_argument("--only", default="", help="comma-separated figure numbers (default: all)")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x} or {1, 2, 3, 4, 5}
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from utask.core.crypto import generate_key_json
    from utask.core.storage import migrate

    admin, embedded = _admin_url()
    name = f"utask_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_dbname(admin, name)
    key = generate_key_json(timestamp=1_600_000_000)
    try:
        migrate(url)
        with tempfile.TemporaryDirectory(prefix="utask-bench-") as tmp:
            folder = Path(tmp)
            _templates(folder, args.big)
            if only & {1, 2, 3}:
                lines = asyncio.run(_engine_figures(url, key, folder, args.big, args.repeat))
                for number, line in enumerate(lines, 1):
                    if number in only:
                        print(json.dumps(line), flush=True)
            if 4 in only:
                notify, loads = asyncio.run(_latency(url, key, folder, args.rounds, listen=True))
                polling, _ = asyncio.run(_latency(url, key, folder, max(5, args.rounds // 6), listen=False))
                print(json.dumps({
                    "figure": "engine_post_task_to_first_step_ms", "p50": round(statistics.median(notify), 2),
                    "p90": round(sorted(notify)[int(0.9 * len(notify))], 2), "max": round(max(notify), 2),
                    "rounds": len(notify), "goal_p50": 20,
                    "baseline_polling_only_p50": round(statistics.median(polling), 1),
                    "baseline_polling_only_rounds": len(polling),
                    "baseline_utask_design_ms": "0-10000 (polling, sleeping 0, 1, ... 9, then 10 s)",
                    "load_average": [min(loads), max(loads)]}), flush=True)
            if 5 in only:
                print(json.dumps(_idle_rss(url, key, folder)), flush=True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
