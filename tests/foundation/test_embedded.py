"""The embedded default: a private PostgreSQL that keeps its data across restarts and stops with utask."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import psycopg
from utask.core.storage.embedded import EmbeddedPostgres

from .conftest import UTASK_BIN, clean_environ
from .test_cli import wait_for_ping


def test_embedded_postgres_keeps_data_across_restarts(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    try:
        server.start()
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
        server.stop()
        assert not server.is_running()
        server.start()
        with psycopg.connect(server.url("postgres")) as conn:
            assert conn.execute("SELECT v FROM kept").fetchall() == [("still here",)]
        # A second user of the same folder (`utask migrate` while `make run` serves) must not stop it.
        guest = EmbeddedPostgres(tmp_path / "pg", durable=False).start()
        guest.stop()
        assert server.is_running()
        with psycopg.connect(guest.url("postgres")) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone()[0] == 1
    finally:
        server.remove()
    assert not (tmp_path / "pg").exists()


def test_serve_without_configuration_uses_the_embedded_default(tmp_path: Path, port: int, workdir: Path) -> None:
    """What `make run` does: no configuration at all; twice, to prove data and key survive a restart."""
    env = clean_environ(UTASK_DATA_DIR=str(tmp_path / "data"))
    key_file = tmp_path / "data" / "encryption-key.json"
    server = EmbeddedPostgres(tmp_path / "data" / "postgres")
    try:
        keys, marks = [], []
        for _ in range(2):
            proc = subprocess.Popen([UTASK_BIN, "serve", "--http-port", str(port)], env=env, cwd=workdir,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                assert wait_for_ping(proc, port, timeout=90).text == "pong"
                with psycopg.connect(server.url("utask")) as conn:
                    marks.append(conn.execute("INSERT INTO runner_instance DEFAULT VALUES RETURNING id").fetchone()[0])
                    conn.commit()
            finally:
                proc.send_signal(signal.SIGTERM)
                out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert "admin / 1234" in out and "DEVELOPMENT SETUP" in err
            assert not server.is_running()  # stopping utask stopped its database
            assert key_file.stat().st_mode & 0o777 == 0o600
            keys.append(json.loads(key_file.read_text())["key"])
        assert keys[0] == keys[1]
        server.start()
        with psycopg.connect(server.url("utask")) as conn:
            kept = conn.execute("SELECT id FROM runner_instance WHERE id = ANY(%s)", (marks,)).fetchall()
            assert sorted(r[0] for r in kept) == sorted(marks)  # what each run wrote is still there
    finally:
        server.remove()
