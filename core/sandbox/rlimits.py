"""Resource limits: always available, so always required."""

from __future__ import annotations

import os
import resource

MB = 1024 * 1024


def _lower(which: int, value: int) -> None:
    """Set soft=hard=value, never above the current hard limit (raising it needs CAP_SYS_RESOURCE)."""
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply_worker(limits: dict) -> str:
    """Limits of the whole worker (the zygote and, inherited, its children). CPU is set per child."""
    # RLIMIT_AS counts virtual memory, so it is only a generous backstop: the memory cgroup is the real limit.
    _lower(resource.RLIMIT_AS, (limits["memory_mb"] * 2 + 1024) * MB)
    # The zygote holds pipes for its parallel children on top of what one execution may open.
    _lower(resource.RLIMIT_NOFILE, limits["max_open_files"] + 4 * limits["max_parallel"] + 32)
    _lower(resource.RLIMIT_FSIZE, limits["max_file_size_mb"] * MB)
    _lower(resource.RLIMIT_CORE, 0)
    note = "as, nofile, fsize, core"
    if os.geteuid() != 0 or limits.get("uid") is not None:
        # Counted per real uid and ignored for root: useful once the worker runs as its own slot uid.
        _lower(resource.RLIMIT_NPROC, limits["max_processes"] + 1)
        note += ", nproc"
    return note


def keep_core_off() -> None:
    """No core dumps (already so): the zygote's warm-up runs `_lower` through it, changing nothing."""
    _lower(resource.RLIMIT_CORE, 0)


def apply_execution(limits: dict) -> None:
    """Per forked execution: its own CPU seconds (a fresh child starts at zero) and open files."""
    # SIGXCPU at the limit names the cause unambiguously; SIGKILL one second later if it is ignored.
    cpu = limits["cpu_seconds"]
    _lower(resource.RLIMIT_CPU, cpu + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.getrlimit(resource.RLIMIT_CPU)[1]))
    _lower(resource.RLIMIT_NOFILE, limits["max_open_files"])
