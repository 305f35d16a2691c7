"""What a process tree holds, read from /proc: the benchmarks' memory figures."""

from __future__ import annotations

import contextlib
import os


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (threads' children included)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
    return pids


def memory_kb(pid: int, field: str) -> int:
    """"Pss" (from smaps_rollup) or "Rss" (VmRSS from status) of one process, in kB; 0 once it is gone."""
    path = f"/proc/{pid}/smaps_rollup" if field == "Pss" else f"/proc/{pid}/status"
    key = "Pss:" if field == "Pss" else "VmRSS:"
    with contextlib.suppress(OSError), open(path) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0
