"""Namespaces and the read-only view of the filesystem, applied by the worker to itself."""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat

from . import libc

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

SYS_MOUNT_SETATTR = 442  # same number on every architecture (kernel >= 5.12)
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def enter(network: bool) -> str:
    """Private mount, IPC, UTS (and network unless allowed) namespaces; a user namespace when not root."""
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (0 if network else CLONE_NEWNET)
    names = ["mnt", "ipc", "uts"] + ([] if network else ["net"])
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        libc.unshare(flags | CLONE_NEWUSER, "unshare(USER|NET|NS|IPC|UTS)")
        # Map ourselves onto ourselves: files keep their owners, and we hold capabilities only inside.
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
        names.insert(0, "user")
    else:
        libc.unshare(flags, "unshare(" + "|".join(n.upper() for n in names) + ")")
    libc.sethostname("utask-sandbox")
    return "+".join(names)


def unix_socket_paths() -> list[str]:
    """The filesystem paths of the unix sockets bound in our network namespace (/proc/net/unix)."""
    try:
        with open("/proc/net/unix") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    paths = []
    for line in lines:
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[7].startswith("/"):  # abstract ones start with "@"
            paths.append(fields[7])
    return sorted(set(paths))


def hide(paths: list[str]) -> list[str]:
    """Cover each path in our mount namespace: a socket or a file with /dev/null, a directory with an empty
    read-only tmpfs. Connecting to a covered socket fails (ECONNREFUSED), a covered secret reads empty.
    Returns the paths covered (those that exist)."""
    covered = []
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue  # its target is covered if it is listed; the link itself holds nothing
        if stat.S_ISDIR(st.st_mode):
            libc.mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0555")
        else:
            libc.mount("/dev/null", path, None, MS_BIND)
        covered.append(path)
    return covered


def read_only_root(scratch: str, scratch_mb: int, uid: int, gid: int, writable: list[str],
                   hidden: list[str] | None = None) -> str:
    """Every mount read-only (recursively), then a private tmpfs on `scratch`, the only writable place;
    `hidden` paths (unix sockets, the server's secrets) covered."""
    libc.mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Bind the operator-granted writable paths over themselves first, so they keep their own mount to
    # re-enable writes on once everything else is read-only.
    for path in writable:
        libc.mount(path, path, None, MS_BIND | MS_REC)
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
    try:
        libc.syscall(SYS_MOUNT_SETATTR, ctypes.c_int(AT_FDCWD), ctypes.c_char_p(b"/"),
                     ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                     what="mount_setattr(/, AT_RECURSIVE, RDONLY)")
        how = "mount_setattr"
    except OSError:
        _remount_each_read_only()
        how = "remount"
    for path in writable:
        libc.mount(None, path, None, MS_REMOUNT | MS_BIND | MS_NOSUID)
    libc.mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={scratch_mb}m,mode=0700,uid={uid},gid={gid}")
    covered = hide([p for p in hidden or () if p != scratch and not p.startswith(scratch + "/")])
    return f"{how}; {len(covered)} path(s) hidden" if covered else how


def _remount_each_read_only() -> None:
    """Older kernels: remount every mount point read-only one by one (deepest last is fine: binds are
    independent)."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in points:
        point = point.encode().decode("unicode_escape")
        # A mount hidden by another one may refuse; the root mount's failure below is what matters.
        with contextlib.suppress(OSError):
            libc.mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    libc.mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
