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


class ExecutionDomain:
    """A nested Landlock domain for each execution a zygote forks, prepared once in the zygote.

    The worker's own domain keeps the worker to its read paths and scratch folder; this one keeps each
    execution to the same read paths and to *its own* run folder and log file, and (ABI >= 6) scopes its
    signals and abstract unix sockets to itself: concurrent executions of one plugin (other tasks') can
    neither read each other's files nor signal each other or the zygote, and nothing an execution writes
    outside its run folder outlives it. The read rules' path descriptors are opened here once; a child
    only creates the ruleset, adds the rules (one syscall each) and restricts itself.
    """

    def __init__(self, read_paths: list[str], write_paths: list[str]) -> None:
        self.abi = abi_version()
        self.fds: list[int] = []
        self.rules: list[_PathBeneath] = []
        if self.abi < 1:
            return
        self.handled = _fs_rights(self.abi)
        self.file_only = (EXECUTE | WRITE_FILE | READ_FILE | (TRUNCATE if self.abi >= 3 else 0)
                          | (IOCTL_DEV if self.abi >= 5 else 0))
        self.attr = _RulesetAttr(handled_access_fs=self.handled,
                                 scoped=SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if self.abi >= 6 else 0)
        self.size = 24 if self.abi >= 6 else 8
        read = EXECUTE | READ_FILE | READ_DIR
        for path, rights in [(p, read) for p in read_paths] + [(p, self.handled) for p in write_paths]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            self.fds.append(fd)
            self.rules.append(_PathBeneath(allowed_access=rights if os.path.isdir(path) else rights & self.file_only,
                                           parent_fd=fd))
        # A child's calls: typed once here, with the rules' addresses ready, so that each call converts
        # nothing (every object a child creates or touches is a copy-on-write fault).
        call = ctypes.CDLL(None, use_errno=True).syscall
        call.restype = ctypes.c_long
        call.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_long]
        self._call = call
        self._attr_address = ctypes.addressof(self.attr)
        self._rule_addresses = [ctypes.addressof(rule) for rule in self.rules]

    def enter(self, own: list[str]) -> None:
        """In the forked child: restrict it to the read paths, the write paths and its `own` paths."""
        if self.abi < 1:
            return
        call = self._call
        # landlock_create_ruleset(attr, size, 0): the attr's address goes in the second register.
        ruleset = call(SYS_CREATE_RULESET, self._attr_address, self.size, None, 0)
        if ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        try:
            for address in self._rule_addresses:
                if call(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, address, 0) < 0:
                    raise OSError(ctypes.get_errno(), "landlock_add_rule failed")
            for path in own:
                _add(ruleset, path, self.handled, self.file_only)
            if call(SYS_RESTRICT_SELF, ruleset, 0, None, 0) < 0:
                raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
        finally:
            os.close(ruleset)
