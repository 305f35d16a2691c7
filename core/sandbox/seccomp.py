"""A seccomp deny-list written as classic BPF by hand (no libseccomp), x86_64.

Denied with EPERM: debugging other processes, namespaces and mounts, kernel keyrings, eBPF, io_uring
(it can open sockets without the socket syscall), module and kexec loading, clock and host changes.
`clone` with namespace flags is refused; `clone3` answers ENOSYS so libc falls back to `clone`, whose
flags BPF can inspect. Without network only AF_UNIX sockets are allowed (asyncio's self-pipe needs them).
A foreign architecture or the x32 ABI kills the process.
"""

from __future__ import annotations

import ctypes
import errno

from . import libc

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
SECCOMP_MODE_FILTER = 2

LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16

DENIED_X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "fanotify_init": 300,
    "keyctl": 250, "add_key": 248, "request_key": 249,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "quotactl": 179, "syslog": 103,
    "iopl": 172, "ioperm": 173, "personality": 135, "uselib": 134, "vhangup": 153, "lookup_dcookie": 212,
    "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305,
    "sethostname": 170, "setdomainname": 171,
    # System V IPC: its objects live in the worker's IPC namespace, shared by every execution of the plugin,
    # so one task's execution could leave data for the next one's (Python itself uses POSIX IPC).
    "shmget": 29, "semget": 64, "msgget": 68,
}
SYS_SOCKET, SYS_SOCKETPAIR, SYS_CLONE, SYS_CLONE3 = 41, 53, 56, 435
AF_UNIX, AF_PACKET = 1, 17
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def build(network: bool) -> list[tuple[int, int, int, int]]:
    """The program as (code, jt, jf, k); jumps are relative, as BPF wants."""
    eperm, allow = RET_ERRNO | errno.EPERM, RET_ALLOW
    prog: list[tuple[int, int, int, int]] = [
        (LD_W_ABS, 0, 0, OFF_ARCH),
        (JEQ, 1, 0, AUDIT_ARCH_X86_64),
        (RET, 0, 0, RET_KILL_PROCESS),
        (LD_W_ABS, 0, 0, OFF_NR),
        (JGE, 0, 1, X32_SYSCALL_BIT),
        (RET, 0, 0, RET_KILL_PROCESS),
    ]
    for nr in sorted(DENIED_X86_64.values()):
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, eperm)]
    prog += [(JEQ, 0, 1, SYS_CLONE3), (RET, 0, 0, RET_ERRNO | errno.ENOSYS)]
    # clone: refuse namespace flags (arg0 low word).
    prog += [(JEQ, 0, 4, SYS_CLONE), (LD_W_ABS, 0, 0, OFF_ARG0), (JSET, 0, 1, CLONE_NS_FLAGS),
             (RET, 0, 0, eperm), (RET, 0, 0, allow)]
    # socket/socketpair: the address family is arg0.
    if network:
        family_check = [(JEQ, 1, 0, AF_PACKET), (RET, 0, 0, allow), (RET, 0, 0, eperm)]
    else:
        family_check = [(JEQ, 0, 1, AF_UNIX), (RET, 0, 0, allow), (RET, 0, 0, eperm)]
    prog += [(JEQ, 1, 0, SYS_SOCKET), (JEQ, 0, 1 + len(family_check), SYS_SOCKETPAIR),
             (LD_W_ABS, 0, 0, OFF_ARG0)] + family_check
    prog.append((RET, 0, 0, allow))
    return prog


def install(network: bool) -> str:
    if libc.MACHINE not in ("x86_64", "AMD64"):
        raise OSError(95, f"seccomp deny-list not written for architecture {libc.MACHINE}")
    program = build(network)
    filters = (_Filter * len(program))(*[_Filter(*ins) for ins in program])
    prog = _Prog(len(program), filters)
    libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
    libc.prctl(libc.PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog))
    return f"{len(DENIED_X86_64) + 4} syscalls filtered"
