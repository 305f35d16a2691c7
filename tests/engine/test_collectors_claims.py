"""Collectors: SKIP LOCKED claims, retry conditions, dead instances, LISTEN/NOTIFY wake-ups, GC, limits."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta

import pytest
from utask.core.engine.collectors import CollectorConfig, Coordinator, Semaphore, ShuttingDown, Sleeper
from utask.core.engine.store import Store

from tests.engine import test_persistence_fixtures as fx
from tests.engine.test_persistence_fixtures import (
    ADMIN,
    arun,
    insert_template,
    make_service,
    sql,
)

# Fixtures of the shared module (a freshly migrated database per test module, the keyring).
db_url = fx.db_url
keyring = fx.keyring

pytestmark = pytest.mark.timeout(60)


def _fast(**kw) -> CollectorConfig:
    base = dict(heartbeat_interval=0.2, dead_after=1.0, instance_collector_interval=0.3, delay_between_crashed=0.0,
                poll_step=0.05, poll_max_sleep=0.2)
    base.update(kw)
    return CollectorConfig(**base)


async def _tasks(url: str, ring, n: int, tpl: str) -> list[str]:
    store = Store(url, ring)
    try:
        s = make_service(store)
        out = []
        for _ in range(n):
            t = await s.create_task(ADMIN, tpl, {})
            out.append(t.resolution_public_id)
        return out
    finally:
        await store.close()


def test_two_claimers_never_claim_the_same_resolution(db_url, keyring):
    tpl = insert_template(db_url)
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state = 'TO_AUTORUN'")
    ids = arun(_tasks(db_url, keyring, 40, tpl))

    async def claimer(coord: Coordinator) -> list[str]:
        got = []
        while True:
            row = await coord.claim_autorun()
            if row is None:
                return got
            got.append(row["public_id"])
            # What Resolve does next; an AUTORUNNING row of this instance would be claimed again (restart).
            async with coord.store.tx() as tx:
                await tx.execute("UPDATE resolution SET state = 'RUNNING' WHERE id = %(id)s", {"id": row["id"]})

    async def go():
        stores = [Store(db_url, keyring, pool_size=2), Store(db_url, keyring, pool_size=2)]
        try:
            coords = [Coordinator(st, resolve=None, config=_fast()) for st in stores]
            for c in coords:
                c.instance_id = await c.store.register_instance()
            a, b = await asyncio.gather(claimer(coords[0]), claimer(coords[1]))
            return a, b, [c.instance_id for c in coords]
        finally:
            for st in stores:
                await st.close()

    a, b, instances = arun(go())
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(ids)
    owners = dict(sql(db_url, "SELECT public_id::text, instance_id FROM resolution WHERE public_id = ANY(%s::uuid[])",
                      (ids,)))
    assert all(owners[p] == instances[0] for p in a) and all(owners[p] == instances[1] for p in b)
    assert {r[0] for r in sql(db_url, "SELECT state FROM resolution WHERE public_id = ANY(%s::uuid[])",
                              (ids,))} == {"RUNNING"}


def test_retry_claim_conditions(db_url, keyring):
    tpl = insert_template(db_url)
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state IN ('TO_AUTORUN', 'ERROR', 'WAITING')")
    ids = arun(_tasks(db_url, keyring, 6, tpl))
    setups = [
        ("ERROR", "now() - interval '1 second'", "now() - interval '1 hour'", True),
        ("ERROR", "now() + interval '1 hour'", "now() - interval '1 hour'", False),
        ("TO_AUTORUN_DELAYED", "now() - interval '1 second'", "NULL", True),
        ("WAITING", "now() - interval '1 second'", "now() - interval '1 hour'", True),  # woken
        ("WAITING", "now() - interval '2 hours'", "now() - interval '1 hour'", False),  # not woken this cycle
        ("PAUSED", "now() - interval '1 second'", "now() - interval '1 hour'", False),
    ]
    for rid, (state, nr, ls) in zip(ids, [s[:3] for s in setups], strict=True):
        sql(db_url, f"UPDATE resolution SET state = %s, next_retry = {nr}, last_start = {ls} WHERE public_id = %s",
            (state, rid))

    async def go():
        store = Store(db_url, keyring)
        try:
            coord = Coordinator(store, resolve=None, config=_fast())
            coord.instance_id = await store.register_instance()
            got = []
            while (row := await coord.claim_retry()) is not None:
                got.append(row["public_id"])
                async with store.tx() as tx:  # what Resolve does next (a RETRY row of ours is re-claimable)
                    await tx.execute("UPDATE resolution SET state = 'RUNNING' WHERE id = %(id)s", {"id": row["id"]})
            return got
        finally:
            await store.close()

    got = arun(go())
    expected = {rid for rid, s in zip(ids, setups, strict=True) if s[3]}
    assert set(got) == expected
    assert {r[0] for r in sql(db_url, "SELECT instance_id IS NOT NULL FROM resolution "
                              "WHERE public_id = ANY(%s::uuid[])", (list(expected),))} == {True}


def test_dead_instance_is_recollected_and_deleted(db_url, keyring):
    tpl = insert_template(db_url)
    # Earlier tests of this module left instances and claimed resolutions behind.
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state IN ('TO_AUTORUN', 'RUNNING', 'RETRY', "
        "'AUTORUNNING', 'CRASHED')")
    ids = arun(_tasks(db_url, keyring, 3, tpl))

    async def go():
        store = Store(db_url, keyring)
        dead_store = Store(db_url, keyring)
        try:
            dead = await dead_store.register_instance()
            for rid, state in zip(ids, ("RUNNING", "RETRY", "AUTORUNNING"), strict=True):
                sql(db_url, "UPDATE resolution SET state = %s, instance_id = %s WHERE public_id = %s",
                    (state, dead, rid))
            resolved: list[str] = []

            async def resolve(public_id, semaphore=None, claimed=None):
                assert semaphore is not None  # recollected runs go through the crashed-instance limit
                resolved.append(public_id)
                # What Resolve does (a CRASHED row of ours would be claimed again).
                sql(db_url, "UPDATE resolution SET state = 'BLOCKED_TOCHECK' WHERE public_id = %s", (public_id,))

            coord = Coordinator(store, resolve, _fast())
            await coord.start()
            try:
                # Still alive (fresh heartbeat): nothing is taken.
                assert await coord.collect_crashed() == 0
                sql(db_url, "UPDATE runner_instance SET heartbeat = now() - interval '5 seconds' WHERE id = %s",
                    (dead,))
                deadline = time.monotonic() + 5
                while len(resolved) < 3 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)
                return dead, coord.instance_id, resolved
            finally:
                await coord.shutdown()
        finally:
            await store.close()
            await dead_store.close()

    from utask.core.metrics import METRICS

    before = METRICS.registry.get_sample_value("utask_collector_claims_total", {"collector": "crashed"}) or 0.0
    dead, me, resolved = arun(go())
    assert sorted(resolved) == sorted(ids)
    # /metrics: utask_collector_claims_total{collector="crashed"}
    assert METRICS.registry.get_sample_value("utask_collector_claims_total", {"collector": "crashed"}) == before + 3
    rows = sql(db_url, "SELECT state, instance_id FROM resolution WHERE public_id = ANY(%s::uuid[])", (ids,))
    assert set(rows) == {("BLOCKED_TOCHECK", me)}
    assert sql(db_url, "SELECT count(*) FROM runner_instance WHERE id = %s", (dead,)) == [(0,)]


def test_an_instance_declared_dead_registers_again_and_its_orphans_are_collected(db_url, keyring):
    """An instance paused longer than dead_after is declared dead (its row deleted) while it still holds
    work. When it wakes up it registers again under a new id; what it claimed under the old id, should it
    then really die, is collected like a dead instance's (its id has no row)."""
    tpl = insert_template(db_url)
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state IN ('TO_AUTORUN', 'RUNNING', 'RETRY', "
        "'AUTORUNNING', 'CRASHED')")
    ids = arun(_tasks(db_url, keyring, 2, tpl))

    async def go():
        store = Store(db_url, keyring)
        zombie_store = Store(db_url, keyring)
        try:
            zombie = Coordinator(zombie_store, resolve=None, config=_fast(collectors=False))
            await zombie.start()
            old = zombie.instance_id
            for rid in ids:  # what it was running when it was declared dead
                sql(db_url, "UPDATE resolution SET state = 'RUNNING', instance_id = %s WHERE public_id = %s",
                    (old, rid))
            sql(db_url, "DELETE FROM runner_instance WHERE id = %s", (old,))
            deadline = time.monotonic() + 5
            while zombie.instance_id == old and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert zombie.instance_id != old and zombie_store.instance_id == zombie.instance_id
            assert sql(db_url, "SELECT count(*) FROM runner_instance WHERE id = %s", (zombie.instance_id,)) == [(1,)]

            resolved: list[str] = []

            async def resolve(public_id, semaphore=None, claimed=None):
                resolved.append(public_id)
                sql(db_url, "UPDATE resolution SET state = 'BLOCKED_TOCHECK' WHERE public_id = %s", (public_id,))

            coord = Coordinator(store, resolve, _fast(collectors=False))
            await coord.start()
            try:
                assert await coord.collect_crashed() == 2  # the orphans of the deleted id
                assert sorted(resolved) == sorted(ids)
            finally:
                await coord.shutdown()
                await zombie.shutdown()
        finally:
            await store.close()
            await zombie_store.close()

    arun(go())


