"""The audit trail: hash chain per task, tamper detection (edited / deleted events), CLI, key rotation."""

from __future__ import annotations

import argparse
import uuid

import psycopg
import pytest
from utask.core.crypto import KeyRing
from utask.core.engine import audit
from utask.core.engine.audit import Event
from utask.core.engine.cli import register
from utask.core.engine.store import Store

from tests.engine import test_persistence_fixtures as fx
from tests.engine.test_persistence_fixtures import KEY_1, KEY_2, arun, sql

# Fixtures of the shared module (a freshly migrated database per test module, the keyring).
db_url = fx.db_url
keyring = fx.keyring

pytestmark = pytest.mark.timeout(60)


def _append(url: str, ring: KeyRing, task: str, n: int, **kw) -> None:
    async def go():
        store = Store(url, ring)
        try:
            async with store.tx() as tx:
                await audit.append(tx, [
                    Event(kind=audit.STEP_STATE, task_public_id=task, resolution_public_id=str(uuid.uuid4()),
                          step_name=f"s{i}", from_state="TODO", to_state="DONE", actor="admin", instance_id=1,
                          details={"error": f"e{i} <&>"} if i % 2 else None, **kw)
                    for i in range(n)
                ], ring)
        finally:
            await store.close()

    arun(go())


def _verify(url: str, ring: KeyRing, task: str) -> audit.Verification:
    async def go():
        store = Store(url, ring)
        try:
            async with store.tx() as tx:
                return await audit.verify_chain(tx, task, ring)
        finally:
            await store.close()

    return arun(go())


def _tamper(url: str, statement: str, params: tuple) -> None:
    # The append-only trigger must be bypassed on purpose, as an attacker with SQL access would.
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        conn.execute(statement, params)
        conn.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def test_chain_verifies_and_links_every_event(db_url, keyring):
    task = str(uuid.uuid4())
    _append(db_url, keyring, task, 3)
    _append(db_url, keyring, task, 2)  # a later transaction continues the chain
    result = _verify(db_url, keyring, task)
    assert result.ok and result.events == 5
    rows = sql(db_url, "SELECT seq, prev_hash, hash FROM audit_event WHERE task_public_id = %s ORDER BY seq", (task,))
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert bytes(rows[0][1]) == audit.GENESIS
    assert all(bytes(rows[i][1]) == bytes(rows[i - 1][2]) for i in range(1, 5))
    assert _verify(db_url, keyring, str(uuid.uuid4())).events == 0


def test_append_only_is_enforced_by_the_database(db_url, keyring):
    task = str(uuid.uuid4())
    _append(db_url, keyring, task, 1)
    with pytest.raises(psycopg.errors.RaiseException):
        sql(db_url, "UPDATE audit_event SET to_state = 'X' WHERE task_public_id = %s", (task,))
    with pytest.raises(psycopg.errors.RaiseException):
        sql(db_url, "DELETE FROM audit_event WHERE task_public_id = %s", (task,))


@pytest.mark.parametrize("tamper, expected", [
    ("UPDATE audit_event SET to_state = 'CANCELLED' WHERE task_public_id = %s AND seq = 2",
     "event 2: content does not match its hash (edited)"),
    ("UPDATE audit_event SET actor = 'mallory' WHERE task_public_id = %s AND seq = 1",
     "event 1: content does not match its hash (edited)"),
    ("UPDATE audit_event SET encrypted_details = decode('00', 'hex') WHERE task_public_id = %s AND seq = 2",
     "event 2: details do not decrypt (edited)"),
    ("DELETE FROM audit_event WHERE task_public_id = %s AND seq = 2", "event 2 missing (deleted)"),
    ("DELETE FROM audit_event WHERE task_public_id = %s AND seq = 4", "event 4 missing (deleted)"),
])
def test_tampering_is_detected(db_url, keyring, tamper, expected):
    task = str(uuid.uuid4())
    _append(db_url, keyring, task, 4)
    assert _verify(db_url, keyring, task).ok
    _tamper(db_url, tamper, (task,))
    result = _verify(db_url, keyring, task)
    assert not result.ok
    assert expected in result.problems


def test_details_swapped_between_events_are_detected(db_url, keyring):
    """Ciphertext moved from one event to another still decrypts (same task AAD) but breaks the hash."""
    task = str(uuid.uuid4())
    _append(db_url, keyring, task, 4)
    _tamper(db_url, "UPDATE audit_event SET encrypted_details = (SELECT encrypted_details FROM audit_event "
            "WHERE task_public_id = %s AND seq = 4) WHERE task_public_id = %s AND seq = 2", (task, task))
    result = _verify(db_url, keyring, task)
    assert "event 2: content does not match its hash (edited)" in result.problems


def test_cli_verify(db_url, keyring, capsys):
    task = str(uuid.uuid4())
    _append(db_url, keyring, task, 3)
    parser = argparse.ArgumentParser(prog="utask")
    register(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> int:
        args = parser.parse_args(["audit", *argv, "--database", db_url, "--encryption-key", KEY_1])
        return args.func(args)

    assert run("verify", task) == 0
    assert "3 events, chain intact" in capsys.readouterr().out
    assert run("show", task) == 0
    assert capsys.readouterr().out.count('"kind": "step_state"') == 3
    _tamper(db_url, "DELETE FROM audit_event WHERE task_public_id = %s AND seq = 2", (task,))
    assert run("verify", task) == 1
    out = capsys.readouterr().out
    assert "event 2 missing (deleted)" in out and "TAMPERED" in out


def test_key_rotation_keeps_the_chain_valid(db_url, keyring):
    task = str(uuid.uuid4())
    _append(db_url, keyring, task, 4)
    both = KeyRing.from_values([KEY_1, KEY_2])

    async def rotate():
        store = Store(db_url, both)
        try:
            async with store.tx() as tx:
                return await audit.reencrypt_details(tx, task, both)
        finally:
            await store.close()

    assert arun(rotate()) == 2  # the two events with details
    newest = KeyRing.from_values([KEY_2])
    assert _verify(db_url, newest, task).ok


def test_run_writer_chain_survives_events_appended_by_others(db_url, keyring):
    """The writer remembers its last link; an API event in between makes it re-read the head."""
    from utask.core.engine.store import RunWriter

    from tests.engine.test_persistence_store import _new_task_and_resolution, _tpl_id

    tpl = _tpl_id(db_url)

    async def go():
        store = Store(db_url, keyring)
        try:
            task, res = await _new_task_and_resolution(store, tpl, n_steps=3)
            writer = RunWriter(store, res, task)
            steps = dict(res.steps)
            for i, name in enumerate(["s0", "s1", "s2"]):
                steps[name] = dict(steps[name], state="DONE")
                await writer.commit({name: steps[name]})
                if i == 0:
                    async with store.tx() as tx:  # e.g. a comment-worthy manual action through the API
                        await audit.append(tx, [Event(kind=audit.MANUAL, task_public_id=task.public_id,
                                                      actor="admin", details={"action": "x"})], keyring)
            async with store.tx() as tx:
                return await audit.verify_chain(tx, task.public_id, keyring)
        finally:
            await store.close()

    result = arun(go())
    assert result.ok and result.events == 4
