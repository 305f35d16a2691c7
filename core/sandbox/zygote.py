"""The warm worker ("zygote"): confined once, loads its plugin once, forks a fresh child per execution.

Each child runs one operation and exits, so executions never share state; every import and every
confinement layer is already in place when it starts. Children are forked ahead of time ("spares"): a
spare sets itself up (own session, scratch directory, log, rlimits), then blocks on the one request it will
ever serve, so neither the fork nor the set-up are on an execution's critical path.

What an execution costs is mostly copy-on-write faults (about 3.5 µs each on this project's machines):
after a fork every page is shared, and each page the child or the zygote then writes is copied, which in
CPython means every object whose reference count changes. A child writes ~450 pages, whatever it does.
Spares are forked in batches, because each page the zygote writes after a fork costs it a fault too (~180
per relay cycle): forking several children back to back pays that once per batch instead of once per
execution. The pool starts at one spare once the plugin has been used (an idle server holds no spare),
keeps two more ready while executions come back to back, doubles while executions find it empty (up
to `max_spares`, bounded by the process limit), and shrinks back to one after `SPARE_IDLE` seconds without
an execution.

The zygote relays frames between the server and its children (stamping each child frame with the
execution id, so a child cannot speak for another), enforces each execution's wall-clock timeout, and, as a
child sub-reaper, kills whatever an execution left behind. It never decodes a child's frame (that would cost
CPU and copy-on-write faults per execution): it refuses one whose header announces more than the output
limit (`max_output_mb`) before reading it, and leaves the JSON to the server, which reads the stamp off the
frame's end to fail only that execution (it sends "kill" for it) when its content is invalid. Writes to a
child never block the zygote: what a child does not read is buffered, and a child that leaves a reply
unread when the next one comes is killed (the SDK waits for each reply before its next call).
"""

from __future__ import annotations

import _signal
import collections
import contextlib
import ctypes
import gc
import os
import random
import re
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Any, NoReturn

from . import landlock, libc, rlimits

EXIT_REFUSED = 70
_MAXFD = 65536
LOG_TAIL = 64 * 1024  # bytes of an execution's log file reported with its result (its step keeps at most that)
MAX_SPARES = 8  # spares at most: each holds a pid of the worker's pids cgroup and ~1 MB of private pages
SPARE_IDLE = 2.0  # seconds without an execution before the pool shrinks back to one spare
BUSY_GAP = 0.05  # an execution this soon after the previous one: keep spares set up a cycle ahead (three)
# The server writes "t", "id" and "timeout" first (worker.py): the zygote reads them without decoding the
# whole request, which it forwards as received. Anything else is decoded in full.
_HEAD = re.compile(rb'\{"t":"(run|reply|stop|kill)"(?:,"id":(\d+))?(?:,"timeout":(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))?[,}]')
# libc's fork with the GIL held, skipping CPython's at-fork handlers (threading, logging and random
# re-initialisation run Python code that touches hundreds of shared pages: 250 copy-on-write faults and
# ~1.6 ms of CPU per execution instead of ~90 faults and ~0.8 ms). Safe here because the zygote has a
# single thread and forks from its main loop (no lock held, no import running); the child reseeds
# `random` itself, the only handler whose effect matters.
_SIGCHLD, _SIG_DFL = int(signal.SIGCHLD), int(signal.SIG_DFL)
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


