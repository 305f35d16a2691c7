"""Sandbox benchmarks: one JSON line a figure (`python -m benchmarks.sandbox`).

- warm: an echo execution through the real host and its warm worker (a fresh forked child per execution,
  every layer), back to back; the overhead is its latency minus the same plugin called in-process.
- cold: the naive baseline measured in the same run: a freshly spawned, fully confined worker per
  execution (spawn + confinement + handshake + execution).
- paced: the same executions 5 ms apart: the critical path alone (the worker's spare child is set up and
  waiting), where back to back also pays for the background work of the previous execution (forking and
  setting up the next child) on a 2-core machine.
- parallel: executions per second with 32 in flight.
- breakdown (with warm and parallel): CPU milliseconds per execution in the server, the zygote (relay,
  fork) and the forked children, and the children's and the zygote's page faults per execution (almost
  all copy-on-write faults, ~3.5 µs each on the development machines): the load-independent figures.
Wall-clock figures: the development machines are shared, so compare warm and cold from the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

from utask.core.plugins import ExecutionIdentity, PluginHost
from utask.core.plugins.manager import action_plugins, build_manager
from utask.core.plugins.worker import Worker
from utask.core.sandbox import parse_sandbox_config
from utask_sdk import _runtime

CONFIG = {"output": {"id": 42, "name": "vm-1"}, "metadata": {"code": 200}}
IDENTITY = ExecutionIdentity("bench-task", "bench-resolution", "step")
_TICK = os.sysconf("SC_CLK_TCK")


def _in_process_us(rounds: int = 2000) -> float:
    plugin = _runtime.load_plugin({"entry_point": "echo", "value": "utask_plugin_echo"}, "echo")
    request = {"op": "execute", "config": CONFIG, "identity": IDENTITY.to_dict()}
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _runtime.handle(plugin, request, None, "/tmp")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


class _Counters:
    """CPU seconds and minor faults of the server, of a zygote and of its reaped children, between two
    points: `/proc/<zygote>/stat` (utime, stime, cutime, cstime, minflt, cminflt) and our own CPU."""

    def __init__(self, zygote: int) -> None:
        self.zygote = zygote
        self.start = self._read()

    def _read(self) -> tuple[float, ...]:
        with open(f"/proc/{self.zygote}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (time.process_time(), (int(fields[11]) + int(fields[12])) / _TICK,
                (int(fields[13]) + int(fields[14])) / _TICK, int(fields[7]), int(fields[8]))

    def per_execution(self, count: int) -> dict[str, Any]:
        end = self._read()
        server, zygote, children, zygote_faults, child_faults = (b - a for a, b in zip(self.start, end, strict=True))
        return {"cpu_ms_per_execution": round((server + zygote + children) / count * 1000, 3),
                "cpu_ms": {"server": round(server / count * 1000, 3), "zygote": round(zygote / count * 1000, 3),
                           "child": round(children / count * 1000, 3)},
                "page_faults": {"zygote": round(zygote_faults / count, 1), "child": round(child_faults / count, 1)}}


def _zygote(host: PluginHost) -> int:
    worker = host.pools["echo"].current
    assert worker is not None and worker.proc is not None
    return worker.proc.pid


async def _warm(host: PluginHost, rounds: int, gap: float = 0.0) -> tuple[list[float], dict[str, Any]]:
    """Latencies (`gap` seconds apart), and the CPU/fault breakdown per execution."""
    for _ in range(20):  # start the worker and let it settle
        await host.execute("echo", config=CONFIG, identity=IDENTITY)
    counters = _Counters(_zygote(host))
    times = []
    for _ in range(rounds):
        if gap:
            await asyncio.sleep(gap)
        t0 = time.perf_counter()
        result = await host.execute("echo", config=CONFIG, identity=IDENTITY)
        times.append(time.perf_counter() - t0)
        assert result.error is None, result.error
    return times, counters.per_execution(rounds)


async def _parallel(host: PluginHost, total: int, in_flight: int) -> tuple[float, dict[str, Any]]:
    sem = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with sem:
            result = await host.execute("echo", config=CONFIG, identity=IDENTITY)
            assert result.error is None, result.error

    await asyncio.gather(*(one() for _ in range(in_flight)))  # the pool of spares grown to the load
    counters = _Counters(_zygote(host))
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    return total / (time.perf_counter() - t0), counters.per_execution(total)


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


def _ms(values: list[float], q: float = 0.5) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)


async def main() -> None:
    in_process = _in_process_us()
    host = PluginHost.from_config({"defaults": {"max_executions": 100000}})
    await host.start()
    try:
        loads = [round(os.getloadavg()[0], 2)]
        warm, warm_cpu = await _warm(host, 500)
        paced, paced_cpu = await _warm(host, 200, gap=0.005)
        loads.append(round(os.getloadavg()[0], 2))
        per_second, parallel_cpu = await _parallel(host, 2000, 32)
        loads.append(round(os.getloadavg()[0], 2))
        layers = host.describe()[0]["layers_applied"] if host.describe() else []
    finally:
        await host.stop()
    cold, cold_layers = await _cold(15)
    from utask.core.sandbox import supervisor

    supervisor.release()  # the cold workers' cgroup parents and run directory
    warm_ms = statistics.median(warm) * 1000
    print(json.dumps({"figure": "sandbox_warm_overhead_per_execution",
                      "median_ms": round(warm_ms - in_process / 1000, 3), "latency_median_ms": round(warm_ms, 3),
                      "latency_p99_ms": _ms(warm, 0.99), **warm_cpu,
                      "in_process_us": round(in_process, 1), "goal_ms": 2, "layers": layers,
                      "load_average": loads}))
    print(json.dumps({"figure": "sandbox_cold_spawn_per_execution", "median_ms": round(statistics.median(cold) * 1000, 2),
                      "baseline_for": "sandbox_warm_overhead_per_execution", "layers": cold_layers,
                      "speedup_warm_vs_cold": round(statistics.median(cold) * 1000 / warm_ms, 1)}))
    print(json.dumps({"figure": "sandbox_warm_paced_latency", "gap_ms": 5, "median_ms": _ms(paced),
                      "overhead_median_ms": round(_ms(paced) - in_process / 1000, 3), "p99_ms": _ms(paced, 0.99),
                      **paced_cpu, "goal_ms": 2}))
    print(json.dumps({"figure": "sandbox_parallel_executions_per_second", "per_second": round(per_second, 1),
                      "in_flight": 32, "workers": 1, "cpus": os.cpu_count(), **parallel_cpu}))


if __name__ == "__main__":
    asyncio.run(main())
