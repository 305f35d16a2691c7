"""The supervisor's half of the sandbox: prepare a worker (cgroups, scratch, uid slot, policy), spawn it
without preexec_fn (so CPython takes its vfork path whatever the server's size), and tear it down so
nothing it started survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.machinery
import json
import os
import shutil
import signal
import site
import sys
from dataclasses import dataclass, field
from typing import Any

from . import cgroups, identity
from .config import SandboxLimits

BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot.py")
SANDBOX_DIR = os.path.dirname(BOOT)
RUN_ROOT = os.environ.get("UTASK_SANDBOX_ROOT", "/tmp/utask-sandbox")
SYSTEM_READ_PATHS = ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc", "/proc", "/dev",
                     "/sys/devices/system/cpu"]
ENV_PASSTHROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
MAX_SLOTS = 1000

_hierarchies: cgroups.Hierarchies | None = None
_seq = 0


def hierarchies() -> cgroups.Hierarchies:
    global _hierarchies
    if _hierarchies is None:
        _hierarchies = cgroups.detect()
        cgroups.remove_stale(_hierarchies)
        _remove_stale_run_dirs()
    return _hierarchies


def _remove_stale_run_dirs() -> None:
    """Run directories of servers that died without cleaning up (named after their pid)."""
    with contextlib.suppress(OSError):
        for entry in os.listdir(RUN_ROOT):
            if entry.isdigit() and int(entry) != os.getpid() and not os.path.exists(f"/proc/{entry}"):
                shutil.rmtree(os.path.join(RUN_ROOT, entry), ignore_errors=True)


class Slot:
    """A uid slot (61000+n), held with a lock file so concurrent servers on one machine never share one."""

    def __init__(self) -> None:
        directory = os.path.join(RUN_ROOT, "slots")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for n in range(MAX_SLOTS):
            fd = os.open(os.path.join(directory, f"{n}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.n, self.fd = n, fd
            return
        raise OSError(11, "no free sandbox uid slot")

    @property
    def uid(self) -> int:
        return identity.UID_BASE + self.n

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class Prepared:
    name: str
    policy: dict[str, Any]
    env: dict[str, str]
    scratch: str
    cgroup: cgroups.WorkerCgroup | None
    slot: Slot | None
    missing: dict[str, str] = field(default_factory=dict)


def code_paths(extra: list[str]) -> list[str]:
    """What the worker must read: the interpreter, site-packages, our sys.path, the sandbox package."""
    paths = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)), SANDBOX_DIR]
    paths += [p for p in site.getsitepackages() if os.path.isdir(p)]
    paths += [p for p in sys.path if p and os.path.exists(p)]
    paths += _editable_paths()
    paths += extra
    seen: list[str] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    return seen


def _editable_paths() -> list[str]:
    """Source trees of editable installs: their .pth finders map packages to folders outside sys.path."""
    found: list[str] = []
    # A copy, taken in one step: at start-up another thread imports the server's modules meanwhile, and
    # walking the live dict would fail with "dictionary changed size during iteration".
    for name, module in sys.modules.copy().items():
        mapping = getattr(module, "MAPPING", None) if name.startswith("__editable__") else None
        if isinstance(mapping, dict):
            found += [p for v in mapping.values() if isinstance(v, str) for p in _editable_targets(v)]
    return found


def _editable_targets(path: str) -> list[str]:
    """What an editable finder's mapping entry stands for: a package folder, or (a single-module
    distribution) the module file, mapped without its suffix (`.../hello_plugin` for `hello_plugin.py`)."""
    if os.path.exists(path):
        return [path]
    return [path + suffix for suffix in importlib.machinery.all_suffixes() if os.path.isfile(path + suffix)]


def secret_paths(read_paths: list[str], environ: dict[str, str] | None = None) -> list[str]:
    """The server's configuration files and data folder (keys, database password, embedded PostgreSQL), to
    hide in a worker's mount namespace: a non-root server's workers keep its uid and groups, so file
    permissions alone do not keep them out. Never a folder holding what the worker must read."""
    env = os.environ if environ is None else environ
    found: list[str] = []
    for part in env.get("CONFIGURATION_FROM", "").split(","):
        scheme, _, arg = part.strip().partition(":")
        if scheme.removesuffix("+refresh") in ("file", "filelist", "filetree") and arg.strip():
            found.append(os.path.realpath(arg.strip()))
    with contextlib.suppress(Exception):  # a plugin's test venv may lack the server's dependencies
        from utask.core.config.settings import data_dir  # the embedded default's keys and PostgreSQL

        found.append(str(data_dir(env)))

    def shelters(path: str) -> bool:
        return any(p == path or p.startswith(path.rstrip("/") + "/") for p in read_paths)

    return [p for p in dict.fromkeys(found) if p not in ("/", "") and os.path.exists(p) and not shelters(p)]


def prepare(plugin: str, source: dict[str, Any], limits: SandboxLimits, protocol: str,
            must_read: list[str], skip_layers: tuple[str, ...] = ()) -> Prepared:
    """Create what the worker needs before it starts: the pieces that need the server's privileges."""
    global _seq
    _seq += 1
    name = f"{plugin}-{_seq}"
    missing: dict[str, str] = {}
    host_root = os.path.join(RUN_ROOT, str(os.getpid()))
    os.makedirs(host_root, mode=0o711, exist_ok=True)
    os.chmod(RUN_ROOT, 0o711)  # the slot uid must reach its scratch directory
    os.chmod(host_root, 0o711)
    scratch = os.path.join(host_root, name)
    os.makedirs(scratch, mode=0o700, exist_ok=True)

    slot = uid = gid = None
    if os.geteuid() == 0 and "uid-drop" not in skip_layers:
        problem = identity.unreadable_by_others([sys.executable, BOOT, SANDBOX_DIR, *must_read,
                                                 *[p for p in site.getsitepackages() if os.path.isdir(p)]])
        if problem is not None:
            missing["uid-drop"] = problem
        else:
            slot = Slot()
            uid = gid = slot.uid
            os.chown(scratch, uid, gid)

    cg: cgroups.WorkerCgroup | None = None
    cg = cgroups.create(hierarchies(), name, limits.memory_mb, limits.max_processes, limits.cpus)
    missing.update(cg.missing)

    read_paths = SYSTEM_READ_PATHS + code_paths(list(limits.readable_paths))
    policy = {
        "plugin": plugin,
        "source": source,
        "protocol": protocol,
        "limits": limits.to_dict(),
        "scratch": scratch,
        "uid": uid,
        "gid": gid,
        "cgroups": cg.dirs,
        "cgroup_notes": cg.applied,
        "missing": missing,
        "read_paths": read_paths,
        "hidden_paths": secret_paths(read_paths),
        "site_dirs": [p for p in site.getsitepackages() if os.path.isdir(p)],
        "sys_path": [p for p in sys.path if p],
        "skip_layers": list(skip_layers),
    }
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch}
    env.update({k: os.environ[k] for k in ENV_PASSTHROUGH if k in os.environ})
    env.setdefault("LANG", "C.UTF-8")
    return Prepared(name, policy, env, scratch, cg, slot, missing)


