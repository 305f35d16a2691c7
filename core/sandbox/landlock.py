"""Landlock, ABI-adaptive: a filesystem allow-list, TCP deny (ABI>=4), signal/abstract-socket scoping (ABI>=6)."""

from __future__ import annotations

import ctypes
import os

from . import libc

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # same on every architecture
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """0 when Landlock is unavailable."""
    try:
        return libc.syscall(SYS_CREATE_RULESET, None, 0, CREATE_RULESET_VERSION, what="landlock_create_ruleset")
    except OSError:
        return 0


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(read_paths: list[str], write_paths: list[str], network: bool) -> str:
    abi = abi_version()
    if abi < 1:
        raise OSError(95, "Landlock is not supported by this kernel (landlock_create_ruleset failed)")
    handled = _fs_rights(abi)
    file_only = EXECUTE | WRITE_FILE | READ_FILE | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8
    if abi >= 4 and not network:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # no rule added: all TCP denied
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    if abi >= 4 and network:
        size = max(size, 16)
    ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0,
                           what="landlock_create_ruleset")
    try:
        read = EXECUTE | READ_FILE | READ_DIR
        for path, rights in [(p, read) for p in read_paths] + [(p, handled) for p in write_paths]:
            _add(ruleset, path, rights, file_only)
        libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
        libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), 0, what="landlock_restrict_self")
    finally:
        os.close(ruleset)
    parts = [f"ABI {abi}", "fs"]
    if abi >= 4 and not network:
        parts.append("tcp")
    if abi >= 6:
        parts.append("scope")
    return " ".join(parts)


def _add(ruleset: int, path: str, rights: int, file_only: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this machine does not have grants nothing
    try:
        if not os.path.isdir(path):
            rights &= file_only
        rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
        libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule), 0,
                     what=f"landlock_add_rule({path})")
    finally:
        os.close(fd)
