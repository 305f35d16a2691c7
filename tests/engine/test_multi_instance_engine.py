"""Two engine PROCESSES on one database: no step runs twice; `kill -9` of one in the middle of a run →
the other recollects its work (idempotent steps re-run, others CRASHED → BLOCKED_TOCHECK).

The worker is this very module run as `python -m tests.engine.test_multi_instance_engine URL KEY LOG`:
a coordinator (heartbeat, collectors, LISTEN) and the task service with the engine's run loop, executing
a slow in-process echo that appends every execution to LOG before sleeping.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from tests.engine.test_persistence_fixtures import ADMIN, KEY_1, arun, insert_template, make_service, sql

pytestmark = pytest.mark.timeout(120)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- the worker process -------------------------------------------------------------------------------
class _Result:
    def __init__(self, output):
        self.output = output
        self.metadata = None
        self.tags = None
        self.error = None


class SlowEcho:
    """Echo whose configuration may ask for a sleep; every execution is logged before it sleeps."""

    def __init__(self, log_path: str) -> None:
        self.log_path = log_path

    def has(self, action_type: str) -> bool:
        return action_type == "echo"

    async def resources(self, action_type, base_config, config):
        return []

    def context_template(self, action_type, step_name):
        return None

    async def execute(self, action_type, base_config, config, context, identity):
        config = config or {}
        line = f"{os.getpid()} {config.get('marker')} {config.get('name')}\n"
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        await asyncio.sleep(float(config.get("sleep") or 0))
        return _Result(config.get("output") or {"ok": "yes"})


async def _worker(url: str, key: str, log_path: str) -> None:
    from utask.core.crypto import KeyRing
    from utask.core.engine.collectors import CollectorConfig, Coordinator
    from utask.core.engine.service import TaskService
    from utask.core.engine.store import Store

    from tests.engine.test_persistence_fixtures import echo_engine

    store = Store(url, KeyRing.from_values([key]), pool_size=8)
    service = TaskService(store, engine=echo_engine(executor=SlowEcho(log_path)))
    coord = Coordinator(store, service.run, CollectorConfig(
        heartbeat_interval=0.3, dead_after=1.5, instance_collector_interval=0.5, delay_between_crashed=0.0,
        poll_step=0.2, poll_max_sleep=1.0, grace_period=0.5, shutdown_wait=2.0))
    service.coordinator = coord
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await coord.start()
    print(f"ready {coord.instance_id}", flush=True)
    await stop.wait()
    await coord.shutdown()
    await store.close()


def _step(name: str, sleep: float = 0, idempotent: bool = False, deps: list[str] | None = None) -> dict:
    return {"idempotent": idempotent, "dependencies": deps or [],
            "action": {"type": "echo", "configuration": {"marker": "{{.task.task_id}}", "name": name,
                                                         "sleep": str(sleep)}}}


def _executions(log_path: str) -> list[tuple[int, str, str]]:
    if not os.path.exists(log_path):
        return []
    with open(log_path) as fh:
        return [(int(p), m, n) for p, m, n in (line.split() for line in fh if line.strip())]


def _start(url: str, log_path: str) -> subprocess.Popen:
    err_path = f"{log_path}.{time.monotonic_ns()}.err"
    with open(err_path, "w") as err:  # a file, not a pipe nobody reads (a full pipe would block the worker)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.test_multi_instance_engine", url, KEY_1, log_path],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        with open(err_path) as fh:
            raise AssertionError(f"worker did not start: {line!r} {fh.read()[-2000:]}")
    return proc


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_processes_share_work_and_recollect_a_killed_one(fresh_database, tmp_path):
    from utask.core.storage import migrate

    url = fresh_database()
    migrate(url)
    log_path = str(tmp_path / "executions.log")
    quick = insert_template(url, "quick", steps={"a": _step("a"), "b": _step("b", deps=["a"]),
                                                 "c": _step("c", deps=["a"])})
    idem = insert_template(url, "slow-idempotent", steps={"first": _step("first"),
                                                          "slow": _step("slow", 2.5, idempotent=True,
                                                                        deps=["first"])})
    once = insert_template(url, "slow-once", steps={"first": _step("first"),
                                                    "slow": _step("slow", 2.5, deps=["first"])})
    from utask.core.crypto import KeyRing
    from utask.core.engine.store import Store

    ring = KeyRing.from_values([KEY_1])

    async def create(template: str, n: int) -> list[str]:
        store = Store(url, ring)
        try:
            service = make_service(store)
            return [(await service.create_task(ADMIN, template, {})).public_id for _ in range(n)]
        finally:
            await store.close()

    procs = [_start(url, log_path), _start(url, log_path)]
    try:
        # 1. Shared work: 12 quick tasks, claimed by both instances, every step executed exactly once.
        quick_ids = arun(create(quick, 12))

        def all_done(ids):
            rows = sql(url, "SELECT state FROM task WHERE public_id = ANY(%s::uuid[])", (ids,))
            return len(rows) == len(ids) and all(r[0] == "DONE" for r in rows)

        _wait(lambda: all_done(quick_ids), 30, "quick tasks DONE")
        runs = collections.Counter((m, n) for _, m, n in _executions(log_path))
        assert all(runs[(t, s)] == 1 for t in quick_ids for s in "abc"), runs
        pids = {p for p, m, _ in _executions(log_path) if m in quick_ids}
        print(f"quick tasks executed by {len(pids)} process(es)")

        # 2. Slow tasks; kill -9 the instance running the most slow steps while they sleep.
        slow_ids = arun(create(idem, 3)) + arun(create(once, 3))

        def slow_started():
            return sum(1 for _, m, n in _executions(log_path) if m in slow_ids and n == "slow") >= len(slow_ids)

        _wait(slow_started, 30, "slow steps started")
        by_pid = collections.Counter(p for p, m, n in _executions(log_path) if m in slow_ids and n == "slow")
        victim_pid = by_pid.most_common(1)[0][0]
        victim = next(p for p in procs if p.pid == victim_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(5)
        on_victim = {m for p, m, n in _executions(log_path) if p == victim_pid and m in slow_ids and n == "slow"}
        assert on_victim

        idem_ids, once_ids = set(slow_ids[:3]), set(slow_ids[3:])

        def settled():
            rows = dict(sql(url, "SELECT public_id::text, state FROM task WHERE public_id = ANY(%s::uuid[])",
                            (slow_ids,)))
            return all(rows[t] == ("BLOCKED" if t in on_victim and t in once_ids else "DONE") for t in slow_ids)

        _wait(settled, 45, "the survivor to recollect the killed instance's resolutions")
        runs = collections.Counter((m, n) for _, m, n in _executions(log_path))
        for t in slow_ids:
            assert runs[(t, "first")] == 1  # finished before the kill: never re-run
            if t in on_victim and t in idem_ids:
                assert runs[(t, "slow")] == 2  # idempotent: re-run by the survivor
            else:
                assert runs[(t, "slow")] == 1  # non-idempotent never runs twice
        for t in on_victim & once_ids:
            state, = sql(url, "SELECT r.state FROM resolution r JOIN task t ON t.id = r.id_task "
                         "WHERE t.public_id = %s", (t,))[0]
            assert state == "BLOCKED_TOCHECK"

        async def step_state(task_id: str) -> str:
            store = Store(url, ring)
            try:
                async with store.tx() as tx:
                    task = await store.load_task(tx, task_id)
                    res = await store.load_resolution(tx, task.resolution_public_id)
                return res.steps["slow"]["state"]
            finally:
                await store.close()

        for t in on_victim & once_ids:
            assert arun(step_state(t)) == "CRASHED"
        # The audit chain of a recollected task spans both instances and verifies; a tampered event is reported.
        from utask.core.engine import audit

        recollected = sorted(on_victim)[0]

        async def verify() -> audit.Verification:
            store = Store(url, ring)
            try:
                async with store.tx() as tx:
                    return await audit.verify_chain(tx, recollected, ring)
            finally:
                await store.close()

        result = arun(verify())
        assert result.ok and result.events > 5, result
        instances = {r[0] for r in sql(url, "SELECT DISTINCT instance_id FROM audit_event WHERE task_public_id = %s "
                                        "AND instance_id IS NOT NULL", (recollected,))}
        assert len(instances) == 2
        with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
            conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            conn.execute("UPDATE audit_event SET to_state = 'DONE' WHERE task_public_id = %s AND seq = 3",
                         (recollected,))
            conn.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        assert "event 3: content does not match its hash (edited)" in arun(verify()).problems
        # The dead instance was deleted once all its resolutions were recollected.
        assert sql(url, "SELECT count(*) FROM runner_instance WHERE id NOT IN "
                   "(SELECT DISTINCT instance_id FROM resolution WHERE instance_id IS NOT NULL)")[0][0] <= 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            if p.stdout:
                p.stdout.close()


if __name__ == "__main__":
    asyncio.run(_worker(*sys.argv[1:4]))
