"""Helpers of the foundation tests: a valid µTask environment configuration, free ports, the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
UTASK_011_SQL = FIXTURES / "utask_schema_011.sql"
DEV_KEY = {"identifier": "storage", "cipher": "aes-gcm", "timestamp": 1535627466, "key": "ab" * 32}
UTASK_BIN = str(Path(sys.executable).with_name("utask"))


def utask_env(database_url: str = "postgres://user:pass@db/utask?sslmode=disable", **items: str) -> dict[str, str]:
    """A complete `CONFIGURATION_FROM=env:CFG` configuration, as µTask's docker-compose writes it."""
    env = {
        "CONFIGURATION_FROM": "env:CFG",
        "CFG_DATABASE": database_url,
        "CFG_UTASK_CFG": json.dumps({"admin_usernames": ["admin"], "application_name": "µTask"}),
        "CFG_ENCRYPTION_KEY": json.dumps(DEV_KEY),
        "CFG_BASIC_AUTH": json.dumps({"admin": "1234", "resolver": "3456"}),
        "CFG_GROUPS_AUTH": json.dumps({"admins": ["admin"]}),
    }
    env.update(items)
    return env


def clean_environ(**extra: str) -> dict[str, str]:
    """The process environment without any configuration that could leak into a child `utask`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CFG_", "CONFIGURATION_FROM", "SERVER_PORT", "DEBUG", "MAINTENANCE_MODE",
                                "TEMPLATES", "FUNCTIONS", "SCRIPTS", "REGION", "LOGS_FORMAT", "UTASK_DATA_DIR"))}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([UTASK_BIN, *args], env=clean_environ(**env), capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()


HELLO_WORLD = Path(__file__).parents[2] / "templates" / "hello-world.yaml"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory holding `./templates` with the hello-world example, as a deployer's folder would."""
    (tmp_path / "work" / "templates").mkdir(parents=True)
    (tmp_path / "work" / "templates" / HELLO_WORLD.name).write_bytes(HELLO_WORLD.read_bytes())
    return tmp_path / "work"
