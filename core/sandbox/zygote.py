"""The warm worker ("zygote"): confined once, loads its plugin once, forks a fresh child per request.

Each child runs one operation and exits, so executions never share state; the fork costs about a
millisecond because every import and every confinement layer is already in place. The zygote relays
frames between the server and its children (stamping each with the execution id, so a child cannot speak
for another), enforces each execution's wall-clock timeout, and, as a child sub-reaper, kills whatever
an execution left behind.
"""

from __future__ import annotations

import _signal
import contextlib
import ctypes
import gc
import os
import random
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

from . import libc, rlimits

EXIT_REFUSED = 70
_MAXFD = 65536
# libc's fork with the GIL held, skipping CPython's at-fork handlers (threading, logging and random
# re-initialisation run Python code that touches hundreds of shared pages: 250 copy-on-write faults and
# ~1.6 ms of CPU per execution instead of ~90 faults and ~0.8 ms). Safe here because the zygote has a
# single thread and forks from its main loop (no lock held, no import running); the child reseeds
# `random` itself, the only handler whose effect matters.
_libc_fork = ctypes.PyDLL(None, use_errno=True).fork
_libc_fork.restype = ctypes.c_int


def _fast_fork() -> int:
    pid = _libc_fork()
    if pid < 0:
        err = ctypes.get_errno() or 11
        raise OSError(err, os.strerror(err))
    return pid


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _setup_imports(policy: dict[str, Any]) -> None:
    """After confinement only: site-packages (with their .pth finders) and the server's extra paths."""
    import site

    sys.dont_write_bytecode = True  # the filesystem is read-only anyway
    for directory in policy.get("site_dirs", []):
        site.addsitedir(directory)
    for entry in policy.get("sys_path", []):
        if entry and entry not in sys.path:
            sys.path.append(entry)


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


def sweep_descendants() -> None:
    """Kill every descendant of the calling process; as a sub-reaper, orphans of its tree come back to it
    (even those that called setsid), so repeating until none is left catches double forks."""
    me = os.getpid()
    for _ in range(100):
        kids = _children_of(me)
        if not kids:
            return
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in kids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


class Execution:
    __slots__ = ("id", "pid", "rfd", "wfd", "buf", "deadline", "timeout", "done", "timed_out", "scratch", "log")

    def __init__(self, id: int | None, pid: int, rfd: int, wfd: int, timeout: float, scratch: str, log: str, buf) -> None:
        self.id, self.pid, self.rfd, self.wfd = id, pid, rfd, wfd
        self.timeout, self.deadline = timeout, time.monotonic() + timeout
        self.done = False
        self.timed_out = False
        self.scratch, self.log, self.buf = scratch, log, buf