def test_heartbeat_keeps_an_instance_alive(db_url, keyring):
    async def go():
        store = Store(db_url, keyring)
        try:
            coord = Coordinator(store, resolve=None, config=_fast(collectors=False))
            me = await coord.start()
            sql(db_url, "UPDATE runner_instance SET heartbeat = now() - interval '1 hour' WHERE id = %s", (me,))
            await asyncio.sleep(0.5)
            age = sql(db_url, "SELECT extract(epoch FROM now() - heartbeat) FROM runner_instance WHERE id = %s",
                      (me,))[0][0]
            await coord.shutdown()
            stopped = sql(db_url, "SELECT heartbeat < now() - interval '1 day' FROM runner_instance WHERE id = %s",
                          (me,))
            return float(age), stopped
        finally:
            await store.close()

    age, stopped = arun(go())
    assert age < 1.0
    assert stopped == [(True,)]  # a clean shutdown lets other instances recollect at once


def test_notify_wakes_an_idle_instance_long_before_the_polling_interval(db_url, keyring):
    """µTask polls every 0–10 s; LISTEN/NOTIFY starts new work within milliseconds."""
    tpl = insert_template(db_url)
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state IN ('TO_AUTORUN', 'ERROR', 'TO_AUTORUN_DELAYED')")

    async def go():
        store = Store(db_url, keyring)
        api_store = Store(db_url, keyring)
        try:
            picked: dict[str, float] = {}

            async def resolve(public_id, semaphore=None, claimed=None):
                picked[public_id] = time.perf_counter()
                # What Resolve does (an AUTORUNNING row of ours would be claimed again).
                async with store.tx() as tx:
                    await tx.execute("UPDATE resolution SET state = 'RUNNING' WHERE public_id = %(p)s",
                                     {"p": public_id})

            # Polling alone would take 10 s: the sleeper sits at its cap.
            coord = Coordinator(store, resolve, _fast(poll_step=10.0, poll_max_sleep=10.0))
            await coord.start()
            await asyncio.wait_for(coord.listening.wait(), 5)
            await asyncio.sleep(0.3)  # let both collectors fall asleep at the cap
            service = make_service(api_store)
            latencies = []
            await service.create_task(ADMIN, tpl, {"warm": "up"})  # imports, template decoding
            await asyncio.sleep(0.3)
            for _ in range(5):
                t = await service.create_task(ADMIN, tpl, {})
                start = time.perf_counter()  # committed: the notification is on its way
                deadline = time.monotonic() + 5
                while t.resolution_public_id not in picked and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                latencies.append(picked[t.resolution_public_id] - start)
                await asyncio.sleep(0.05)
            await coord.shutdown()
            return latencies
        finally:
            await store.close()
            await api_store.close()

    latencies = arun(go())
    median_ms = statistics.median(latencies) * 1000
    print(f"NOTIFY pick-up (creation committed → claimed): median {median_ms:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert max(latencies) < 2.0  # the polling fallback would need 10 s


def test_retry_collector_sleeps_until_next_retry_is_due(db_url, keyring):
    tpl = insert_template(db_url)
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state IN ('TO_AUTORUN', 'ERROR', 'TO_AUTORUN_DELAYED')")

    async def go():
        store = Store(db_url, keyring)
        api_store = Store(db_url, keyring)
        try:
            picked: dict[str, float] = {}

            async def resolve(public_id, semaphore=None, claimed=None):
                picked[public_id] = time.perf_counter()
                async with store.tx() as tx:
                    await tx.execute("UPDATE resolution SET state = 'RUNNING' WHERE public_id = %(p)s",
                                     {"p": public_id})

            coord = Coordinator(store, resolve, _fast(poll_step=10.0, poll_max_sleep=10.0))
            await coord.start()
            await asyncio.wait_for(coord.listening.wait(), 5)
            service = make_service(api_store)
            start = time.perf_counter()
            t = await service.create_task(ADMIN, tpl, {}, delay="700ms")
            deadline = time.monotonic() + 5
            while t.resolution_public_id not in picked and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await coord.shutdown()
            return picked[t.resolution_public_id] - start
        finally:
            await store.close()
            await api_store.close()

    waited = arun(go())
    assert 0.6 < waited < 3.0  # due after 0.7 s, claimed without waiting for the 10 s poll


def test_garbage_collector(db_url, keyring):
    tpl = insert_template(db_url)
    sql(db_url, "UPDATE resolution SET state = 'PAUSED' WHERE state = 'TO_AUTORUN'")
    ids = arun(_tasks(db_url, keyring, 2, tpl))
    old, recent = ids
    sql(db_url, "UPDATE task SET state = 'DONE', last_activity = now() - interval '40 days' "
        "WHERE id = (SELECT id_task FROM resolution WHERE public_id = %s)", (old,))
    sql(db_url, "UPDATE task SET state = 'DONE' WHERE id = (SELECT id_task FROM resolution WHERE public_id = %s)",
        (recent,))
    sql(db_url, "INSERT INTO batch (public_id) VALUES (gen_random_uuid())")

    async def go():
        store = Store(db_url, keyring)
        try:
            await Coordinator(store, resolve=None, config=_fast()).collect_garbage()
        finally:
            await store.close()

    arun(go())
    assert sql(db_url, "SELECT count(*) FROM resolution WHERE public_id = %s", (old,)) == [(0,)]
    assert sql(db_url, "SELECT count(*) FROM resolution WHERE public_id = %s", (recent,)) == [(1,)]
    assert sql(db_url, "SELECT count(*) FROM batch b WHERE NOT EXISTS (SELECT 1 FROM task t "
               "WHERE t.id_batch = b.id)") == [(0,)]


def test_sleeper_backoff_and_semaphores():
    async def go():
        s = Sleeper(step=1.0, cap=10.0)
        delays = []
        for _ in range(13):
            delays.append(s.delay())
            s._count += 1
        assert delays == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10]
        s.found()
        assert s.delay() == 0
        s2 = Sleeper(step=10.0, cap=10.0)
        s2._count = 5
        start = time.perf_counter()
        asyncio.get_running_loop().call_later(0.05, s2.poke)
        await s2.sleep()
        assert time.perf_counter() - start < 1.0 and s2.delay() == 0

        shutdown = asyncio.Event()
        unlimited = Semaphore(-1, shutdown)
        for _ in range(1000):
            await unlimited.acquire()
        blocked = Semaphore(0, shutdown)
        with pytest.raises(TimeoutError):
            await blocked.acquire(timeout=0.05)
        one = Semaphore(1, shutdown)
        await one.acquire()
        waiter = asyncio.ensure_future(one.acquire())
        await asyncio.sleep(0.01)
        shutdown.set()
        with pytest.raises(ShuttingDown):
            await waiter
        one.release()

    arun(go())


def test_config_from_utask_cfg():
    class Cfg:
        max_concurrent_executions = 7
        max_concurrent_executions_from_crashed = 3
        delay_between_crashed_tasks_resolution = timedelta(milliseconds=250)
        completed_task_expiration = timedelta(hours=2)

    cfg = CollectorConfig.from_utask_cfg(Cfg(), dead_after=2.0)
    assert (cfg.max_concurrent_executions, cfg.max_concurrent_executions_from_crashed) == (7, 3)
    assert cfg.delay_between_crashed == 0.25 and cfg.completed_task_expiration == timedelta(hours=2)
    assert cfg.dead_after == 2.0
