"""The `utask` command as a user runs it: serve on an empty database, migrate, version, one-line errors."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time

import httpx
import psycopg
import pytest
from utask.core.storage import head_revision, migrate
from utask.hostapi.cli import main

from .conftest import UTASK_BIN, clean_environ, run_cli, utask_env


def wait_for_ping(proc: subprocess.Popen, port: int, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"utask exited with {proc.returncode}: {out} {err}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/unsecured/mon/ping", timeout=1)
            if r.status_code == 200:
                return r
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no answer on port {port} within {timeout}s")


def test_bare_utask_serves_an_empty_database_configured_by_env(fresh_database, port, workdir) -> None:
    """A bare `utask` (as the Go binary) with µTask's env configuration: migrates, then answers ping."""
    url = fresh_database()
    env = clean_environ(**utask_env(url), SERVER_PORT=str(port), LOGS_FORMAT="json", REGION="eu")
    proc = subprocess.Popen([UTASK_BIN], env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        r = wait_for_ping(proc, port)
        assert r.text == "pong" and r.headers["content-type"].startswith("text/plain")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://localhost:{port}" in out
    assert "Traceback" not in err
    first = next(line for line in err.splitlines() if line.strip())
    assert json.loads(first)["level"] in ("info", "warning")  # LOGS_FORMAT=json


def test_migrate_and_version(fresh_database) -> None:
    url = fresh_database()
    r = run_cli("migrate", env=utask_env(url))
    assert r.returncode == 0, r.stderr
    assert f"to {head_revision()}" in r.stdout
    assert main(["version"]) == 0


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip() and "level=" not in line]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("utask: ")
    return lines[0]


def test_newer_database_is_refused_in_one_line(fresh_database, port) -> None:
    url = fresh_database()
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    line = one_line_error(run_cli("serve", "--http-port", str(port), env=utask_env(url)))
    assert '"9999_future"' in line and "newer version" in line


@pytest.fixture
def restore_logging():
    """`main()` configures the root logger as the server does; put the test process's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("args", "env", "text"), [
    (["--http-port", "0"], {}, "utask: Incorrect HTTP port range"),
    (["--http-port", "70000"], {}, "utask: Incorrect HTTP port range"),
    ([], {"SERVER_PORT": "abc"}, "utask: invalid $SERVER_PORT 'abc'"),
    ([], {"DEBUG": "maybe"}, "utask: invalid boolean 'maybe' in $DEBUG"),
    ([], {"CFG_UTASK_CFG": "{}"}, "utask: configuration item \"utask-cfg\": Admin user list can't be empty"),
    ([], {"CFG_ENCRYPTION_KEY": "{}"}, 'utask: configuration item "encryption-key": "identifier" must be'),
    ([], {"CFG_DATABASE": "mysql://x"}, "utask: database: database URL must start with postgres://"),
    ([], {"CFG_DATABASE": "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"},
     'utask: database: cannot use postgresql://nobody@127.0.0.1:1/x?connect_timeout=2 '
     '(configuration item "database"):'),
    ([], {"CONFIGURATION_FROM": "nope:x"}, 'utask: configuration: provider "nope:x": failed to instantiate'),
])
def test_bad_start_is_one_line(args: list[str], env: dict[str, str], text: str, monkeypatch, capsys,
                               restore_logging) -> None:
    """In process (fast): `main()` returns 1 and prints one line; a few cases below run as real processes."""
    full = utask_env(**{k: v for k, v in env.items() if k.startswith("CFG_")})
    full.update({k: v for k, v in env.items() if not k.startswith("CFG_")})
    for k in list(os.environ):
        if k not in clean_environ():
            monkeypatch.delenv(k)
    for k, v in full.items():
        monkeypatch.setenv(k, v)
    assert main(["serve", *args]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "level=" not in line]
    assert len(lines) == 1 and lines[0].startswith(text), err


@pytest.mark.parametrize(("args", "env", "text"), [
    (["--http-port", "0"], {}, "utask: Incorrect HTTP port range"),
    (["--port-typo"], {}, "utask: unrecognized arguments: --port-typo"),
    ([], {"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "resource_acquire_timeout": "1d"}'},
     'utask: configuration item "utask-cfg": failed to parse "resource_acquire_timeout": '
     'time: unknown unit "d" in duration "1d"'),
])
def test_bad_start_as_a_process(args: list[str], env: dict[str, str], text: str) -> None:
    line = one_line_error(run_cli("serve", *args, env=utask_env(**env)))
    assert line.startswith(text), line




def test_port_in_use_is_one_line(fresh_database, monkeypatch, capsys, restore_logging, workdir) -> None:
    import socket

    for k, v in utask_env(fresh_database()).items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(workdir)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--http-host", "127.0.0.1", "--http-port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"utask: cannot listen on 127.0.0.1:{port} (is the port already in use?)" in err.splitlines()