async def spawn(prepared: Prepared) -> asyncio.subprocess.Process:
    """Start the worker: its policy (plugin settings, paths) is the first frame on its stdin, never in its
    command line, which any process may read (/proc/<pid>/cmdline); that only names the plugin."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", BOOT, json.dumps({"plugin": prepared.policy["plugin"]}),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=prepared.env, cwd="/", start_new_session=True, close_fds=True,
    )
    assert proc.stdin is not None
    body = json.dumps(prepared.policy).encode()
    proc.stdin.write(len(body).to_bytes(4, "big") + body)
    return proc


def destroy(prepared: Prepared, pid: int | None) -> None:
    """Kill the worker's whole tree and remove its cgroups, scratch directory and slot."""
    if prepared.cgroup is not None:
        prepared.cgroup.kill()
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    if prepared.cgroup is not None:
        prepared.cgroup.remove()
    shutil.rmtree(prepared.scratch, ignore_errors=True)
    if prepared.slot is not None:
        prepared.slot.release()


_users = 0


def acquire() -> None:
    """A plugin host of this process starts using the sandbox (several may coexist, e.g. in tests)."""
    global _users
    _users += 1


def release() -> None:
    """At a host's stop: when it was the last one, our `utask-<pid>` cgroup parents and run directory go
    (removing them under a live worker would pull its scratch directory from under it)."""
    global _users
    _users = max(0, _users - 1)
    if _users == 0:
        cleanup_host()


def cleanup_host() -> None:
    if _hierarchies is not None:
        cgroups.remove_group(_hierarchies)
    shutil.rmtree(os.path.join(RUN_ROOT, str(os.getpid())), ignore_errors=True)
