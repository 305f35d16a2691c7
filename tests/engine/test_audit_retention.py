"""Audit retention: the garbage collector purges the trails of deleted tasks once their last event is
older than `audit_retention`, and nothing else (live tasks' chains stay whole, 0 keeps everything)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from utask.core.config.errors import ConfigError
from utask.core.config.utask_cfg import UtaskConfig
from utask.core.engine import audit
from utask.core.engine.audit import Event
from utask.core.engine.collectors import CollectorConfig, Coordinator
from utask.core.engine.store import Store

from tests.engine import test_persistence_fixtures as fx
from tests.engine.test_persistence_fixtures import ADMIN, arun, insert_template, make_service, sql

db_url = fx.db_url
keyring = fx.keyring

pytestmark = pytest.mark.timeout(60)


def _trail(url: str, ring, task: str, age: timedelta, n: int = 3) -> None:
    """`n` events of `task`, the last one `age` old."""
    async def go():
        store = Store(url, ring)
        try:
            async with store.tx() as tx:
                now = datetime.now(UTC)
                await audit.append(tx, [
                    Event(kind=audit.STEP_STATE, task_public_id=task, step_name=f"s{i}", from_state="TODO",
                          to_state="DONE", actor="admin", created=now - age - timedelta(minutes=n - i))
                    for i in range(n)], ring)
        finally:
            await store.close()

    arun(go())


def _purge(url: str, ring, retention: timedelta, batch: int = 500) -> int:
    async def go():
        store = Store(url, ring)
        try:
            return await Coordinator(store, resolve=None, config=CollectorConfig(audit_retention=retention)
                                     ).purge_audit(batch=batch)
        finally:
            await store.close()

    return arun(go())


def _live_task(url: str, ring) -> str:
    tpl = insert_template(url)

    async def go():
        store = Store(url, ring)
        try:
            return await make_service(store).create_task(ADMIN, tpl, {})
        finally:
            await store.close()

    return str(arun(go()).public_id)


def _events(url: str, task: str) -> int:
    return sql(url, "SELECT count(*) FROM audit_event WHERE task_public_id = %s", (task,))[0][0]


def _head(url: str, task: str) -> int:
    return sql(url, "SELECT count(*) FROM audit_chain_head WHERE task_public_id = %s", (task,))[0][0]


def test_trails_of_deleted_tasks_go_after_the_retention(db_url, keyring):
    old = [str(uuid.uuid4()) for _ in range(5)]  # deleted tasks (no task row), last event 100 days ago
    recent = str(uuid.uuid4())  # deleted yesterday
    for task in old:
        _trail(db_url, keyring, task, timedelta(days=100))
    _trail(db_url, keyring, recent, timedelta(days=1))
    # a live task, created now
    live = _live_task(db_url, keyring)
    assert _events(db_url, live) >= 1

    assert _purge(db_url, keyring, timedelta(0)) == 0  # 0: kept forever
    assert all(_events(db_url, t) == 3 for t in old)

    assert _purge(db_url, keyring, timedelta(days=90), batch=2) == 5  # in batches of 2
    assert [(_events(db_url, t), _head(db_url, t)) for t in old] == [(0, 0)] * 5
    assert (_events(db_url, recent), _head(db_url, recent)) == (3, 1)
    assert _events(db_url, live) >= 1 and _head(db_url, live) == 1
    assert _purge(db_url, keyring, timedelta(days=90)) == 0


def test_a_live_task_trail_cannot_be_purged(db_url, keyring):
    live = _live_task(db_url, keyring)
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("SELECT set_config('utask.audit_purge', 'on', true)")
        conn.execute("DELETE FROM audit_event WHERE task_public_id = %s", (live,))
    assert _events(db_url, live) >= 1
    # without the purge setting, a deleted task's trail is refused too
    gone = str(uuid.uuid4())
    _trail(db_url, keyring, gone, timedelta(days=1))
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        sql(db_url, "DELETE FROM audit_event WHERE task_public_id = %s", (gone,))


def test_audit_retention_setting():
    def cfg(**raw):
        return UtaskConfig.from_dict({"admin_usernames": ["a"], **raw})

    assert cfg().audit_retention == timedelta(hours=2160)
    assert cfg(audit_retention="24h").audit_retention == timedelta(hours=24)
    assert CollectorConfig.from_utask_cfg(cfg(audit_retention="0s")).audit_retention == timedelta(0)
    with pytest.raises(ConfigError, match="audit_retention"):
        cfg(audit_retention="-1h")
    with pytest.raises(ConfigError, match='failed to parse "audit_retention"'):
        cfg(audit_retention="soon")