def _read_proc(path: str) -> bytes:
    """A small /proc file with plain os calls (no file object: fewer pages touched in a forked child)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            found += [int(p) for p in _read_proc(f"/proc/{pid}/task/{tid}/children").split()]
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
    """One forked child: a spare until `id` is set, then the execution of that request, until reaped."""

    __slots__ = ("id", "pid", "rfd", "wfd", "buf", "out", "deadline", "timeout", "done", "timed_out", "scratch",
                 "log")

    def __init__(self, pid: int, rfd: int, wfd: int, scratch: str, log: str, buf: Any) -> None:
        self.id: int | None = None
        self.pid, self.rfd, self.wfd = pid, rfd, wfd
        self.timeout = self.deadline = float("inf")
        self.done = False
        self.timed_out = False
        self.scratch, self.log, self.buf = scratch, log, buf
        self.out: bytearray | None = None  # what the child has not read yet (its pipe was full)


class Zygote:
    def __init__(self, plugin: Any, policy: dict[str, Any], proto_in: int, proto_out: int) -> None:
        from utask_sdk import _runtime, context, protocol

        self.protocol, self.runtime = protocol, _runtime
        # The step logger also writes its records to the execution's log file, marked (utask_sdk.context):
        # read back from there when the sandbox kills an execution, left out of its output otherwise.
        self.split_log = context.split_log
        self.log_mark, self.log_cont = context.LOG_MARK, context.LOG_CONT
        self.log_marks = (context.LOG_MARK.encode(), context.LOG_CONT.encode())
        self.plugin, self.policy = plugin, policy
        self.limits = policy["limits"]
        # What the step logger may write to an execution's log file: half of the file size limit, so that
        # a plugin logging a lot still has room for its own output.
        self.log_budget = int(self.limits.get("max_file_size_mb", 64)) * (1 << 20) // 2
        # The largest frame a child may send (its result, or a host call): refused from its header.
        self.output_mb = int(self.limits.get("max_output_mb", 8))
        self.output_limit = self.output_mb << 20
        self.proto_in, self.proto_out = proto_in, proto_out
        self.host_buf = protocol.FrameBuffer()
        self.by_pid: dict[int, Execution] = {}  # every live child: spares and executions
        self.by_id: dict[int, Execution] = {}  # executions, by the server's run id, until reaped
        self.by_fd: dict[int, Execution] = {}  # by the fd the zygote reads the child's frames from
        self.by_wfd: dict[int, Execution] = {}  # children with unread bytes buffered, by the fd written to
        self.spares: collections.deque[Execution] = collections.deque()
        self.forked = 0
        # Spares wanted. 0 until the plugin is used: an idle server then holds one process per plugin
        # (a spare costs ~13 MB of RSS, most of it shared, and most plugins of a server may never run).
        self.target = 0
        self.max_spares = max(1, min(MAX_SPARES, int(self.limits.get("max_parallel", 1)),
                                     int(self.limits.get("max_processes", 8)) // 8))
        self.last_run = 0.0
        self.fork_failed = False
        self.stopping = False
        self.pid = os.getpid()
        self.children_file = f"/proc/{self.pid}/task/{self.pid}/children"  # single-threaded: one task
        self.epoll = select.epoll()
        os.set_blocking(proto_in, False)
        self.epoll.register(proto_in, select.EPOLLIN)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        self.on_sigchld = lambda *_: None  # the wake-up fd does the work
        signal.signal(signal.SIGCHLD, self.on_sigchld)
        self.epoll.register(self.wake_r, select.EPOLLIN)
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
        _runtime.warm_up(plugin)
        self._warm_up()
        # Each execution's own Landlock domain, prepared once (None: the worker runs without Landlock).
        self.domain = None
        if "landlock" not in policy.get("skip_layers", ()) and "landlock" not in policy.get("missing", {}):
            with contextlib.suppress(OSError):
                domain = landlock.ExecutionDomain(list(policy.get("read_paths", ())),
                                                  [*self.limits.get("writable_paths", ()), "/dev/null"])
                self.domain = domain if domain.abi >= 1 else None
        tempfile.tempdir = None  # each child finds its own TMPDIR (the plugin's import may have asked)
        # Children print into their log file: line by line, so what they printed before being killed is
        # there to report (block buffering would lose up to 8 KB of it).
        with contextlib.suppress(Exception):
            sys.stdout.reconfigure(line_buffering=True)
        # Everything loaded so far is shared with every child: keep the collector from walking (and so
        # copy-on-write-copying) it in each of them. This is what makes a fork cost ~1 ms instead of ~10.
        gc.collect()
        gc.freeze()

    def _warm_up(self) -> None:
        """Run here, 16 times, the zygote's code every child runs (reading its request, sweeping, reading its
        log and leaving the logger's records out of it, prctl, rlimits): CPython 3.11 counts a function's
        calls in its code object, rewrites the code after 8 and specialises its instructions after a few
        more executions, all writes that, in a child, are copy-on-write faults. Children then inherit this
        code settled. Changes nothing else: a no-op prctl and rlimit, a pipe and a file of the zygote's own,
        and no child exists yet to sweep."""
        probe = os.path.join(self.policy["scratch"], ".warm-up.log")
        r, w = os.pipe()
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, b"warm-up\n" + self.log_marks[0] + b"INFO warm-up\n" + self.log_marks[1] + b"more\n")
            os.close(fd)
            frame = self.protocol.frame({"t": "run", "id": 1, "timeout": 1.5, "op": "execute", "config": {},
                                         "identity": {"step_name": "warm-up"}})
            for _ in range(16):
                _write_all(w, frame)
                self.protocol.loads(_read_exact(r, self.protocol.frame_size(_read_exact(r, 4))))
                sweep_descendants()
                text = _read_log(probe, self.log_marks)[0]
                if self.log_mark in text or self.log_cont in text:
                    text = "\n".join(self.split_log(text)[1])
                libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
                rlimits.keep_core_off()
        except OSError as err:  # warming must never stop a worker
            print(f"zygote: warm-up: {err}", file=sys.stderr, flush=True)
        finally:
            os.close(r)
            os.close(w)
            with contextlib.suppress(OSError):
                os.unlink(probe)

    def send(self, obj: dict[str, Any]) -> None:
        _write_all(self.proto_out, self.protocol.frame(obj))

    # --- main loop -------------------------------------------------------------------------------------
    def loop(self) -> None:
        poll = self.epoll.poll
        while not (self.stopping and not self.by_pid):
            if self.target and len(self.spares) <= self.target // 2 and not self.stopping and not self.fork_failed:
                self._refill()
            for fd, _events in poll(self._timeout()):
                if fd == self.proto_in:
                    self._read_host()
                elif fd == self.wake_r:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self.wake_r, 4096):
                            pass
                else:
                    ex = self.by_fd.get(fd)
                    if ex is not None:
                        self._read_child(ex)
                    elif fd in self.by_wfd:
                        self._flush(self.by_wfd[fd])
            self._reap()
            if self.by_id:
                self._enforce_deadlines()
            if len(self.spares) > 1 and time.monotonic() - self.last_run >= SPARE_IDLE:
                self._trim()

    def _timeout(self) -> float:
        """Until the next execution deadline or the pool's idle trim, whichever comes first; -1: none."""
        due = [ex.deadline for ex in self.by_id.values()]
        if len(self.spares) > 1:
            due.append(self.last_run + SPARE_IDLE)
        return max(0.0, min(due) - time.monotonic()) if due else -1

    def _refill(self, at_most: int | None = None) -> None:
        """Fork the missing spares back to back (one round of copy-on-write faults for the whole batch).

        The children's signal state (no wake-up fd, default SIGCHLD) is set once around the batch rather
        than in each child; the zygote restores its own after it, and wakes itself up once for a child that
        ended meanwhile."""
        count = self.target - len(self.spares)
        if at_most is not None:
            count = min(count, at_most)
        if count <= 0 or self.stopping:
            return
        signal.set_wakeup_fd(-1)
        _signal.signal(_SIGCHLD, _SIG_DFL)
        try:
            for _ in range(count):
                ex = self._fork()
                if ex is None:
                    self.fork_failed = True  # e.g. at pids.max: retried once something exits
                    return
                self.spares.append(ex)
        finally:
            _signal.signal(_SIGCHLD, self.on_sigchld)
            signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
            with contextlib.suppress(OSError):
                os.write(self.wake_w, b"\0")

    def _trim(self) -> None:
        self.target = 1
        while len(self.spares) > 1:
            ex = self.spares.pop()
            with contextlib.suppress(ProcessLookupError):
                os.kill(ex.pid, signal.SIGKILL)

    def _read_host(self) -> None:
        try:
            data = os.read(self.proto_in, 1 << 20)
        except BlockingIOError:
            return
        if not data:  # the server is gone: nothing we run may outlive it
            for ex in list(self.by_pid.values()):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(ex.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(ex.pid, signal.SIGKILL)
            sweep_descendants()
            os._exit(0)
        for body in self.host_buf.feed(data):
            head = _HEAD.match(body)
            if head is not None:
                kind = head.group(1).decode()
                run_id = int(head.group(2)) if head.group(2) is not None else None
                timeout = float(head.group(3)) if head.group(3) is not None else None
            else:
                msg = self.protocol.loads(body)
                kind, run_id, timeout = msg.get("t"), msg.get("id"), msg.get("timeout")
            if kind == "run":
                self._start(run_id, timeout, body)
            elif kind == "reply":
                ex = self.by_id.get(run_id)  # type: ignore[arg-type]
                if ex is not None and not ex.done:
                    if ex.out:  # the previous reply is still unread: not the SDK, which waits for each
                        self._kill(ex, "plugin did not read its host call replies")
                    else:
                        with contextlib.suppress(OSError):
                            self._to_child(ex, len(body).to_bytes(4, "big") + body)
            elif kind == "kill":  # the server refused one of this execution's frames, and answered for it
                ex = self.by_id.get(run_id)  # type: ignore[arg-type]
                if ex is not None and not ex.done:
                    self._kill(ex, None)
            elif kind == "stop":
                self.stopping = True
                self.target = 0
                while self.spares:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self.spares.pop().pid, signal.SIGKILL)

    # --- one execution ---------------------------------------------------------------------------------
    def _start(self, run_id: Any, timeout: Any, body: bytes) -> None:
        """Hand the request to the oldest spare (forked and set up ahead of time), or fork one now; an
        empty pool means it was too small for the load: it doubles."""
        now = time.monotonic()
        refill = False
        if not self.spares:
            self.target = min(self.max_spares, self.target * 2) if self.target else 1
            self._refill(at_most=1)  # this request's child first,
            refill = True  # then the rest of the batch: requests that find the pool empty come in bursts
        elif self.target < 3 and now - self.last_run < BUSY_GAP:
            # Back-to-back executions: the spare forked after the previous one is still setting itself up
            # when the next request comes. With three (refilled two at a time, at one left), each request
            # finds one forked a cycle earlier, and the zygote's faults are shared by two forks.
            self.target = min(self.max_spares, 3)
        self.last_run = now
        ex = self.spares.popleft() if self.spares else None
        if ex is None:
            self.send({"t": "died", "id": run_id, "src": "zygote", "reason": "cannot start execution"})
            return
        ex.id = run_id
        ex.timeout = float(timeout or self.limits["timeout"])
        ex.deadline = time.monotonic() + ex.timeout
        self.by_id[run_id] = ex
        try:
            data = len(body).to_bytes(4, "big") + body  # forwarded as received
            written = os.write(ex.wfd, data)  # the spare's pipe is empty: takes 64 KB at least
            if written < len(data):
                self._to_child(ex, data[written:])
        except OSError as err:  # the spare died meanwhile: its reaping reports it
            self.send({"t": "died", "id": run_id, "src": "zygote", "reason": f"cannot start execution: {err}"})
            ex.done = True
        if refill and not self.fork_failed:
            self._refill()

    def _fork(self) -> Execution | None:
        self.forked += 1
        scratch = f"{self.policy['scratch']}/run-{self.forked}"
        log = scratch + ".log"
        fds: list[int] = []
        try:
            # Non-blocking for the zygote's ends (the child makes its own ends blocking).
            c2z_r, c2z_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            fds += [c2z_r, c2z_w]
            z2c_r, z2c_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            fds += [z2c_r, z2c_w]
            pid = _fast_fork()
        except OSError as err:
            print(f"zygote: cannot fork an execution: {err}", file=sys.stderr, flush=True)
            for fd in fds:
                os.close(fd)
            return None
        if pid == 0:
            self._child(c2z_w, z2c_r, scratch, log)  # never returns
        os.close(c2z_w)
        os.close(z2c_r)
        ex = Execution(pid, c2z_r, z2c_w, scratch, log, self.protocol.FrameBuffer(self.output_limit))
        self.by_pid[pid] = ex
        self.by_fd[c2z_r] = ex
        self.epoll.register(c2z_r, select.EPOLLIN)
        return ex

    def _child(self, out_fd: int, in_fd: int, scratch: str, log: str) -> None:
        """Set up, wait for the request, run it, answer, exit. Per-child work is done here rather than in
        the zygote before the fork: pages a child writes anyway make its set-up cheap, while each page the
        zygote writes between two forks is one more copy-on-write fault (~3.5 µs) for it."""
        code = 0
        try:
            random.seed()  # never the zygote's (or a sibling's) random sequence
            os.setsid()  # its own process group: a timeout kills the group at once
            libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != self.pid:  # the zygote died before PDEATHSIG was armed
                os._exit(1)
            libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)  # orphans of its tree come back to it, to be swept
            os.mkdir(scratch, 0o700)  # fresh for this execution; the zygote removes it after
            log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            if self.domain is not None:  # its own files only, no signal to the zygote or its siblings
                try:
                    self.domain.enter([scratch, log])
                except OSError as err:  # the worker's report already names a broken Landlock
                    print(f"sandbox: execution domain not applied: {err}", file=sys.stderr, flush=True)
            os.set_blocking(out_fd, True)
            os.set_blocking(in_fd, True)
            keep = sorted({out_fd, in_fd, log_fd})  # everything else goes, siblings' pipes included
            low = 3
            for fd in keep:
                os.closerange(low, fd)
                low = fd + 1
            os.closerange(low, _MAXFD)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)  # where the step logger writes its records too
            os.close(log_fd)
            rlimits.apply_execution(self.limits)
            os.chdir(scratch)
            os.environ["HOME"] = os.environ["TMPDIR"] = scratch
            # Ready: wait for the one request this process will ever serve.
            msg = self.protocol.loads(_read_exact(in_fd, self.protocol.frame_size(_read_exact(in_fd, 4))))
            reply = self.runtime.handle(self.plugin, msg, self._transport(out_fd, in_fd), scratch, 2,
                                        self.log_budget)
            sweep_descendants()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            # The output: the log file without the logger's records (the reply has them, all of them).
            text, _records_left_out, output_left_out = _read_log(log, self.log_marks)
            if self.log_mark in text or self.log_cont in text:
                text = "\n".join(self.split_log(text)[1])
            reply = {"t": "done", **reply, "stdout": text}  # "t" first: the zygote looks for it
            if output_left_out:
                reply["output_dropped"] = output_left_out
            try:
                body = self.protocol.frame(reply)
                if len(body) - 4 > self.output_limit:
                    raise _OverLimit(len(body) - 4)
            except _OverLimit as err:  # refused by the zygote anyway: say why, keep the logs if they fit
                body = self.protocol.frame({
                    "t": "done", "ok": False, "output": None, "metadata": None,
                    "error": {"kind": "fatal", "message": f"output limit {self.output_mb} MB exceeded (a result "
                                                          f"of {err.args[0]} bytes)"},
                    "logs": [str(line) for line in reply.get("logs") or []],
                    "logs_dropped": reply.get("logs_dropped", 0), "stdout": reply["stdout"][-4096:]})
                if len(body) - 4 > self.output_limit:
                    body = self.protocol.frame({
                        "t": "done", "ok": False, "output": None, "metadata": None,
                        "error": {"kind": "fatal", "message": f"output limit {self.output_mb} MB exceeded"},
                        "logs": [], "logs_dropped": len(reply.get("logs") or []) + reply.get("logs_dropped", 0),
                        "stdout": ""})
            except (TypeError, ValueError) as err:
                # No output stored (nor metadata): a text form of it would only show Python's repr.
                body = self.protocol.frame({
                    "t": "done", "ok": False, "output": None, "metadata": None,
                    "error": {"kind": "fatal", "message": f"plugin output can't be json.Marshal: {err}"},
                    "logs": [str(line) for line in reply.get("logs") or []],
                    "logs_dropped": reply.get("logs_dropped", 0), "stdout": reply["stdout"],
                    "output_dropped": output_left_out})
            _write_all(out_fd, body)
        except SystemExit as err:  # raised outside the plugin's operation (handle() answers for those)
            code = err.code if isinstance(err.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)

    def _transport(self, out_fd: int, in_fd: int):
        protocol, limit, mb = self.protocol, self.output_limit, self.output_mb
        seq = [0]

        def call(name: str, args: dict[str, Any]) -> Any:
            from utask_sdk.errors import error_for

            seq[0] += 1
            body = protocol.frame({"t": "call", "call": seq[0], "name": name, "args": args})
            if len(body) - 4 > limit:
                raise error_for("fatal", f"host call {name!r}: output limit {mb} MB exceeded (arguments of "
                                         f"{len(body) - 4} bytes)")
            _write_all(out_fd, body)
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

    def _close_reader(self, ex: Execution) -> None:
        with contextlib.suppress(OSError):
            self.epoll.unregister(ex.rfd)
        self.by_fd.pop(ex.rfd, None)
        os.close(ex.rfd)
        ex.rfd = -1

    def _read_child(self, ex: Execution) -> None:
        while True:
            try:
                data = os.read(ex.rfd, 1 << 20)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._close_reader(ex)
                return
            try:
                frames = ex.buf.feed(data)
            except self.protocol.FrameTooLarge as err:
                self._kill(ex, f"output limit {self.output_mb} MB exceeded (a frame of {err.size} bytes)")
                return
            except self.protocol.ProtocolError as err:
                self._kill(ex, str(err))
                return
            for body in frames:
                self._relay(ex, body)

    def _kill(self, ex: Execution, reason: str | None) -> None:
        """End an execution that broke the protocol; `reason`: reported to the server (None: it knows)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ex.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(ex.pid, signal.SIGKILL)
        was_done, ex.done = ex.done, True
        if reason is not None and not was_done and ex.id is not None:
            # "contained": only this execution failed, the worker carries on.
            self.send({"t": "died", "id": ex.id, "src": "zygote", "reason": reason, "contained": True})

    def _to_child(self, ex: Execution, data: bytes) -> None:
        """Write without blocking: what the pipe does not take waits for the child to read (EPOLLOUT)."""
        if ex.out is not None:
            ex.out += data
            return
        try:
            written = os.write(ex.wfd, data)
        except BlockingIOError:
            written = 0
        if written < len(data):
            ex.out = bytearray(memoryview(data)[written:])
            self.by_wfd[ex.wfd] = ex
            self.epoll.register(ex.wfd, select.EPOLLOUT)

    def _flush(self, ex: Execution) -> None:
        try:
            written = os.write(ex.wfd, ex.out) if ex.out else 0
        except BlockingIOError:
            return
        except OSError:  # the child is gone: its reaping reports it
            written = len(ex.out or b"")
        if ex.out is not None:
            del ex.out[:written]
            if ex.out:
                return
        self._stop_writing(ex)

    def _stop_writing(self, ex: Execution) -> None:
        ex.out = None
        if self.by_wfd.pop(ex.wfd, None) is not None:
            with contextlib.suppress(OSError):
                self.epoll.unregister(ex.wfd)

    def _relay(self, ex: Execution, body: bytes) -> None:
        """Forward a child's frame with our stamp appended. JSON's last duplicate key wins, and a suffix at
        the very end of a valid object can only land at its top level, so the child cannot forge these."""
        body = body.rstrip()
        if not (body.startswith(b"{") and body.endswith(b"}")) or ex.done or ex.id is None:
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
            ex = self.by_pid.pop(pid, None)
            if ex is not None:
                self._finish(ex, status, usage.ru_utime + usage.ru_stime)
        if reaped:
            self.fork_failed = False
            # Children of ours that are not live executions or spares are orphans re-parented to us.
            try:
                orphans = [int(p) for p in _read_proc(self.children_file).split()]
            except OSError:
                orphans = _children_of(self.pid)
            for pid in orphans:
                if pid not in self.by_pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    def _finish(self, ex: Execution, status: int, cpu: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ex.pid, signal.SIGKILL)  # what it left in its group, if its own sweep did not run
        if ex.rfd >= 0:
            self._read_child(ex)
            if ex.rfd >= 0:
                self._close_reader(ex)
        if ex.out is not None:
            self._stop_writing(ex)
        os.close(ex.wfd)
        if ex.id is None:
            with contextlib.suppress(ValueError):
                self.spares.remove(ex)  # a spare that died before its request (trimmed, or at stop)
        else:
            self.by_id.pop(ex.id, None)
            if not ex.done:
                # What it logged and printed before it died, from its log file.
                text, records_left_out, output_left_out = _read_log(ex.log, self.log_marks)
                records, output, _orphans = self.split_log(text)
                died: dict[str, Any] = {"t": "died", "id": ex.id, "src": "zygote", "cpu": round(cpu, 3),
                                        "timed_out": ex.timed_out, "timeout": ex.timeout, "logs": records,
                                        "logs_dropped": records_left_out, "stderr": "\n".join(output),
                                        "output_dropped": output_left_out}
                if os.WIFSIGNALED(status):
                    died["signal"] = os.WTERMSIG(status)
                else:
                    died["code"] = os.WEXITSTATUS(status)
                self.send(died)
        try:
            os.rmdir(ex.scratch)  # usually empty
        except FileNotFoundError:
            pass
        except OSError:
            shutil.rmtree(ex.scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(ex.log)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for ex in self.by_id.values():
            if not ex.timed_out and now >= ex.deadline:
                ex.timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(ex.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(ex.pid, signal.SIGKILL)


class _OverLimit(Exception):
    """A child's result over the output limit (its size in bytes)."""


