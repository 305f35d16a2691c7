"""The store: µTask's encryption formats, incremental step rows, the legacy blob, next_retry, key rotation."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from utask.core import gojson
from utask.core.crypto import KeyRing
from utask.core.engine.store import (
    LockNotAvailable,
    ResolutionRecord,
    RunWriter,
    Store,
    TaskRecord,
    compress,
    dumps,
    utcnow,
)

from tests.engine import test_persistence_fixtures as fx
from tests.engine.test_persistence_fixtures import (
    KEY_1,
    KEY_2,
    arun,
    insert_template,
    sql,
)

# Fixtures of the shared module (a freshly migrated database per test module, the keyring).
db_url = fx.db_url
keyring = fx.keyring


async def _new_task_and_resolution(store: Store, tpl_id: int, n_steps: int = 3, alg: str = "") -> tuple:
    now = utcnow()
    task = TaskRecord(
        id=0, public_id=str(uuid.uuid4()), title="t", id_template=tpl_id, id_batch=None, template_name="x",
        requester_username="u", requester_groups=None, watcher_usernames=None, watcher_groups=None,
        resolver_usernames=None, resolver_groups=None, created=now, state="TODO", steps_done=0,
        steps_total=n_steps, last_activity=now, tags={"a": "b"}, input={"n": gojson.JSONNumber("1.50"), "s": "<x>"},
        result={"r": "&"},
    )
    steps = {f"s{i}": {"name": f"s{i}", "state": "TODO", "idempotent": i % 2 == 0} for i in range(n_steps)}
    res = ResolutionRecord(
        id=0, public_id=str(uuid.uuid4()), id_task=0, task_public_id=task.public_id, task_title="t",
        resolver_username="u", state="TO_AUTORUN", instance_id=None, created=now, last_start=None, last_stop=None,
        next_retry=None, run_count=0, run_max=100, steps_compression_alg=alg, base_configurations={"b": {"x": 1}},
        resolver_inputs={"ri": "v"}, steps=steps,
    )
    async with store.tx() as tx:
        await store.insert_task(tx, task)
        res.id_task = task.id
        await store.insert_resolution(tx, res)
    return task, res


def _tpl_id(url: str) -> int:
    name = insert_template(url)
    return sql(url, "SELECT id FROM task_template WHERE name = %s", (name,))[0][0]


def test_utask_column_formats(db_url, keyring):
    """§9.2: marshal (hex of encrypted Go JSON) for inputs, raw for result and steps, AAD = public id."""
    tpl = _tpl_id(db_url)

    async def go():
        store = Store(db_url, keyring, compression="gzip")
        try:
            return await _new_task_and_resolution(store, tpl, alg="gzip")
        finally:
            await store.close()

    task, res = arun(go())
    enc_input, enc_result = sql(db_url, "SELECT encrypted_input, encrypted_result FROM task WHERE id = %s",
                                (task.id,))[0]
    text = bytes(enc_input).decode("ascii")
    assert text == text.lower() and bytes.fromhex(text)  # lower-case hex text
    plain = keyring.decrypt(bytes.fromhex(text), task.public_id)
    assert plain == b'{"n":1.50,"s":"\\u003cx\\u003e"}'  # exact number, HTML-escaped like Go
    assert keyring.decrypt(bytes(enc_result), task.public_id) == b'{"r":"&"}'  # raw, no HTML escaping
    with pytest.raises(Exception):  # noqa: B017 - any authentication failure
        keyring.decrypt(bytes(enc_result), res.public_id)  # bound to its own row
    blob, alg, crypt_key, in_rows = sql(
        db_url, "SELECT encrypted_steps, steps_compression_alg, crypt_key, steps_in_rows FROM resolution "
        "WHERE id = %s", (res.id,))[0]
    assert alg == "gzip" and bytes(crypt_key) == b"" and in_rows
    import gzip

    steps = gojson.loads(gzip.decompress(keyring.decrypt(bytes(blob), res.public_id)))
    assert set(steps) == {"s0", "s1", "s2"} and steps["s0"]["state"] == "TODO"
    rows = sql(db_url, "SELECT name, encrypted_step FROM resolution_step WHERE id_resolution = %s ORDER BY name",
               (res.id,))
    assert [r[0] for r in rows] == ["s0", "s1", "s2"]
    # One row per step, bound to (resolution, step): a row moved to another step does not decrypt.
    assert gojson.loads(keyring.decrypt(bytes(rows[0][1]), (res.public_id + "s0").encode()))["name"] == "s0"
    with pytest.raises(Exception):  # noqa: B017 - any authentication failure
        keyring.decrypt(bytes(rows[0][1]), (res.public_id + "s1").encode())


def test_legacy_blob_is_exploded_into_rows(db_url, keyring):
    """A µTask row (blob only, hex variant of v1.21.1–3 too) reads, and becomes rows on a locked load."""
    tpl = _tpl_id(db_url)

    async def go(hex_blob: bool):
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl)
            legacy = {"a": {"name": "a", "state": "DONE", "output": {"x": gojson.JSONNumber("10")}},
                      "b": {"name": "b", "state": "TODO"}}
            blob = keyring.encrypt(compress("", dumps(legacy).encode()), res.public_id)
            if hex_blob:
                blob = blob.hex().encode()
            sql(db_url, "DELETE FROM resolution_step WHERE id_resolution = %s", (res.id,))
            sql(db_url, "UPDATE resolution SET encrypted_steps = %s, steps_in_rows = false, "
                "steps_compression_alg = '' WHERE id = %s", (blob, res.id))
            async with store.tx() as tx:
                unlocked = await store.load_resolution(tx, res.public_id)
            assert unlocked.steps == legacy and not unlocked.steps_in_rows
            assert sql(db_url, "SELECT count(*) FROM resolution_step WHERE id_resolution = %s", (res.id,))[0][0] == 0
            async with store.tx() as tx:
                locked = await store.load_resolution(tx, res.public_id, lock="wait")
            assert locked.steps == legacy
            names = sql(db_url, "SELECT name FROM resolution_step WHERE id_resolution = %s ORDER BY name", (res.id,))
            assert [n[0] for n in names] == ["a", "b"]
            assert sql(db_url, "SELECT steps_in_rows FROM resolution WHERE id = %s", (res.id,))[0][0] is True
            async with store.tx() as tx:
                again = await store.load_resolution(tx, res.public_id)
            assert again.steps == legacy and again.steps_in_rows
        finally:
            await store.close()

    arun(go(False))
    arun(go(True))


def test_incremental_commits_do_not_grow_with_the_number_of_steps(db_url, keyring):
    """A commit writes only the changed rows; the blob is untouched until the end of the run."""
    tpl = _tpl_id(db_url)

    async def measure(n_steps: int) -> float:
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl, n_steps=n_steps)
            blob_before = sql(db_url, "SELECT encrypted_steps FROM resolution WHERE id = %s", (res.id,))[0][0]
            writer = RunWriter(store, res, task)
            steps = dict(res.steps)
            start = time.perf_counter()
            rounds = 40
            for i in range(rounds):
                name = f"s{i}"
                steps[name] = dict(steps[name], state="DONE")
                await writer.commit({name: steps[name]})
            per_commit = (time.perf_counter() - start) / rounds
            assert writer.rows_written == rounds and writer.commits == rounds
            assert sql(db_url, "SELECT encrypted_steps FROM resolution WHERE id = %s", (res.id,))[0][0] == blob_before
            await writer.write_blob(steps)
            async with store.tx() as tx:
                loaded = await store.load_resolution(tx, res.public_id)
            assert loaded.steps["s0"]["state"] == "DONE" and loaded.steps[f"s{rounds}"]["state"] == "TODO"
            blob = sql(db_url, "SELECT encrypted_steps FROM resolution WHERE id = %s", (res.id,))[0][0]
            assert store.decode_blob(res.public_id, blob, "")["s0"]["state"] == "DONE"
            return per_commit
        finally:
            await store.close()

    small = arun(measure(50))
    large = arun(measure(5000))
    print(f"per-commit cost: 50 steps {small * 1000:.2f} ms, 5000 steps {large * 1000:.2f} ms")
    # Generous bound (shared CI machine): a blob rewrite of 5,000 steps per commit would be far slower.
    assert large < small * 3 + 0.005


def test_group_commit_merges_concurrent_results_and_all_are_durable(db_url, keyring):
    tpl = _tpl_id(db_url)

    async def go():
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl, n_steps=60)
            writer = RunWriter(store, res, task)
            steps = {name: dict(s, state="DONE") for name, s in res.steps.items()}
            await asyncio.gather(*(writer.commit({name: st}) for name, st in steps.items()))
            assert writer.commits < 60  # merged into fewer transactions
            async with store.tx() as tx:
                loaded = await store.load_resolution(tx, res.public_id)
            assert all(s["state"] == "DONE" for s in loaded.steps.values())
            # A removed step (contracted foreach child) deletes its row.
            await writer.commit({"s1": None})
            async with store.tx() as tx:
                loaded = await store.load_resolution(tx, res.public_id)
            assert "s1" not in loaded.steps and len(loaded.steps) == 59
        finally:
            await store.close()

    arun(go())


def test_next_retry_only_moves_earlier_within_a_run_cycle(db_url, keyring):
    """§6.7 under pg_advisory_xact_lock: applied only if after last_start and earlier than the current one."""
    tpl = _tpl_id(db_url)
    from datetime import timedelta

    async def go():
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl)
            start = utcnow()
            sql(db_url, "UPDATE resolution SET last_start = %s, next_retry = NULL WHERE id = %s", (start, res.id))
            async with store.tx() as tx:
                # Before last_start: refused, the stored (NULL) value is read back.
                assert await store.update_next_retry(tx, res.id, start - timedelta(seconds=5)) is None
                first = await store.update_next_retry(tx, res.id, start + timedelta(minutes=10))
                assert first == start + timedelta(minutes=10)
                later = await store.update_next_retry(tx, res.id, start + timedelta(minutes=20))
                assert later == first  # never later
                earlier = await store.update_next_retry(tx, res.id, start + timedelta(minutes=1))
                assert earlier == start + timedelta(minutes=1)
            # A new run cycle (last_start after the stored value): any value after last_start applies.
            new_start = start + timedelta(minutes=5)
            sql(db_url, "UPDATE resolution SET last_start = %s WHERE id = %s", (new_start, res.id))
            async with store.tx() as tx:
                got = await store.update_next_retry(tx, res.id, new_start + timedelta(hours=1))
            assert got == new_start + timedelta(hours=1)
            # A resolution update without next_retry keeps (re-reads) the stored value.
            async with store.tx() as tx:
                loaded = await store.load_resolution(tx, res.public_id)
                loaded.next_retry = None
                await store.update_resolution(tx, loaded)
            assert loaded.next_retry == new_start + timedelta(hours=1)
        finally:
            await store.close()

    arun(go())


def test_nowait_lock_fails_at_once(db_url, keyring):
    tpl = _tpl_id(db_url)

    async def go():
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl)
            async with store.tx() as tx1:
                await store.load_resolution(tx1, res.public_id, lock="wait", with_steps=False)
                async with store.tx() as tx2:
                    with pytest.raises(LockNotAvailable):
                        await store.load_resolution(tx2, res.public_id, lock="nowait", with_steps=False)
        finally:
            await store.close()

    arun(go())


def test_key_rotation_reencrypts_everything_with_the_newest_key(db_url, keyring):
    tpl = _tpl_id(db_url)

    async def go():
        old = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(old, tpl)
        finally:
            await old.close()
        both = KeyRing.from_values([KEY_1, KEY_2])
        store = Store(db_url, both)
        try:
            counts = await store.rotate_keys()
        finally:
            await store.close()
        assert counts["task"] >= 1 and counts["resolution"] >= 1
        newest = Store(db_url, KeyRing.from_values([KEY_2]))
        try:
            async with newest.tx() as tx:
                t = await newest.load_task(tx, task.public_id)
                r = await newest.load_resolution(tx, res.public_id)
                blob = (await tx.fetchone("SELECT encrypted_steps FROM resolution WHERE id = %(id)s",
                                          {"id": r.id}))["encrypted_steps"]
            assert t.input["s"] == "<x>" and t.result == {"r": "&"}
            assert r.resolver_inputs == {"ri": "v"} and set(r.steps) == {"s0", "s1", "s2"}
            assert set(newest.decode_blob(r.public_id, blob, "")) == {"s0", "s1", "s2"}
        finally:
            await newest.close()

    arun(go())


def test_commits_of_one_or_many_rows_write_every_row_and_a_verifiable_audit_chain(db_url, keyring):
    """Several changed steps (and removed ones) of one commit go in one statement each, their audit events
    in one statement per chain; a single one takes the plain statements. Both read back the same."""
    from utask.core.engine import audit

    tpl = _tpl_id(db_url)

    async def go():
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl, n_steps=20)
            writer = RunWriter(store, res, task)
            many = {f"s{i}": dict(res.steps[f"s{i}"], state="RUNNING") for i in range(12)}
            await writer.commit({**many, "s12": None, "s13": None, "s14": None})
            await writer.commit({"s0": dict(many["s0"], state="DONE"), "s15": None})
            await writer.commit({"s1": dict(many["s1"], state="DONE")})
            async with store.tx() as tx:
                loaded = await store.load_resolution(tx, res.public_id)
                chain = await audit.verify_chain(tx, task.public_id, keyring)
            assert sorted(loaded.steps) == sorted(f"s{i}" for i in (*range(12), 16, 17, 18, 19))
            assert loaded.steps["s0"]["state"] == "DONE" and loaded.steps["s1"]["state"] == "DONE"
            assert all(loaded.steps[f"s{i}"]["state"] == "RUNNING" for i in range(2, 12))
            assert chain.ok, chain.problems
            events = sql(db_url, "SELECT step_name, from_state, to_state FROM audit_event WHERE task_public_id = %s "
                                 "AND kind = 'step_state' ORDER BY seq", (task.public_id,))
            assert [e[0] for e in events[:12]] == [f"s{i}" for i in range(12)]
            assert events[12:] == [("s0", "RUNNING", "DONE"), ("s1", "RUNNING", "DONE")]
        finally:
            await store.close()

    arun(go())


def test_pooled_connections_closed_by_the_server_are_replaced(db_url, keyring):
    """A PostgreSQL restart, a failover or pg_terminate_backend closes idle pooled connections: the next
    transaction gets a fresh one instead of an error (an API 500, a failed commit in a run)."""
    async def go():
        store = Store(db_url, keyring, pool_size=2)
        try:
            async with store.tx() as tx:
                pid = (await tx.fetchone("SELECT pg_backend_pid() AS pid"))["pid"]
            sql(db_url, "SELECT pg_terminate_backend(%s)", (pid,))
            await asyncio.sleep(0.2)  # the server's goodbye reaches the idle connection
            async with store.tx() as tx:
                again = (await tx.fetchone("SELECT pg_backend_pid() AS pid"))["pid"]
            assert again != pid
        finally:
            await store.close()

    arun(go())
