"""Applying the Alembic migrations of `core/storage/migrations/`, safely and without an alembic.ini.

- Several instances starting together: everything happens under a session-level `pg_advisory_lock`.
- Take-over of a µTask database: µTask's tables and its `v1.21.1-migration011` row but no
  `alembic_version` → revision `0001_utask_011` is stamped, nothing is recreated.
- A database migrated by a newer version (an `alembic_version` this code does not know) is refused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from .tables import UTASK_LATEST_MIGRATION, UTASK_TABLES
from .url import to_sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger("utask.storage")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BASELINE_REVISION = "0001_utask_011"
# Arbitrary but fixed: every utask instance and `utask migrate` serialise on this key.
ADVISORY_LOCK_KEY = 0x75_74_61_73_6B_00_00_01  # "utask" + 1


class MigrationError(Exception):
    """The database cannot be brought to this version's schema; str() is one line for the operator."""


@dataclass(frozen=True)
class MigrationResult:
    before: str | None  # alembic revision before, None for an empty database
    after: str
    stamped: bool  # a µTask database taken over
    applied: tuple[str, ...]  # revisions run


def alembic_config() -> Config:
    from alembic.config import (
        Config,  # alembic is imported only when there is something to do (start-up time)
    )

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([A-Za-z0-9_]+|None)['\"]?\s*$", re.MULTILINE)


def _quick_head() -> str | None:
    """The single head revision, read from the migration files without importing alembic (~0.5 s saved at
    every start on an up-to-date database); None when the files are not the simple linear kind."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            down = found.get("down_revision")
            revisions[found["revision"]] = None if down in (None, "None") else down
    heads = set(revisions) - {d for d in revisions.values() if d}
    return heads.pop() if len(heads) == 1 else None


def head_revision() -> str:
    return _script().get_current_head()


def _table_names(conn: Connection) -> set[str]:
    rows = conn.execute(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))
    return {r[0] for r in rows}


def _current_revision(conn: Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    revs = [r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    if len(revs) > 1:
        raise MigrationError(f"database has several alembic revisions ({', '.join(revs)}); refusing to guess")
    return revs[0] if revs else None


def _check_utask_database(conn: Connection, tables: set[str]) -> bool:
    """True when this is a µTask database at migration 011 (to stamp); raises when it is µTask's but older."""
    present = tables & set(UTASK_TABLES)
    if not present:
        return False
    if "utask_sql_migrations" not in tables:
        raise MigrationError(
            "database has µTask tables (" + ", ".join(sorted(present)) + ") but no utask_sql_migrations table: "
            "apply µTask's SQL migrations up to " + UTASK_LATEST_MIGRATION + " first, or use an empty database")
    applied = [r[0] for r in conn.execute(sa.text("SELECT current_migration_applied FROM utask_sql_migrations"))]
    if not applied:
        raise MigrationError("migration table is empty, can't determine which SQL migration were already applied")
    if UTASK_LATEST_MIGRATION not in applied:
        raise MigrationError(
            f"SQL database doesn't contains the latest SQL migration ({UTASK_LATEST_MIGRATION}). Last SQL migration "
            f"applied according to the database: {max(applied)}. Please apply all µTask SQL migrations first")
    missing = set(UTASK_TABLES) - tables
    if missing:
        raise MigrationError(f"µTask database is missing tables: {', '.join(sorted(missing))}")
    return True


def migrate_connection(conn: Connection, target: str = "head") -> MigrationResult:
    """Bring the database of `conn` (outside any transaction) to `target`, under the advisory lock."""
    if target == "head":
        quick = _quick_head()
        if quick is not None:
            current = _current_revision(conn, _table_names(conn))
            conn.rollback()
            if current == quick:  # the common case: nothing to do, no lock, no alembic
                return MigrationResult(before=current, after=current, stamped=False, applied=())
    from alembic import command

    script = _script()
    head = script.get_current_head() if target == "head" else script.get_revision(target).revision
    conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    conn.commit()
    try:
        tables = _table_names(conn)
        before = _current_revision(conn, tables)
        stamped = False
        if before is not None:
            try:
                script.get_revision(before)
            except Exception:  # alembic raises several types for an unknown revision
                raise MigrationError(
                    f'database schema is at revision "{before}", unknown to this utask (newest known: "{head}"): '
                    "it was migrated by a newer version; upgrade utask") from None
        elif _check_utask_database(conn, tables):
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.stamp(cfg, BASELINE_REVISION)
            conn.commit()
            stamped = True
            before = BASELINE_REVISION
            log.info("took over a µTask database (%s): stamped revision %s", UTASK_LATEST_MIGRATION,
                     BASELINE_REVISION)
        applied: tuple[str, ...] = ()
        if before != head:
            applied = tuple(
                rev.revision for rev in reversed(list(script.iterate_revisions(head, before or "base"))))
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, head)
            conn.commit()
            log.info("database migrated from %s to %s", before or "empty", head)
        return MigrationResult(before=None if stamped else before, after=head, stamped=stamped, applied=applied)
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
        conn.commit()


def migrate(url: str, target: str = "head") -> MigrationResult:
    """Apply pending migrations to the database at `url` (any accepted URL form).

    `target` is for tests and tools (e.g. the µTask baseline alone); the server always goes to head.
    """
    engine = sa.create_engine(to_sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return migrate_connection(conn, target)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    engine = sa.create_engine(to_sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _current_revision(conn, _table_names(conn))
    finally:
        engine.dispose()
