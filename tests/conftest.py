"""Shared fixtures: every test run gets its own PostgreSQL database, dropped at the end.

Order of preference: UTASK_TEST_DATABASE_URL, else the server on 127.0.0.1:5432 when it answers,
else the embedded PostgreSQL of `utask.core.storage.embedded`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql


def _server_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _admin_url() -> tuple[str, object | None]:
    """A URL of a database we may CREATE DATABASE from, and what to stop afterwards (or None)."""
    explicit = os.environ.get("UTASK_TEST_DATABASE_URL")
    if explicit:
        return explicit, None
    if _server_answers():
        return "postgresql://postgres@127.0.0.1:5432/postgres", None
    from utask.core.storage.embedded import EmbeddedPostgres

    server = EmbeddedPostgres.default(purpose="tests")
    server.start()
    return server.url("postgres"), server


def _with_dbname(url: str, dbname: str) -> str:
    conninfo = psycopg.conninfo.conninfo_to_dict(url)
    conninfo["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**conninfo)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty database for this test run (libpq conninfo string)."""
    admin, server = _admin_url()
    name = f"utask_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_dbname(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def fresh_database(database_url: str):
    """Factory: another empty database, dropped at the end of the run (for migration and multi-instance tests)."""
    created: list[str] = []

    def make() -> str:
        name = f"utask_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return _with_dbname(database_url, name)

    yield make
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in created:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def sandbox_readable_dir(prefix: str = "utask-test-") -> Iterator[Path]:
    """A scratch folder the sandbox's unprivileged uid can read, removed afterwards. Plugin code installed
    for a test must live in one: pytest's `tmp_path` is under a 0700 folder, so with the uid-drop layer
    required (CI's SANDBOX_REQUIRE=all) a plugin there is refused."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def readable_dir() -> Iterator[Path]:
    with sandbox_readable_dir() as path:
        yield path
