"""Cgroup set-up for both layouts, on a fake hierarchy (this machine is hybrid v1 + v2)."""

from __future__ import annotations

from utask.core.sandbox import cgroups


def _read(path):
    with open(path) as f:
        return f.read()


def test_pure_v2_writes_memory_pids_and_cpu_max(tmp_path):
    own = tmp_path / "v2" / "system.slice"
    own.mkdir(parents=True)
    hier = cgroups.Hierarchies(v2=str(own), v2_controllers=frozenset({"memory", "pids", "cpu", "io"}))
    cg = cgroups.create(hier, "echo-1", memory_mb=256, max_processes=32, cpus=1.5)
    d = own / cgroups.group_name() / "echo-1"
    assert cg.dirs == {"memory": str(d), "pids": str(d), "cpu": str(d)}
    assert _read(d / "memory.max") == str(256 * 1024 * 1024) and _read(d / "memory.swap.max") == "0"
    assert _read(d / "pids.max") == "32" and _read(d / "cpu.max") == "150000 100000"
    assert _read(own / "cgroup.subtree_control") == "+memory +pids +cpu"
    # A fake directory has no cgroup.kill: reported, not fatal.
    assert set(cg.applied) == {"cgroup-memory", "cgroup-pids", "cgroup-cpu"} and "cgroup-kill" in cg.missing


def test_hybrid_v1_limits_and_missing_controllers(tmp_path):
    memory = tmp_path / "memory" / "process_api" / "x"
    memory.mkdir(parents=True)
    hier = cgroups.Hierarchies(v1={"memory": str(memory)})
    cg = cgroups.create(hier, "echo-1", memory_mb=64, max_processes=8, cpus=0.5)
    d = memory / cgroups.group_name() / "echo-1"
    assert _read(d / "memory.limit_in_bytes") == str(64 * 1024 * 1024)
    assert cg.version == {"memory": 1}
    assert cg.missing["cgroup-pids"].startswith("no writable pids controller")
    assert cg.missing["cgroup-kill"] == "[Errno 2] no cgroup2 hierarchy mounted"
