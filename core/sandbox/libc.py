"""The few libc calls Python 3.11 lacks (unshare, mount, prctl, raw syscalls), through ctypes."""

from __future__ import annotations

import ctypes
import os
import platform

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.prctl.restype = ctypes.c_int
MACHINE = platform.machine()

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def syscall(number: int, *args: object, what: str = "syscall") -> int:
    # ints become longs (the kernel reads full registers); ctypes objects and byref() pass through.
    converted = [ctypes.c_void_p(None) if a is None else ctypes.c_long(a) if isinstance(a, int) else a
                 for a in args]
    return _check(_libc.syscall(ctypes.c_long(number), *converted), what)


def prctl(option: int, *args: int) -> int:
    """prctl with integer arguments (pass pointers as `ctypes.addressof(...)`)."""
    a = (*args, 0, 0, 0, 0)
    ret = _libc.prctl(option, a[0], a[1], a[2], a[3])
    return ret if ret >= 0 else _check(ret, f"prctl({option})")


def unshare(flags: int, what: str = "unshare") -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), what)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount({target})")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")
