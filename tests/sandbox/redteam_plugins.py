"""Red-team action plugins for the sandbox tests (tests/sandbox/test_redteam.py).

`{"do": <attack>, ...}` tries one hostile thing from inside an execution and reports what the kernel said;
the tests decide whether the sandbox held. `redteam` and `redteam_b` are the same code under two names, so
that one plugin's worker can probe another's (different workers: different uid, namespaces, scratch).
"""

from __future__ import annotations

import ctypes
import glob
import json
import os
import signal
import socket
import stat
import struct
import time
from typing import Any

from utask_sdk import ActionPlugin, hookimpl

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _try(fn) -> dict[str, Any]:
    try:
        return {"ok": True, "value": fn()}
    except OSError as err:
        return {"ok": False, "errno": err.errno, "error": f"{type(err).__name__}: {err}"}


def _syscall(nr: int, *args: Any) -> dict[str, int]:
    ret = _libc.syscall(ctypes.c_long(nr), *args)
    return {"ret": int(ret), "errno": ctypes.get_errno() if ret < 0 else 0}


def _read(path: str, size: int = 4096) -> str:
    with open(path, "rb") as f:
        return f.read(size).decode("latin-1")


def _unix_connect(path: str, abstract: bool = False) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect(("\0" + path) if abstract else path)
        return "connected"


def _pg_startup(path: str, user: str = "postgres", database: str = "postgres") -> str:
    """A PostgreSQL startup packet over the unix socket: 'R' + auth code 0 means we are in."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(path)
        body = struct.pack(">I", 196608) + b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        s.sendall(struct.pack(">I", len(body) + 4) + body)
        head = s.recv(9)
        return head[:1].decode("latin-1") + str(struct.unpack(">I", head[5:9])[0] if len(head) >= 9 else -1)


def _proto_fds() -> tuple[int, int]:
    """The execution's protocol pipes (to and from the zygote): the pipe fds above 2, by access mode."""
    out_fd = in_fd = -1
    for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
        if fd <= 2:
            continue
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("pipe:"):
            flags = int(_read(f"/proc/self/fdinfo/{fd}").split("flags:")[1].split()[0], 8)
            if flags & 3 == os.O_WRONLY:
                out_fd = fd
            else:
                in_fd = fd
    return out_fd, in_fd


def _frame(obj: Any) -> bytes:
    body = json.dumps(obj).encode()
    return len(body).to_bytes(4, "big") + body


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]