class Zygote:
    def __init__(self, plugin: Any, policy: dict[str, Any], proto_in: int, proto_out: int) -> None:
        from utask_sdk import _runtime, protocol

        self.protocol, self.runtime = protocol, _runtime
        self.plugin, self.policy = plugin, policy
        self.limits = policy["limits"]
        self.proto_in, self.proto_out = proto_in, proto_out
        self.host_buf = protocol.FrameBuffer()
        self.by_pid: dict[int, Execution] = {}
        self.spare: Execution | None = None
        self.spares = 0
        # The spare child is forked once the plugin has been used: an idle server then holds one process
        # per plugin instead of two (a spare costs ~13 MB of RSS, and most plugins of a server may never
        # run). The first execution forks on its critical path, as any execution did before spares.
        self.used = False
        self.fork_failed = False
        self.stopping = False
        self.sel = selectors.DefaultSelector()
        os.set_blocking(proto_in, False)
        self.sel.register(proto_in, selectors.EVENT_READ, "host")
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
        _runtime.warm_up(plugin)
        # Everything loaded so far is shared with every child: keep the collector from walking (and so
        # copy-on-write-copying) it in each of them. This is what makes a fork cost ~1 ms instead of ~10.
        gc.collect()
        gc.freeze()

    def send(self, obj: dict[str, Any]) -> None:
        _write_all(self.proto_out, self.protocol.frame(obj))

    # --- main loop -------------------------------------------------------------------------------------
    def loop(self) -> None:
        while not (self.stopping and not self.by_pid):
            if self.spare is None and self.used and not self.stopping and not self.fork_failed:
                self.spare = self._fork()
                self.fork_failed = self.spare is None  # e.g. at pids.max: retry once something exits
            timeout = None
            running = [ex.deadline for ex in self.by_pid.values() if ex.id is not None]
            if running:
                timeout = max(0.0, min(running) - time.monotonic())
            for key, _ in self.sel.select(timeout):
                if key.data == "host":
                    self._read_host()
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self.wake_r, 4096):
                            pass
                else:
                    self._read_child(key.data)
            self._reap()
            self._enforce_deadlines()

    def _read_host(self) -> None:
        try:
            data = os.read(self.proto_in, 1 << 20)
        except BlockingIOError:
            return
        if not data:  # the server is gone: nothing we run may outlive it
            for ex in list(self.by_pid.values()):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(ex.pid, signal.SIGKILL)
            sweep_descendants()
            os._exit(0)
        for body in self.host_buf.feed(data):
            msg = self.protocol.loads(body)
            kind = msg.get("t")
            if kind == "run":
                self._start(msg, body)
            elif kind == "reply":
                ex = next((e for e in self.by_pid.values() if e.id == msg.get("id")), None)
                if ex is not None:
                    with contextlib.suppress(OSError):
                        _write_all(ex.wfd, len(body).to_bytes(4, "big") + body)
            elif kind == "stop":
                self.stopping = True
                if self.spare is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self.spare.pid, signal.SIGKILL)

    # --- one execution ---------------------------------------------------------------------------------
    def _start(self, msg: dict[str, Any], body: bytes) -> None:
        """Hand the request to the spare child forked ahead of time (so the fork and the child's set-up
        are off the critical path), or fork one now."""
        run_id = msg["id"]
        self.used = True
        ex, self.spare = self.spare or self._fork(), None
        if ex is None:
            self.send({"t": "died", "id": run_id, "src": "zygote", "reason": "cannot start execution"})
            return
        ex.id = run_id
        ex.timeout = float(msg.get("timeout") or self.limits["timeout"])
        ex.deadline = time.monotonic() + ex.timeout
        try:
            _write_all(ex.wfd, len(body).to_bytes(4, "big") + body)  # forwarded as received
        except OSError as err:  # the spare died meanwhile: its reaping reports it
            self.send({"t": "died", "id": run_id, "src": "zygote", "reason": f"cannot start execution: {err}"})
            ex.done = True

    def _fork(self) -> Execution | None:
        self.spares += 1
        root = self.policy["scratch"]
        scratch = os.path.join(root, f"run-{self.spares}")
        log = os.path.join(root, f"run-{self.spares}.log")
        try:
            os.mkdir(scratch, 0o700)
            c2z_r, c2z_w = os.pipe()
            z2c_r, z2c_w = os.pipe()
            pid = _fast_fork()
        except OSError as err:
            print(f"zygote: cannot fork an execution: {err}", file=sys.stderr, flush=True)
            shutil.rmtree(scratch, ignore_errors=True)
            return None
        if pid == 0:
            self._child(scratch, log, c2z_w, z2c_r)  # never returns
        os.close(c2z_w)
        os.close(z2c_r)
        os.set_blocking(c2z_r, False)
        ex = Execution(None, pid, c2z_r, z2c_w, float("inf"), scratch, log, self.protocol.FrameBuffer())
        self.by_pid[pid] = ex
        self.sel.register(c2z_r, selectors.EVENT_READ, ex)
        return ex

    def _child(self, scratch: str, log: str, out_fd: int, in_fd: int) -> None:
        code = 0
        try:
            random.seed()  # never the zygote's (or a sibling's) random sequence
            signal.set_wakeup_fd(-1)
            # The C function: `signal.signal` wraps results in enums, touching many shared pages.
            _signal.signal(int(signal.SIGCHLD), int(signal.SIG_DFL))
            os.setsid()  # its own process group: a timeout kills the group at once
            libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
            libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)  # orphans of its tree come back to it, to be swept
            keep = sorted({out_fd, in_fd})
            os.closerange(3, keep[0])
            os.closerange(keep[0] + 1, keep[1])
            os.closerange(keep[1] + 1, _MAXFD)
            log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.close(log_fd)
            rlimits.apply_execution(self.limits)
            os.chdir(scratch)
            os.environ["HOME"] = os.environ["TMPDIR"] = scratch
            tempfile.tempdir = None
            # Ready: wait for the one request this process will ever serve.
            msg = self.protocol.loads(_read_exact(in_fd, self.protocol.frame_size(_read_exact(in_fd, 4))))
            reply = self.runtime.handle(self.plugin, msg, self._transport(out_fd, in_fd), scratch)
            sweep_descendants()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            reply = {"t": "done", **reply, "stdout": _tail(log)}  # "t" first: the zygote looks for it
            try:
                body = self.protocol.frame(reply)
            except (TypeError, ValueError) as err:
                body = self.protocol.frame({
                    "t": "done", "ok": False, "output": repr(reply.get("output")), "metadata": None,
                    "error": {"kind": "fatal", "message": f"plugin output can't be json.Marshal: {err}"},
                    "logs": reply.get("logs", []), "stdout": reply["stdout"]})
            _write_all(out_fd, body)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)

    def _transport(self, out_fd: int, in_fd: int):
        protocol = self.protocol
        seq = [0]

        def call(name: str, args: dict[str, Any]) -> Any:
            from utask_sdk.errors import error_for

            seq[0] += 1
            _write_all(out_fd, protocol.frame({"t": "call", "call": seq[0], "name": name, "args": args}))
            while True:
                size = protocol.frame_size(_read_exact(in_fd, 4))
                msg = protocol.loads(_read_exact(in_fd, size))
                if msg.get("call") == seq[0]:
                    break
            if msg.get("ok"):
                return msg.get("result")
            err = msg.get("error") or {}
            raise error_for(err.get("kind", "server"), err.get("message", "host call failed"))

        return call

    def _read_child(self, ex: Execution) -> None:
        while True:
            try:
                data = os.read(ex.rfd, 1 << 20)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.sel.unregister(ex.rfd)
                os.close(ex.rfd)
                ex.rfd = -1
                return
            try:
                frames = ex.buf.feed(data)
            except self.protocol.ProtocolError as err:
                os.killpg(ex.pid, signal.SIGKILL)
                ex.done = True
                self.send({"t": "died", "id": ex.id, "src": "zygote", "reason": str(err)})
                return
            for body in frames:
                self._relay(ex, body)

    def _relay(self, ex: Execution, body: bytes) -> None:
        """Forward a child's frame with our stamp appended. JSON's last duplicate key wins, and a suffix at
        the very end of a valid object can only land at its top level, so the child cannot forge these."""
        body = body.rstrip()
        if not (body.startswith(b"{") and body.endswith(b"}")) or ex.done:
            return
        if body.startswith(b'{"t":"done"'):
            ex.done = True
        sep = b"," if body != b"{}" else b""
        stamped = body[:-1] + sep + b'"src":"child","id":' + str(ex.id).encode() + b"}"
        _write_all(self.proto_out, len(stamped).to_bytes(4, "big") + stamped)

    def _reap(self) -> None:
        reaped = False
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped = True
            self.fork_failed = False
            ex = self.by_pid.pop(pid, None)
            if ex is not None:
                self._finish(ex, status, usage.ru_utime + usage.ru_stime)
        if reaped:
            # Children of ours that are not live executions are orphans re-parented to us: kill them.
            for pid in _children_of(os.getpid()):
                if pid not in self.by_pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    def _finish(self, ex: Execution, status: int, cpu: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ex.pid, signal.SIGKILL)  # what it left in its group, if its own sweep did not run
        if ex.rfd >= 0:
            self._read_child(ex)
            if ex.rfd >= 0:
                self.sel.unregister(ex.rfd)
                os.close(ex.rfd)
        os.close(ex.wfd)
        if ex is self.spare:
            self.spare = None
        if not ex.done and ex.id is not None:
            died: dict[str, Any] = {"t": "died", "id": ex.id, "src": "zygote", "cpu": round(cpu, 3),
                                    "timed_out": ex.timed_out, "timeout": ex.timeout, "stderr": _tail(ex.log)}
            if os.WIFSIGNALED(status):
                died["signal"] = os.WTERMSIG(status)
            else:
                died["code"] = os.WEXITSTATUS(status)
            self.send(died)
        shutil.rmtree(ex.scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(ex.log)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for ex in self.by_pid.values():
            if ex.id is not None and not ex.timed_out and now >= ex.deadline:
                ex.timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(ex.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(ex.pid, signal.SIGKILL)


def _tail(path: str, size: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def serve(policy: dict[str, Any], report: Any, proto_in: int, proto_out: int) -> None:
    """Handshake, then the loop. Runs confined."""
    hello: dict[str, Any] = {"t": "hello", "pid": os.getpid(), "layers": report.to_dict()}
    try:
        _setup_imports(policy)
        from utask_sdk import _runtime, protocol

        hello["protocol"] = protocol.PROTOCOL_VERSION
        if not protocol.compatible(policy["protocol"], protocol.PROTOCOL_VERSION):
            hello["refused"] = (f"worker speaks protocol {protocol.PROTOCOL_VERSION}, server speaks "
                                f"{policy['protocol']}")
            _write_all(proto_out, protocol.frame(hello))
            os._exit(EXIT_REFUSED)
        plugin = _runtime.load_plugin(policy["source"], policy["plugin"], policy["limits"].get("settings"))
        hello["plugin"] = plugin.describe()
    except Exception as err:
        import json

        hello["error"] = f"cannot load plugin: {type(err).__name__}: {err}"
        body = json.dumps(hello).encode()
        _write_all(proto_out, len(body).to_bytes(4, "big") + body)
        os._exit(EXIT_REFUSED)
    _write_all(proto_out, protocol.frame(hello))
    Zygote(plugin, policy, proto_in, proto_out).loop()
    os._exit(0)
