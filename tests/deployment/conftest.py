"""Shared helpers of the deployment tests: the repository's paths, the linters installed with the test
extras (their binaries ship in the PyPI wheels: no Docker engine, no download at test time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.foundation.conftest import port, workdir  # noqa: F401  (shared fixtures)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
K8S = REPO / "deploy" / "kubernetes"
INSTALL_SCRIPT = REPO / "install-utask.sh"


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: `make install` installs the test extras of pyproject.toml")
    return str(path)


def run(*args: str, cwd: Path | None = None, check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, **kwargs)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def install(target: Path, *options: str) -> subprocess.CompletedProcess:
    """`sh install-utask.sh` (Debian's sh is dash: a bash-ism fails here, as it would for a deployer)."""
    return run("sh", str(INSTALL_SCRIPT), *options, str(target))