class Redteam(ActionPlugin):
    name = "redteam"
    version = "1.0.0"

    def execute(self, ctx, config: dict[str, Any]) -> Any:  # noqa: C901 - one dispatcher, many attacks
        do = config["do"]
        if do == "read":
            return _try(lambda: _read(config["path"], int(config.get("size", 4096))))
        if do == "listdir":
            return _try(lambda: sorted(os.listdir(config["path"])))
        if do == "write":
            def write() -> int:
                with open(config["path"], "wb") as f:
                    return f.write(config.get("data", "x").encode())
            return _try(write)
        if do == "glob":
            return sorted(glob.glob(config["pattern"]))
        if do == "unix_connect":
            return _try(lambda: _unix_connect(config["path"], bool(config.get("abstract"))))
        if do == "pg_startup":
            return _try(lambda: _pg_startup(config["path"], config.get("user", "postgres")))
        if do == "abstract_listen":  # bind an abstract socket, then wait for a peer (a sibling execution)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind("\0" + config["name"])
            s.listen()
            s.settimeout(float(config.get("wait", 3)))
            try:
                conn, _ = s.accept()
                return {"accepted": True, "data": conn.recv(100).decode()}
            except OSError as err:
                return {"accepted": False, "errno": err.errno}
        if do == "abstract_send":
            def send() -> str:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect("\0" + config["name"])
                    s.sendall(b"hello sibling")
                    return "sent"
            deadline = time.monotonic() + float(config.get("wait", 3))
            while True:
                res = _try(send)
                if res["ok"] or time.monotonic() > deadline:
                    return res
                time.sleep(0.05)
        if do == "whoami":  # who am I, who is my parent, where is my scratch
            return {"pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(), "scratch": ctx.scratch_dir,
                    "fds": {fd: _try(lambda fd=fd: os.readlink(f"/proc/self/fd/{fd}"))
                            for fd in os.listdir("/proc/self/fd")}}
        if do == "proc_of_parent":  # the zygote's /proc entries
            ppid = os.getppid()
            return {name: _try(lambda name=name: _read(f"/proc/{ppid}/{name}", 256))
                    for name in ("environ", "cmdline", "maps", "mem", "status")}
        if do == "scan_parent_mem":  # search the zygote's writable memory for a marker (another task's request)
            ppid, marker = os.getppid(), "".join(config["marker_parts"]).encode()  # never whole in our request
            scanned = 0
            try:
                with open(f"/proc/{ppid}/maps") as maps, open(f"/proc/{ppid}/mem", "rb", buffering=0) as mem:
                    for line in maps:
                        fields = line.split()
                        if not fields[1].startswith("rw"):
                            continue
                        start, end = (int(x, 16) for x in fields[0].split("-"))
                        if end - start > 256 << 20:
                            continue
                        try:
                            mem.seek(start)
                            data = mem.read(end - start)
                        except OSError:
                            continue
                        scanned += len(data)
                        if marker in data:
                            return {"found": True, "scanned": scanned}
            except OSError as err:
                return {"found": False, "errno": err.errno, "scanned": scanned}
            return {"found": False, "scanned": scanned}
        if do == "signal":
            pid = int(config["pid"]) if "pid" in config else os.getppid()
            return _try(lambda: os.kill(pid, int(config.get("sig", 0))))
        if do == "wait_for_sibling":  # a sibling execution: find its scratch and log beside ours, and its process
            deadline = time.monotonic() + float(config.get("wait", 3))
            root, mine = os.path.dirname(ctx.scratch_dir), ctx.scratch_dir
            found: dict[str, Any] = {}
            while time.monotonic() < deadline:
                for scratch in glob.glob(os.path.join(root, "run-*")):
                    if scratch == mine or not os.path.isdir(scratch):
                        continue
                    secret = _try(lambda scratch=scratch: _read(os.path.join(scratch, "secret.txt")))
                    if secret.get("ok") and config["marker"] in secret["value"]:
                        log = _try(lambda scratch=scratch: _read(scratch + ".log"))
                        return {"scratch": scratch, "secret": secret, "log": log}
                    found = {"scratch": scratch, "secret": secret}
                time.sleep(0.05)
            return found or {"scratch": None}
        if do == "sibling_proc":  # the other children of our zygote: their /proc entries
            me, ppid = os.getpid(), os.getppid()
            time.sleep(float(config.get("wait", 0.5)))
            out = {}
            for pid in _children(ppid):
                if pid != me:
                    out[str(pid)] = {name: _try(lambda pid=pid, name=name: _read(f"/proc/{pid}/{name}", 64))
                                     for name in ("environ", "mem", "cmdline")}
                    out[str(pid)]["cwd"] = _try(lambda pid=pid: os.readlink(f"/proc/{pid}/cwd"))
            return out
        if do == "kill_siblings":  # SIGKILL every other child of our zygote (concurrent executions)
            me, ppid = os.getppid(), os.getppid()
            time.sleep(float(config.get("wait", 0.5)))
            me = os.getpid()
            return {str(pid): _try(lambda pid=pid: os.kill(pid, signal.SIGKILL)) for pid in _children(ppid)
                    if pid != me}
        if do == "hold_secret":  # a victim: a secret in its scratch and log, then stay a while
            with open("secret.txt", "w") as f:
                f.write(config["marker"])
            print("log line " + config["marker"], flush=True)
            time.sleep(float(config.get("seconds", 2)))
            return {"held": True}
        if do == "plant":  # leave something behind for the next execution
            root = os.path.dirname(ctx.scratch_dir)
            return {"scratch_root": _try(lambda: _write_to(os.path.join(root, "planted"), config["marker"])),
                    "sysv_shm": _try(lambda: _sysv_shm_put(config["marker"])),
                    "sysv_msg": _try(lambda: _sysv_msg_put(config["marker"])),
                    "dev_shm": _try(lambda: _write_to("/dev/shm/utask-planted", config["marker"])),
                    "tmp": _try(lambda: _write_to("/tmp/utask-planted", config["marker"])),
                    "var_tmp": _try(lambda: _write_to("/var/tmp/utask-planted", config["marker"]))}
        if do == "harvest":
            root = os.path.dirname(ctx.scratch_dir)
            return {"scratch_root": _try(lambda: _read(os.path.join(root, "planted"))),
                    "sysv_shm": _try(_sysv_shm_get),
                    "sysv_msg": _try(_sysv_msg_get),
                    "dev_shm": _try(lambda: _read("/dev/shm/utask-planted")),
                    "tmp": _try(lambda: _read("/tmp/utask-planted")),
                    "var_tmp": _try(lambda: _read("/var/tmp/utask-planted"))}
        if do == "clone_parent":  # a process made a child of the zygote (CLONE_PARENT), in its own session
            r, w = os.pipe()
            pid = _libc.syscall(ctypes.c_long(56), ctypes.c_long(0x00008000 | signal.SIGCHLD), ctypes.c_long(0),
                                ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
            if pid == 0:
                os.setsid()
                os.write(w, str(os.getpid()).encode())
                time.sleep(60)
                os._exit(0)
            if pid < 0:
                return {"pid": None, "errno": ctypes.get_errno()}
            return {"pid": int(os.read(r, 32))}
        if do == "syscall":
            args = [ctypes.c_long(int(a)) for a in config.get("args", [])]
            return _syscall(int(config["nr"]), *args)
        if do == "memfd_exec":  # an executable copied into a memfd, run with execveat(AT_EMPTY_PATH)
            fd = os.memfd_create("x", 0)
            with open(config.get("binary", "/bin/cat"), "rb") as f:
                os.write(fd, f.read())
            pid = os.fork()
            if pid == 0:
                argv = (ctypes.c_char_p * 3)(b"cat", b"/proc/self/status", None)
                envp = (ctypes.c_char_p * 1)(None)
                _libc.syscall(ctypes.c_long(322), ctypes.c_long(fd), ctypes.c_char_p(b""), argv, envp,
                              ctypes.c_long(0x1000))
                os._exit(100 + ctypes.get_errno())
            _, status = os.waitpid(pid, 0)
            return {"exit": os.waitstatus_to_exitcode(status)}
        if do == "scratch_exec":  # a binary written to the scratch dir and run: does it stay confined?
            path = os.path.join(ctx.scratch_dir, "tool")
            with open(config.get("binary", "/bin/cat"), "rb") as src, open(path, "wb") as dst:
                dst.write(src.read())
            os.chmod(path, stat.S_IRWXU)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.dup2(w, 1)
                os.execv(path, [path, "/proc/self/status"])
            os.close(w)
            data = b""
            while chunk := os.read(r, 65536):
                data += chunk
            os.waitpid(pid, 0)
            fields = dict(line.split(":\t", 1) for line in data.decode().splitlines() if ":\t" in line)
            return {"seccomp": fields.get("Seccomp", "").strip(), "no_new_privs": fields.get("NoNewPrivs", "").strip(),
                    "uid": fields.get("Uid", "").split()[:1]}
        if do == "tty":
            return _try(lambda: os.close(os.open("/dev/tty", os.O_RDWR)))
        if do == "raw_frames":  # write frames of our own to the zygote, then (maybe) return normally
            out_fd, _ = _proto_fds()
            for item in config["frames"]:
                if "raw" in item:
                    _write_all(out_fd, item["raw"].encode("latin-1"))
                else:
                    _write_all(out_fd, _frame(item["obj"]))
            if config.get("then") == "sleep":
                time.sleep(float(config.get("seconds", 5)))
            if config.get("then") == "exit":
                os._exit(0)
            return {"sent": len(config["frames"])}
        if do == "nested_output":  # a deeply nested JSON document as a raw "done" frame
            out_fd, _ = _proto_fds()
            depth = int(config.get("depth", 100000))
            body = b'{"t":"done","ok":true,"output":' + b"[" * depth + b"]" * depth + b"}"
            _write_all(out_fd, len(body).to_bytes(4, "big") + body)
            time.sleep(5)
            return None
        if do == "wide_output":  # a raw "done" frame of `count` empty objects: 3 bytes each on the wire
            out_fd, _ = _proto_fds()
            count = int(config["count"])
            head, tail = b'{"t":"done","ok":true,"output":[{}', b"]}"
            size = len(head) + 3 * (count - 1) + len(tail)
            _write_all(out_fd, size.to_bytes(4, "big") + head)
            chunk = b",{}" * 65536
            left = count - 1
            while left:
                n = min(left, 65536)
                _write_all(out_fd, chunk[: 3 * n])
                left -= n
            _write_all(out_fd, tail)
            time.sleep(5)
            return None
        if do == "big_output":
            return "x" * int(config["size"])
        if do == "surrogate_output":
            return {"s": "\ud800"}
        if do == "call_spam":  # host call frames without waiting for any answer
            out_fd, _ = _proto_fds()
            count = int(config["count"])
            payload = b"".join(_frame({"t": "call", "call": 10_000 + i, "name": config.get("name", "ping"),
                                       "args": {}}) for i in range(count))
            _write_all(out_fd, payload)
            time.sleep(float(config.get("seconds", 1)))
            return {"sent": count}
        if do == "call_loop":  # synchronous host calls (the SDK's), until one is refused
            done = 0
            try:
                for _ in range(int(config["count"])):
                    ctx.host.call(config.get("name", "ping"))
                    done += 1
            except Exception as err:
                return {"done": done, "error": str(err)}
            return {"done": done, "error": None}
        if do == "call_no_read":  # host calls one at a time, each once the last one's reply is in our pipe
            import fcntl
            import termios

            out_fd, in_fd = _proto_fds()

            def unread() -> int:
                return struct.unpack("i", fcntl.ioctl(in_fd, termios.FIONREAD, b"\0\0\0\0"))[0]

            for i in range(int(config["count"])):
                before = unread()
                _write_all(out_fd, _frame({"t": "call", "call": 10_000 + i, "name": "ping", "args": {}}))
                deadline = time.monotonic() + 0.2  # the pipe full: the reply waits in the zygote
                while unread() == before and time.monotonic() < deadline:
                    time.sleep(0.0005)
            return {"sent": int(config["count"])}
        if do == "close_stdout":  # close the protocol pipe early, then finish normally
            out_fd, _ = _proto_fds()
            os.close(out_fd)
            return {"closed": True}
        if do == "sleep":
            time.sleep(float(config.get("seconds", 2)))
            return {"slept": True}
        if do == "fill_disk":  # write into the scratch and the log until something stops us
            written, error = 0, None
            try:
                for i in range(10_000):
                    with open(os.path.join(ctx.scratch_dir, f"fill{i}"), "wb") as f:
                        for _ in range(16):
                            f.write(b"x" * 65536)
                            written += 65536
            except OSError as err:
                error = err.errno
            logged, log_error = 0, None
            try:
                for _ in range(10_000):
                    os.write(1, b"y" * 65536)
                    logged += 65536
            except OSError as err:
                log_error = err.errno
            return {"written": written, "errno": error, "logged": logged, "log_errno": log_error}
        raise ValueError(f"unknown attack {do!r}")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            found += [int(p) for p in f.read().split()]
    return found


def _write_to(path: str, text: str) -> int:
    with open(path, "w") as f:
        return f.write(text)


IPC_CREAT, IPC_KEY = 0o1000, 0x7574_6B31


def _sysv_shm_put(text: str) -> int:
    _libc.shmat.restype = ctypes.c_void_p
    shmid = _libc.shmget(IPC_KEY, 4096, IPC_CREAT | 0o666)
    if shmid < 0:
        raise OSError(ctypes.get_errno(), "shmget")
    addr = _libc.shmat(shmid, None, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "shmat")
    ctypes.memmove(addr, text.encode() + b"\0", len(text) + 1)
    return shmid


def _sysv_shm_get() -> str:
    _libc.shmat.restype = ctypes.c_void_p
    shmid = _libc.shmget(IPC_KEY, 0, 0)
    if shmid < 0:
        raise OSError(ctypes.get_errno(), "shmget")
    addr = _libc.shmat(shmid, None, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "shmat")
    return ctypes.string_at(addr).decode()


class _MsgBuf(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 256)]


def _sysv_msg_put(text: str) -> int:
    qid = _libc.msgget(IPC_KEY, IPC_CREAT | 0o666)
    if qid < 0:
        raise OSError(ctypes.get_errno(), "msgget")
    buf = _MsgBuf(1, text.encode())
    if _libc.msgsnd(qid, ctypes.byref(buf), len(text) + 1, 0o4000) < 0:  # IPC_NOWAIT
        raise OSError(ctypes.get_errno(), "msgsnd")
    return qid


def _sysv_msg_get() -> str:
    qid = _libc.msgget(IPC_KEY, 0)
    if qid < 0:
        raise OSError(ctypes.get_errno(), "msgget")
    buf = _MsgBuf()
    if _libc.msgrcv(qid, ctypes.byref(buf), 256, 0, 0o4000) < 0:
        raise OSError(ctypes.get_errno(), "msgrcv")
    return buf.mtext.decode()


class RedteamB(Redteam):
    name = "redteam_b"


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Redteam(), RedteamB()]
