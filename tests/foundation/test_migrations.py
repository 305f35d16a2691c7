"""Alembic migrations: µTask's schema at 011 reproduced exactly, take-over, concurrency, refusal of newer."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from utask.core.storage import (
    BASELINE_REVISION,
    Database,
    MigrationError,
    current_revision,
    head_revision,
    migrate,
    to_conninfo,
)

from .conftest import UTASK_011_SQL

UTASK_TABLES = {"task_template", "batch", "task", "task_comment", "resolution", "runner_instance", "callback",
                "cache", "utask_sql_migrations"}


def apply_utask_011(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(UTASK_011_SQL.read_text())


def schema_of(url: str, tables: set[str] = UTASK_TABLES) -> dict[str, list]:
    """Everything that makes two schemas the same: columns, constraints, indexes, sequences."""
    names = sorted(tables)
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, "
            "character_maximum_length, numeric_precision FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY(%s) ORDER BY 1, 3", (names,)).fetchall()
        constraints = conn.execute(
            "SELECT rel.relname, c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class rel ON rel.oid = c.conrelid JOIN pg_namespace n ON n.oid = rel.relnamespace "
            "WHERE n.nspname = 'public' AND rel.relname = ANY(%s) ORDER BY 1, 2", (names,)).fetchall()
        indexes = conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = ANY(%s) ORDER BY 1, 2", (names,)).fetchall()
        sequences = conn.execute(
            "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences "
            "WHERE sequence_schema = 'public' ORDER BY 1").fetchall()
        rows = conn.execute("SELECT current_migration_applied FROM utask_sql_migrations").fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes, "sequences": sequences,
            "utask_sql_migrations": rows}


def test_migrate_empty_database_to_head(fresh_database) -> None:
    url = fresh_database()
    result = migrate(url)
    assert result.before is None and not result.stamped
    assert result.after == head_revision() and result.applied[0] == BASELINE_REVISION
    assert current_revision(url) == head_revision()
    schema = schema_of(url)
    assert {c[0] for c in schema["columns"]} == UTASK_TABLES
    assert schema["utask_sql_migrations"] == [("v1.21.1-migration011",)]
    again = migrate(url)  # idempotent
    assert again.applied == () and again.before == head_revision()


def test_baseline_is_exactly_utask_011_schema(fresh_database) -> None:
    theirs, ours = fresh_database(), fresh_database()
    apply_utask_011(theirs)
    migrate(ours, target=BASELINE_REVISION)
    expected, actual = schema_of(theirs), schema_of(ours)
    for part in expected:
        assert actual[part] == expected[part], part
    assert len(expected["indexes"]) == 34  # 18 µTask indexes + 9 primary keys + 7 unique constraints


def test_take_over_of_a_utask_database(fresh_database) -> None:
    url = fresh_database()
    apply_utask_011(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO task_template (name, description, inputs, resolver_inputs, steps, result_format, "
                     "title_format, base_configurations) VALUES ('hello', 'd', '[]', '[]', '{}', '{}', 't', '{}')")
        oid_before = conn.execute("SELECT 'task_template'::regclass::oid").fetchone()[0]
    result = migrate(url)
    assert result.stamped and result.after == head_revision()
    assert BASELINE_REVISION not in result.applied  # nothing recreated
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM task_template").fetchall() == [("hello",)]
        assert conn.execute("SELECT 'task_template'::regclass::oid").fetchone()[0] == oid_before
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]


def test_older_utask_database_is_refused(fresh_database) -> None:
    url = fresh_database()
    apply_utask_011(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE utask_sql_migrations SET current_migration_applied = 'v1.21.1-migration010'")
    with pytest.raises(MigrationError, match=r"doesn't contains the latest SQL migration \(v1.21.1-migration011\)"):
        migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM utask_sql_migrations")
    with pytest.raises(MigrationError, match="migration table is empty"):
        migrate(url)


def test_database_of_a_newer_version_is_refused(fresh_database) -> None:
    url = fresh_database()
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(MigrationError) as e:
        migrate(url)
    assert '"9999_from_the_future"' in str(e.value) and "newer version" in str(e.value)
    assert "\n" not in str(e.value)


MIGRATE_SCRIPT = """
import sys
from utask.core.storage import migrate
r = migrate(sys.argv[1])
print(len(r.applied))
"""


def test_concurrent_migrate_from_two_processes(fresh_database) -> None:
    url = fresh_database()
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE_SCRIPT, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    applied = sorted(int(o[0].strip()) for o in outs)
    assert applied[0] == 0 and applied[1] >= 1  # one migrated, the other waited on the lock then found it done
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
        assert conn.execute("SELECT count(*) FROM utask_sql_migrations").fetchone()[0] == 1


def test_url_forms_and_database_handle(database_url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    if not str(info.get("host", "")).startswith("/"):
        url = f"postgres://{info['user']}@{info['host']}:{info.get('port', 5432)}/{info['dbname']}?sslmode=disable"
        assert psycopg.conninfo.conninfo_to_dict(to_conninfo(url))["sslmode"] == "disable"
    else:
        url = database_url
    from utask.core.config import DatabaseConfig

    db = Database.connect(url, pool=DatabaseConfig(max_open_conns=4, max_idle_conns=2))
    try:
        assert db.engine.pool.size() == 2
        assert db.ping()
        with db.session() as conn:
            assert conn.exec_driver_sql("SELECT 41 + 1").scalar() == 42
    finally:
        db.dispose()
    bad = Database.connect("postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert not bad.ping()
    bad.dispose()
