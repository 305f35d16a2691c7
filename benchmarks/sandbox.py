"""Sandbox benchmarks: one JSON line a figure (`python -m benchmarks.sandbox`).

- warm: an echo execution through the real host and its warm worker (fork per execution, every layer);
  the overhead is its latency minus the same plugin called in-process.
- cold: the naive baseline measured in the same run: a freshly spawned, fully confined worker per
  execution (spawn + confinement + handshake + execution).
- parallel: executions per second with many in flight at once.
Wall-clock figures: the development machines are shared, so compare warm and cold from the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time

from utask.core.plugins import ExecutionIdentity, PluginHost
from utask.core.plugins.manager import action_plugins, build_manager
from utask.core.plugins.worker import Worker
from utask.core.sandbox import parse_sandbox_config
from utask_sdk import _runtime

CONFIG = {"output": {"id": 42, "name": "vm-1"}, "metadata": {"code": 200}}
IDENTITY = ExecutionIdentity("bench-task", "bench-resolution", "step")


def _in_process_us(rounds: int = 2000) -> float:
    plugin = _runtime.load_plugin({"entry_point": "echo", "value": "utask_plugin_echo"}, "echo")
    request = {"op": "execute", "config": CONFIG, "identity": IDENTITY.to_dict()}
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _runtime.handle(plugin, request, None, "/tmp")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def _tree_cpu_seconds(pid: int) -> float:
    """CPU of a worker and of its reaped children (every forked execution): utime+stime+cutime+cstime."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


async def _warm(host: PluginHost, rounds: int) -> tuple[list[float], float]:
    """Latencies, and CPU seconds per execution (server + worker + forked child): the load-independent
    figure on a shared machine."""
    for _ in range(20):  # let the worker settle
        await host.execute("echo", config=CONFIG, identity=IDENTITY)
    worker = host.pools["echo"].current
    assert worker is not None and worker.proc is not None
    cpu0, tree0 = time.process_time(), _tree_cpu_seconds(worker.proc.pid)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = await host.execute("echo", config=CONFIG, identity=IDENTITY)
        times.append(time.perf_counter() - t0)
        assert result.error is None, result.error
    cpu = time.process_time() - cpu0 + _tree_cpu_seconds(worker.proc.pid) - tree0
    return times, cpu / rounds


async def _parallel(host: PluginHost, total: int, in_flight: int) -> float:
    sem = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with sem:
            result = await host.execute("echo", config=CONFIG, identity=IDENTITY)
            assert result.error is None, result.error

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    return total / (time.perf_counter() - t0)


async def _cold(rounds: int) -> tuple[list[float], list[str]]:
    entry = action_plugins(build_manager())["echo"]
    limits = parse_sandbox_config(None).limits_for("echo")
    times, applied = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        worker = Worker("echo", entry.source, limits, [])
        hello = await worker.start()
        reply = await worker.request({"op": "execute", "config": CONFIG, "identity": IDENTITY.to_dict()},
                                     IDENTITY)
        times.append(time.perf_counter() - t0)
        assert reply.get("ok"), reply
        applied = hello["layers"]["applied"]
        await worker.stop()
    return times, applied


async def main() -> None:
    in_process = _in_process_us()
    host = PluginHost.from_config({"defaults": {"max_executions": 100000}})
    await host.start()
    try:
        warm, warm_cpu = await _warm(host, 500)
        per_second = await _parallel(host, 1000, 32)
        layers = host.describe()[0]["layers_applied"] if host.describe() else []
    finally:
        await host.stop()
    cold, cold_layers = await _cold(15)
    from utask.core.sandbox import supervisor

    supervisor.release()  # the cold workers' cgroup parents and run directory
    warm_ms = statistics.median(warm) * 1000
    p99 = sorted(warm)[int(len(warm) * 0.99) - 1] * 1000
    load = os.getloadavg()[0]
    print(json.dumps({"figure": "sandbox_warm_overhead_per_execution", "median_ms": round(warm_ms - in_process / 1000, 3),
                      "latency_median_ms": round(warm_ms, 3), "latency_p99_ms": round(p99, 3),
                      "cpu_ms_per_execution": round(warm_cpu * 1000, 3),
                      "in_process_us": round(in_process, 1), "goal_ms": 2, "layers": layers,
                      "load_average": round(load, 2)}))
    print(json.dumps({"figure": "sandbox_cold_spawn_per_execution", "median_ms": round(statistics.median(cold) * 1000, 2),
                      "baseline_for": "sandbox_warm_overhead_per_execution", "layers": cold_layers,
                      "speedup_warm_vs_cold": round(statistics.median(cold) * 1000 / warm_ms, 1)}))
    print(json.dumps({"figure": "sandbox_parallel_executions_per_second", "per_second": round(per_second, 1),
                      "in_flight": 32, "workers": 1, "cpus": os.cpu_count()}))


if __name__ == "__main__":
    asyncio.run(main())
