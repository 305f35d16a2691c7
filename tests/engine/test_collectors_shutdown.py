"""Graceful shutdown (§6.5) and concurrency limits (§6.6) with the engine's run loop, in one process."""

from __future__ import annotations

import asyncio
import time

import pytest
from utask.core.config.errors import ConfigError
from utask.core.config.utask_cfg import UtaskConfig
from utask.core.crypto import KeyRing
from utask.core.engine.collectors import CollectorConfig, Coordinator
from utask.core.engine.service import TaskService
from utask.core.engine.store import Store

from tests.engine import test_persistence_fixtures as fx
from tests.engine.test_multi_instance_engine import SlowEcho, _step
from tests.engine.test_persistence_fixtures import ADMIN, KEY_1, arun, echo_engine, insert_template, sql

# Fixtures of the shared module (a freshly migrated database per test module, the keyring).
db_url = fx.db_url
keyring = fx.keyring

pytestmark = pytest.mark.timeout(60)


def _config(**kw) -> CollectorConfig:
    base = dict(heartbeat_interval=0.2, dead_after=1.0, instance_collector_interval=0.3, delay_between_crashed=0.0,
                poll_step=0.1, poll_max_sleep=0.5, grace_period=0.3, shutdown_wait=1.0)
    base.update(kw)
    return CollectorConfig(**base)


async def _instance(url: str, log_path: str, **kw) -> tuple[Store, TaskService, Coordinator]:
    store = Store(url, KeyRing.from_values([KEY_1]), pool_size=6)
    service = TaskService(store, engine=echo_engine(executor=SlowEcho(log_path)))
    coord = Coordinator(store, service.run, _config(**kw))
    service.coordinator = coord
    await coord.start()
    return store, service, coord


def _executions(log_path: str) -> list[list[str]]:
    try:
        with open(log_path) as fh:
            return [line.split() for line in fh if line.strip()]
    except FileNotFoundError:
        return []


async def _until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def test_graceful_shutdown_crashes_running_work_and_the_next_instance_recollects_it(db_url, keyring, tmp_path):
    tpl = insert_template(db_url, steps={"slow": _step("slow", 3.0)})
    log_path = str(tmp_path / "exec.log")

    async def go():
        store, service, coord = await _instance(db_url, log_path)
        task = await service.create_task(ADMIN, tpl, {})
        await _until(lambda: len(_executions(log_path)) == 1, 10)
        started = time.perf_counter()
        await coord.shutdown()  # grace 0.3 s, then runs stop waiting; at most 1 s in all
        took = time.perf_counter() - started
        await store.close()
        state = sql(db_url, "SELECT state FROM resolution WHERE public_id = %s", (task.resolution_public_id,))
        assert state == [("CRASHED",)]
        # The next instance recollects at once (the stopped instance marked itself dead).
        store2, _, coord2 = await _instance(db_url, log_path)
        try:
            await _until(lambda: sql(db_url, "SELECT state FROM resolution WHERE public_id = %s",
                                     (task.resolution_public_id,)) == [("BLOCKED_TOCHECK",)], 10)
        finally:
            await coord2.shutdown()
            await store2.close()
        return took

    took = arun(go())
    assert took < 3.0
    assert len(_executions(log_path)) == 1  # the non-idempotent step was not run again


def test_max_concurrent_executions_limits_runs_per_instance(db_url, keyring, tmp_path):
    tpl = insert_template(db_url, steps={"slow": _step("slow", 0.6)})
    log_path = str(tmp_path / "exec.log")

    async def go():
        store, service, coord = await _instance(db_url, log_path, max_concurrent_executions=1)
        try:
            tasks = [await service.create_task(ADMIN, tpl, {}) for _ in range(3)]
            await _until(lambda: len(_executions(log_path)) >= 1, 10)
            await asyncio.sleep(0.3)
            assert len(_executions(log_path)) == 1  # the others wait for the execution slot
            ids = [t.public_id for t in tasks]
            await _until(lambda: sql(db_url, "SELECT count(*) FROM task WHERE state = 'DONE' AND "
                                     "public_id = ANY(%s::uuid[])", (ids,)) == [(3,)], 20)
        finally:
            await coord.shutdown()
            await store.close()

    arun(go())


def test_shutdown_timings_setting():
    def cfg(**raw):
        return UtaskConfig.from_dict({"admin_usernames": ["a"], **raw})

    default = CollectorConfig.from_utask_cfg(cfg())
    assert (default.grace_period, default.shutdown_wait) == (3.0, 5.0)  # µTask's
    drain = CollectorConfig.from_utask_cfg(cfg(shutdown_grace_period="20s", shutdown_timeout="25s"))
    assert (drain.grace_period, drain.shutdown_wait) == (20.0, 25.0)
    with pytest.raises(ConfigError, match='"shutdown_grace_period" must be between 0 and "shutdown_timeout"'):
        cfg(shutdown_grace_period="30s")
