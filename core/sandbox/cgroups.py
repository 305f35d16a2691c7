"""Cgroups of a worker: created and limited by the supervisor, joined by the worker itself, killed and
removed by the supervisor.

Hybrid hosts (this project's machines): v1 `memory` (nested under our own memory cgroup), `pids`, `cpu`,
plus a v2 directory used only for `cgroup.kill`. Pure-v2 hosts: one directory with memory.max, pids.max
and cpu.max when our cgroup delegates those controllers. Stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field

V1_CONTROLLERS = ("memory", "pids", "cpu")


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


@dataclass
class Hierarchies:
    v1: dict[str, str] = field(default_factory=dict)  # controller -> our own cgroup dir in that hierarchy
    v2: str | None = None  # our own cgroup dir in the v2 hierarchy
    v2_controllers: frozenset[str] = frozenset()
    problems: dict[str, str] = field(default_factory=dict)


def detect() -> Hierarchies:
    """Where our own cgroups are, from /proc/self/cgroup and /proc/self/mountinfo."""
    found = Hierarchies()
    mounts_v1: dict[str, str] = {}
    mount_v2: str | None = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype, _source, options = (right.split() + ["", "", ""])[:3]
                point = left.split()[4]
                if fstype == "cgroup2" and mount_v2 is None:
                    mount_v2 = point
                elif fstype == "cgroup":
                    for opt in options.split(","):
                        if opt in V1_CONTROLLERS and opt not in mounts_v1:
                            mounts_v1[opt] = point
        own = {}
        for line in _read("/proc/self/cgroup").splitlines():
            _id, controllers, path = line.split(":", 2)
            for c in controllers.split(","):
                own[c] = path
            if controllers == "":
                own[""] = path
    except OSError as err:
        found.problems["all"] = f"cannot read cgroup layout: {err}"
        return found
    for c in V1_CONTROLLERS:
        if c in mounts_v1 and c in own:
            found.v1[c] = os.path.join(mounts_v1[c], own[c].lstrip("/"))
    if mount_v2 is not None and "" in own:
        found.v2 = os.path.join(mount_v2, own[""].lstrip("/"))
        with contextlib.suppress(OSError):
            found.v2_controllers = frozenset(_read(os.path.join(found.v2, "cgroup.controllers")).split())
    return found


@dataclass
class WorkerCgroup:
    """The cgroup directories of one worker, by layer, and what could not be set up (layer -> reason)."""

    dirs: dict[str, str] = field(default_factory=dict)  # "memory" | "pids" | "cpu" | "kill" -> directory
    version: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    applied: dict[str, str] = field(default_factory=dict)

    def procs_files(self) -> list[str]:
        return sorted({os.path.join(d, "cgroup.procs") for d in self.dirs.values()})

    # --- what killed an execution -----------------------------------------------------------------
    def oom_kills(self) -> int:
        d = self.dirs.get("memory")
        if d is None:
            return 0
        name = "memory.oom_control" if self.version.get("memory") == 1 else "memory.events"
        return _counter(os.path.join(d, name), "oom_kill")

    def pids_refusals(self) -> int:
        d = self.dirs.get("pids")
        return 0 if d is None else _counter(os.path.join(d, "pids.events"), "max")

    # --- end of life -------------------------------------------------------------------------------
    def kill(self, timeout: float = 2.0) -> None:
        """Kill every process of the worker: cgroup.kill when present, else SIGKILL whatever the cgroups
        list, until they are empty."""
        kill_dir = self.dirs.get("kill")
        if kill_dir is not None:
            with contextlib.suppress(OSError):
                _write(os.path.join(kill_dir, "cgroup.kill"), "1")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def pids(self) -> set[int]:
        pids: set[int] = set()
        for path in self.procs_files():
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in _read(path).split())
        return pids

    def remove(self) -> None:
        for d in sorted(set(self.dirs.values())):
            _rmdir(d)


def _counter(path: str, key: str) -> int:
    try:
        for line in _read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _rmdir(path: str, attempts: int = 50) -> None:
    for _ in range(attempts):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)  # exiting tasks leave the cgroup asynchronously


def group_name() -> str:
    return f"utask-{os.getpid()}"


def create(hier: Hierarchies, name: str, memory_mb: int, max_processes: int, cpus: float) -> WorkerCgroup:
    """Create `utask-<our pid>/<name>` in each hierarchy and write the limits."""
    cg = WorkerCgroup()
    pure_v2 = hier.v2 is not None and {"memory", "pids", "cpu"} <= hier.v2_controllers
    limits = {
        "memory": (("memory.limit_in_bytes", str(memory_mb * 1024 * 1024)),),
        "pids": (("pids.max", str(max_processes)),),
        "cpu": (("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", str(max(1000, int(cpus * 100000))))),
    }
    v2_limits = {
        "memory": (("memory.max", str(memory_mb * 1024 * 1024)), ("memory.swap.max", "0")),
        "pids": (("pids.max", str(max_processes)),),
        "cpu": (("cpu.max", f"{max(1000, int(cpus * 100000))} 100000"),),
    }
    for controller in V1_CONTROLLERS:
        layer = f"cgroup-{controller}"
        try:
            if pure_v2:
                assert hier.v2 is not None
                d = _make(hier.v2, name, delegate="+memory +pids +cpu")
                for filename, value in v2_limits[controller]:
                    with contextlib.suppress(FileNotFoundError):  # memory.swap.max without swap accounting
                        _write(os.path.join(d, filename), value)
                cg.version[controller] = 2
            elif controller in hier.v1:
                d = _make(hier.v1[controller], name)
                for filename, value in limits[controller]:
                    _write(os.path.join(d, filename), value)
                if controller == "memory":
                    # Without swap accounting this file is absent; with it, swap must not stretch the limit.
                    with contextlib.suppress(OSError):
                        _write(os.path.join(d, "memory.memsw.limit_in_bytes"), str(memory_mb * 1024 * 1024))
                cg.version[controller] = 1
            else:
                reason = hier.problems.get("all") or f"no writable {controller} controller (neither cgroup v1 " \
                         f"'{controller}' nor a v2 cgroup delegating it)"
                cg.missing[layer] = reason
                continue
            cg.dirs[controller] = d
            cg.applied[layer] = f"v{cg.version[controller]}"
        except OSError as err:
            cg.missing[layer] = f"{type(err).__name__}({err.errno}, {err.strerror!r}) setting up {controller}"
    try:
        if hier.v2 is None:
            raise OSError(2, "no cgroup2 hierarchy mounted")
        d = cg.dirs.get("memory") if pure_v2 else _make(hier.v2, name)
        assert d is not None
        if not os.path.exists(os.path.join(d, "cgroup.kill")):
            raise OSError(2, "cgroup.kill missing (kernel < 5.14)")
        cg.dirs["kill"] = d
        cg.applied["cgroup-kill"] = "v2"
    except (OSError, AssertionError) as err:
        cg.missing["cgroup-kill"] = f"{err}"
    return cg


def _make(own: str, name: str, delegate: str | None = None) -> str:
    parent = os.path.join(own, group_name())
    os.makedirs(parent, exist_ok=True)
    if delegate is not None:
        # Pure v2: controllers must be enabled on the way down; our own cgroup may refuse (processes in it).
        for d in (own, parent):
            with contextlib.suppress(OSError):
                _write(os.path.join(d, "cgroup.subtree_control"), delegate)
    path = os.path.join(parent, name)
    os.makedirs(path, exist_ok=True)
    return path


def remove_group(hier: Hierarchies) -> None:
    """Remove our `utask-<pid>` parents (after every worker's own removal)."""
    for own in list(hier.v1.values()) + ([hier.v2] if hier.v2 else []):
        _rmdir(os.path.join(own, group_name()), attempts=5)


def remove_stale(hier: Hierarchies) -> None:
    """Remove `utask-<pid>` groups left by servers that died without cleaning up."""
    for own in list(hier.v1.values()) + ([hier.v2] if hier.v2 else []):
        with contextlib.suppress(OSError):
            for entry in os.listdir(own):
                if not entry.startswith("utask-") or not entry[6:].isdigit():
                    continue
                pid = int(entry[6:])
                if pid == os.getpid() or os.path.exists(f"/proc/{pid}"):
                    continue
                parent = os.path.join(own, entry)
                for child in os.listdir(parent):
                    if os.path.isdir(os.path.join(parent, child)):
                        _rmdir(os.path.join(parent, child), attempts=1)
                _rmdir(parent, attempts=1)


def join(dirs: dict[str, str]) -> None:
    """Called by the worker on itself, first of all layers."""
    pid = str(os.getpid())
    for d in sorted(set(dirs.values())):
        _write(os.path.join(d, "cgroup.procs"), pid)
