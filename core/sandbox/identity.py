"""Dropping to an unprivileged per-slot uid, and checking that uid can read what the worker needs."""

from __future__ import annotations

import os
import stat

UID_BASE = 61000


def drop(uid: int, gid: int) -> str:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # from root to non-root: the kernel clears every capability
    os.umask(0o077)
    return f"uid {uid} gid {gid}"


def unreadable_by_others(paths: list[str]) -> str | None:
    """The first of `paths` that a uid with no special rights could not read, with the reason; else None.

    Checked on mode bits (root's `os.access` says yes to everything): every ancestor must be searchable by
    others and the path itself readable (and searchable if a directory).
    """
    for path in paths:
        real = os.path.realpath(path)
        if not os.path.exists(real):
            continue
        parts = real.split("/")
        for i in range(2, len(parts) + 1):
            prefix = "/".join(parts[:i]) or "/"
            st = os.stat(prefix)
            is_last = i == len(parts)
            need = stat.S_IROTH if is_last and not stat.S_ISDIR(st.st_mode) else stat.S_IXOTH
            if is_last and stat.S_ISDIR(st.st_mode):
                need |= stat.S_IROTH
            if st.st_mode & need != need:
                return (f"{prefix} (mode {stat.S_IMODE(st.st_mode):04o}) is not readable by an unprivileged "
                        f"uid; it holds {path}")
    return None