def _read_log(path: str, marks: tuple[bytes, bytes], size: int = LOG_TAIL) -> tuple[str, int, int]:
    """The end of an execution's log file: (its last `size` bytes at most, from the start of a line; the
    logger records and the output lines before them, counted). `marks`: the bytes starting a logger record
    and a further line of one (utask_sdk.context.LOG_MARK, LOG_CONT)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return "", 0, 0
    try:
        end = os.fstat(fd).st_size
        start = max(0, end - size)
        data = os.pread(fd, end - start, start)
        if not start:
            return data.decode("utf-8", "replace"), 0, 0
        cut = data.find(b"\n") + 1  # its first line is cut: left out too
        left_out = start + cut
        lines = records = further = 0
        pos = 0
        while pos < left_out:  # counted in chunks: the file may be as large as its size limit
            chunk = os.pread(fd, min(1 << 20, left_out - pos), pos)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            records += chunk.count(marks[0])
            further += chunk.count(marks[1])
            pos += len(chunk)
        return data[cut:].decode("utf-8", "replace"), records, max(0, lines - records - further)
    except OSError:
        return "", 0, 0
    finally:
        os.close(fd)


def open_hello(policy: dict[str, Any], report: Any, proto_out: int) -> dict[str, Any]:
    """The start of a confined process's handshake (worker or catalog): the plugin import paths set up and
    the SDK's protocol checked against the server's — refused (or an SDK that does not load): the hello
    says why and the process exits."""
    hello: dict[str, Any] = {"t": "hello", "pid": os.getpid(), "layers": report.to_dict()}
    try:
        _setup_imports(policy)
        from utask_sdk import _runtime, protocol  # noqa: F401 - the caller's next import finds them loaded
    except Exception as err:
        refuse(hello, f"cannot load the plugin SDK: {type(err).__name__}: {err}", proto_out)
    hello["protocol"] = protocol.PROTOCOL_VERSION
    if not protocol.compatible(policy["protocol"], protocol.PROTOCOL_VERSION):
        hello["refused"] = (f"worker speaks protocol {protocol.PROTOCOL_VERSION}, server speaks "
                            f"{policy['protocol']}")
        _write_all(proto_out, protocol.frame(hello))
        os._exit(EXIT_REFUSED)
    return hello


def refuse(hello: dict[str, Any], error: str, proto_out: int) -> NoReturn:
    """End the handshake with `error` (plain JSON framing: the SDK may be what failed) and exit."""
    import json

    hello["error"] = error
    body = json.dumps(hello).encode()
    _write_all(proto_out, len(body).to_bytes(4, "big") + body)
    os._exit(EXIT_REFUSED)


def serve(policy: dict[str, Any], report: Any, proto_in: int, proto_out: int) -> None:
    """Handshake, then the loop. Runs confined."""
    hello = open_hello(policy, report, proto_out)
    from utask_sdk import _runtime, protocol

    try:
        plugin = _runtime.load_plugin(policy["source"], policy["plugin"], policy["limits"].get("settings"))
        hello["plugin"] = plugin.describe()
    except Exception as err:
        refuse(hello, f"cannot load plugin: {type(err).__name__}: {err}", proto_out)
    _write_all(proto_out, protocol.frame(hello))
    Zygote(plugin, policy, proto_in, proto_out).loop()
    os._exit(0)
