"""Sandboxes for the layer tests: the hostile plugin behind the real host, with short limits.

On this machine kind every layer works; with SANDBOX_REQUIRE=all (CI) a missing layer FAILS its test
instead of skipping it.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator

import pytest
from utask_sdk.testing import Sandbox

LIMITS = {"timeout": "2s", "memory_mb": 96, "cpu_seconds": 1, "max_processes": 16, "max_open_files": 64,
          "max_file_size_mb": 1}
MODULE = "tests.sandbox.attack_plugins"


def make_box(skip: tuple[str, ...] = (), **overrides) -> Sandbox:
    cfg = {"defaults": {**LIMITS, **overrides}}
    return Sandbox(sandbox=cfg, modules=[MODULE], entry_points=False, skip_layers=skip)


def require(box: Sandbox, *layers: str) -> None:
    """The layers must be applied; else fail under SANDBOX_REQUIRE=all, skip otherwise."""
    rows = {row["name"]: row for row in box.host.describe()}
    missing = {name: rows["attack"]["layers_missing"].get(name, "not applied") for name in layers
               if name not in rows["attack"]["layers_applied"]}
    if missing:
        message = f"sandbox layer(s) missing on this machine: {missing}"
        if os.environ.get("SANDBOX_REQUIRE") == "all":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def full() -> Iterator[Sandbox]:
    with make_box() as box:
        yield box


def _worker_cgroups() -> set[str]:
    return {p for p in glob.glob(f"/sys/fs/cgroup/*/**/utask-{os.getpid()}/*", recursive=True) if os.path.isdir(p)}


@pytest.fixture(scope="module", autouse=True)
def no_stray_cgroups() -> Iterator[None]:
    """Every worker cgroup a module's sandboxes created is gone when the module ends (hosts of other
    test packages may still be running: only new ones count)."""
    before = _worker_cgroups()
    yield
    left = _worker_cgroups() - before
    assert not left, f"cgroups left behind: {sorted(left)}"


def alive(pid: int) -> bool:
    """True when pid runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
