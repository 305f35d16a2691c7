"""One warm worker seen from the server: spawn, handshake, requests, host calls, death reasons, recycling."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import signal
from typing import Any

from utask.core.sandbox import supervisor
from utask.core.sandbox.config import SandboxLimits, format_duration
from utask_sdk import protocol

from . import wire
from .model import ExecutionIdentity, HostCallError, HostCallHandler

log = logging.getLogger("utask.sandbox")
HANDSHAKE_TIMEOUT = 30.0
_ids = itertools.count(1)
# Added to the error of an execution that failed because a socket call was refused, when the plugin's
# sandbox profile has no network (the SDK tells which failures those are: `socket_refused`).
NO_NETWORK_HINT = (" (this plugin's sandbox profile has no network: set network in its SandboxProfile or in "
                   "utask-cfg sandbox.plugins.{name})")
_reported: set[tuple[str, str, str]] = set()
# Host calls one execution may make; later ones are refused (with an error the plugin sees).
MAX_HOST_CALLS = 10_000
# A child's frame may hold one JSON value (counted as `,` and `:` outside strings) per this many bytes of
# the output limit: decoded values cost the server 50 to 100 bytes each, whatever their size on the wire.
VALUE_BYTES = 16
# The zygote's stamp, always the very end of a frame it relays from a child (zygote.py, `_relay`): which
# execution sent the frame, read before (and without) decoding it.
_STAMP = re.compile(rb'"src":"child","id":(\d+)\}\Z')
# A JSON string, or an unterminated one up to the end: always matches (linear, whatever the input).
_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*+(?:"|\Z)', re.DOTALL)


class WorkerStartError(Exception):
    pass


class _Pending:
    __slots__ = ("future", "identity", "handler", "calls", "in_call", "call_count")

    def __init__(self, future: asyncio.Future, identity: ExecutionIdentity | None, handler: HostCallHandler | None):
        self.future, self.identity, self.handler = future, identity, handler
        self.calls: set[asyncio.Task] = set()
        self.in_call = False  # a host call is being answered (the SDK waits for each answer)
        self.call_count = 0


class Worker:
    def __init__(self, plugin: str, source: dict[str, Any], limits: SandboxLimits, must_read: list[str],
                 skip_layers: tuple[str, ...] = ()) -> None:
        self.plugin, self.source, self.limits, self.must_read = plugin, source, limits, must_read
        self.skip_layers = skip_layers
        self.prepared: supervisor.Prepared | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.hello: dict[str, Any] = {}
        self.pending: dict[int, _Pending] = {}
        self.executions = 0
        self.retiring = False
        self.dead = False
        self._tasks: list[asyncio.Task] = []
        self._oom_seen = 0
        self._pids_seen = 0
        self._stopped = asyncio.Event()
        self._destroying: asyncio.Future | None = None

    @property
    def layers(self) -> dict[str, Any]:
        return self.hello.get("layers", {"applied": [], "missing": {}, "notes": {}})

    # --- life cycle ------------------------------------------------------------------------------------
    async def start(self) -> dict[str, Any]:
        self.prepared = supervisor.prepare(self.plugin, self.source, self.limits, wire.PROTOCOL_VERSION,
                                           self.must_read, self.skip_layers)
        try:
            self.proc = await supervisor.spawn(self.prepared)
            assert self.proc.stdout is not None
            self._tasks.append(asyncio.create_task(self._read_stderr()))
            hello = await asyncio.wait_for(wire.read_frame(self.proc.stdout), HANDSHAKE_TIMEOUT)
        except BaseException:
            await self._destroy()
            raise
        if not isinstance(hello, dict) or hello.get("t") != "hello":
            await self._destroy()
            raise WorkerStartError(f"worker for {self.plugin!r} ended before its handshake")
        self.hello = hello
        for layer, reason in hello.get("layers", {}).get("missing", {}).items():
            if (self.plugin, layer, reason) not in _reported:  # once, not at every recycling
                _reported.add((self.plugin, layer, reason))
                log.warning("sandbox: plugin=%s layer=%s status=unavailable error=%s", self.plugin, layer, reason)
        problem = hello.get("refused") or hello.get("error")
        if problem:
            await self._destroy()
            raise WorkerStartError(str(problem))
        worker_protocol = str(hello.get("protocol", "0.0.0"))
        if not protocol.compatible(worker_protocol, wire.PROTOCOL_VERSION):
            await self._destroy()
            raise WorkerStartError(f"worker speaks protocol {worker_protocol}, this server speaks "
                                   f"{wire.PROTOCOL_VERSION}: incompatible major version")
        if self.prepared.cgroup is not None:
            self._oom_seen = self.prepared.cgroup.oom_kills()
            self._pids_seen = self.prepared.cgroup.pids_refusals()
        self._tasks.append(asyncio.create_task(self._read_frames()))
        return hello

    async def stop(self, grace: float = 1.0) -> None:
        if self.proc is not None and self.proc.returncode is None and self.proc.stdin is not None:
            with contextlib.suppress(Exception):
                self.proc.stdin.write(wire.encode({"t": "stop"}))
                self.proc.stdin.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
        await self._destroy()

    async def _destroy(self) -> None:
        """Idempotent; runs as its own task so that cancelling a caller cannot interrupt the teardown."""
        if self._destroying is None:
            self._destroying = asyncio.ensure_future(self._teardown())
        await asyncio.shield(self._destroying)

    async def _teardown(self) -> None:
        self.dead = True
        if self.prepared is not None:
            pid = self.proc.pid if self.proc is not None else None
            prepared, self.prepared = self.prepared, None
            await asyncio.get_running_loop().run_in_executor(None, supervisor.destroy, prepared, pid)
        if self.proc is not None and self.proc.returncode is None:
            # os.kill, not proc.kill(): Popen.kill() polls first, and reaping an exited worker here races
            # asyncio's child watcher ("Unknown child process pid ..."). Unreaped, the pid cannot be reused.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        for task in self._tasks:
            task.cancel()
        self._fail_pending({"t": "died", "reason": "plugin worker stopped"})
        self._stopped.set()

    def retire(self) -> None:
        """Take no new work; stop once the executions in flight are over."""
        self.retiring = True
        if not self.pending and not self.dead:
            asyncio.get_running_loop().create_task(self.stop())

    @property
    def available(self) -> bool:
        return not self.dead and not self.retiring and len(self.pending) < self.limits.max_parallel

    # --- requests --------------------------------------------------------------------------------------
    async def request(self, msg: dict[str, Any], identity: ExecutionIdentity | None = None,
                      handler: HostCallHandler | None = None, timeout: float | None = None) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        run_id = next(_ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self.pending[run_id] = _Pending(future, identity, handler)
        self.executions += 1
        wall = timeout or self.limits.timeout
        # The zygote enforces the timeout; this backstop only fires if the zygote itself is stuck. (A timer
        # on the future, not asyncio.wait_for: that costs a task and two more futures per execution.)
        backstop = loop.call_later(wall + 10.0, _expire, future)
        try:
            # "t", "id", "timeout" first: the zygote reads them off the front without decoding the request.
            self.proc.stdin.write(wire.encode({"t": "run", "id": run_id, "timeout": wall, **msg}))
            reply = await future
        except (TimeoutError, ConnectionError, BrokenPipeError) as err:
            reply = {"t": "died", "timed_out": isinstance(err, asyncio.TimeoutError), "timeout": wall,
                     "reason": f"plugin worker unreachable: {err}"}
            self.retire()
            await self.stop(grace=0)
        finally:
            backstop.cancel()
            pending = self.pending.pop(run_id, None)
            if pending is not None:
                for task in pending.calls:
                    task.cancel()
        self._after(reply)
        return reply

    def _after(self, reply: dict[str, Any]) -> None:
        """Name the limit an execution hit; recycle the worker after a timeout, an OOM, a crash or N runs."""
        recycle = self.executions >= self.limits.max_executions
        cg = self.prepared.cgroup if self.prepared is not None else None
        if reply.get("t") == "died" or not reply.get("ok", True):
            oom = cg.oom_kills() if cg is not None else 0
            refusals = cg.pids_refusals() if cg is not None else 0
            hit_memory, self._oom_seen = oom > self._oom_seen, max(oom, self._oom_seen)
            hit_pids, self._pids_seen = refusals > self._pids_seen, max(refusals, self._pids_seen)
            reply["message"] = self._death_message(reply, hit_memory, hit_pids)
            _count_kill(reply["message"])
            # "contained": an execution killed for breaking the protocol; its zygote is unharmed.
            recycle = recycle or (reply.get("t") == "died" and not reply.get("contained")) or hit_memory
        if recycle:
            self.retire()

    def _death_message(self, reply: dict[str, Any], hit_memory: bool, hit_pids: bool) -> str:
        limits = self.limits
        if reply.get("t") != "died":
            error = reply.get("error") or {}
            message = error.get("message", "")
            if message in ("MemoryError", "out of memory") or (hit_memory and message == ""):
                return f"memory limit {limits.memory_mb} MB exceeded"
            if hit_pids:
                return f"process limit {limits.max_processes} reached: {message}"
            if error.get("socket_refused") is True and not limits.network:
                # The plugin's own error says "Operation not permitted": say why.
                return message + NO_NETWORK_HINT.format(name=self.plugin)
            return message
        if reply.get("timed_out"):
            return f"timed out after {format_duration(float(reply.get('timeout') or limits.timeout))}"
        if hit_memory:
            return f"memory limit {limits.memory_mb} MB exceeded"
        sig = int(reply["signal"]) if reply.get("signal") is not None else None
        # SIGXCPU comes from RLIMIT_CPU alone; a SIGKILL after much CPU is its hard limit (SIGXCPU ignored).
        # (rusage under-reports CPU time compared with the kernel's rlimit accounting, hence the margin.)
        cpu = float(reply.get("cpu") or 0)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits.cpu_seconds * 0.5):
            return f"CPU time limit {limits.cpu_seconds}s exceeded"
        if sig is not None:
            try:
                return f"plugin process killed by signal {signal.Signals(sig).name}"
            except ValueError:
                return f"plugin process killed by signal {sig}"
        if reply.get("code") is not None:
            return f"plugin process exited with status {reply['code']} without a result"
        return str(reply.get("reason") or "plugin worker died")

    # --- reading the worker ----------------------------------------------------------------------------
    async def _read_frames(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            while True:
                body = await wire.read_body(self.proc.stdout)
                if body is None:
                    break
                stamp = _STAMP.search(body, max(0, len(body) - 48))
                if stamp is None:  # the zygote's own frame
                    self._dispatch(wire.decode(body))
                    continue
                # A child's frame (plugin code wrote it): a bad one fails its own execution only.
                problem = self._oversized(body)
                if problem is None:
                    try:
                        msg = wire.decode(body)
                    except ValueError as err:
                        problem = f"plugin sent an invalid frame: {err}"
                    else:
                        self._dispatch(msg)
                        continue
                self._refuse(int(stamp.group(1)), problem)
        except Exception as err:  # a malformed frame of the zygote: the worker is not trustworthy any more
            log.error("sandbox: plugin=%s protocol error from worker: %s", self.plugin, err)
        self._fail_pending({"t": "died", "reason": "plugin worker died"})
        if not self.dead:
            self.retire()
            await self.stop(grace=0)

    def _oversized(self, body: bytes) -> str | None:
        """Why a child's frame is too big to decode (None: it is not). The zygote already refused frames
        over the output limit; decoding could still multiply one by 20 or more (`[{},{},...]`): values are
        counted first, with byte counts (and, for large frames only, without the strings' contents)."""
        mb = self.limits.max_output_mb
        limit = mb << 20
        if len(body) > limit + 64:  # the stamp
            return f"output limit {mb} MB exceeded (a frame of {len(body)} bytes)"
        most = limit // VALUE_BYTES
        if body.count(b",") + body.count(b":") > most:
            bare = _STRING.sub(b'""', body)
            if bare.count(b",") + bare.count(b":") > most:
                return f"output limit {mb} MB exceeded (more than {most} JSON values)"
        return None

    def _refuse(self, run_id: int, reason: str) -> None:
        """Fail one execution for a frame it sent: the zygote kills it, the server answers for it."""
        pending = self.pending.get(run_id)
        if pending is None or pending.future.done():
            return
        log.warning("sandbox: plugin=%s execution refused: %s", self.plugin, reason)
        if self.proc is not None and self.proc.stdin is not None and not self.dead:
            with contextlib.suppress(Exception):
                self.proc.stdin.write(wire.encode({"t": "kill", "id": run_id}))
        pending.future.set_result({"t": "died", "id": run_id, "src": "server", "reason": reason, "contained": True})

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("t")
        try:
            run_id = int(msg.get("id"))  # exact decoding gives JSONNumber (text)
        except (TypeError, ValueError):
            return
        pending = self.pending.get(run_id)
        if pending is None:
            return  # a late frame of an execution already answered
        if kind in ("done", "died"):
            if not pending.future.done():
                pending.future.set_result(msg)
        elif kind == "call" and msg.get("src") == "child" and not pending.future.done():
            if pending.in_call:  # the SDK's calls are synchronous: plugin code wrote this frame itself
                self._refuse(run_id, "plugin made a host call while another was in flight")
                return
            pending.call_count += 1
            if pending.call_count > MAX_HOST_CALLS:
                self._answer({"t": "reply", "id": run_id, "call": _int(msg.get("call")), "ok": False,
                              "error": {"kind": "fatal", "message": f"host call budget of {MAX_HOST_CALLS} "
                                                                    "calls per execution exhausted"}})
                return
            pending.in_call = True
            task = asyncio.get_running_loop().create_task(self._host_call(msg, pending))
            pending.calls.add(task)
            task.add_done_callback(pending.calls.discard)

    async def _host_call(self, msg: dict[str, Any], pending: _Pending) -> None:
        reply: dict[str, Any] = {"t": "reply", "id": int(msg["id"]), "call": _int(msg.get("call"))}
        name, args = str(msg.get("name", "")), msg.get("args") or {}
        try:
            if pending.handler is None or pending.identity is None:
                raise HostCallError("fatal", f"host call {name!r} is not available here")
            if not isinstance(args, dict):
                raise HostCallError("client", f"host call {name!r}: arguments must be an object")
            reply.update(ok=True, result=await pending.handler(pending.identity, name, args))
        except HostCallError as err:
            reply.update(ok=False, error={"kind": err.kind, "message": err.message})
        except Exception as err:
            reply.update(ok=False, error={"kind": "server", "message": f"host call {name!r} failed: {err}"})
        pending.in_call = False  # before the answer is sent: the plugin may call again once it has it
        try:
            self._answer(reply)
        except (TypeError, ValueError) as err:
            self._answer({**reply, "ok": False, "result": None, "error": {
                "kind": "server", "message": f"host call {name!r}: unencodable result: {err}"}})

    def _answer(self, reply: dict[str, Any]) -> None:
        if self.proc is not None and self.proc.stdin is not None and not self.dead:
            self.proc.stdin.write(wire.encode(reply))

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()
            if text.startswith("sandbox: layer="):
                continue  # reported from the handshake, with the plugin's name
            log.info("worker %s: %s", self.plugin, text)

    def _fail_pending(self, reply: dict[str, Any]) -> None:
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_result(dict(reply))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError("no answer from the plugin worker"))


_KILL_LIMITS = (("memory limit", "memory"), ("timed out after", "timeout"), ("CPU time limit", "cpu"),
                ("process limit", "processes"), ("plugin process killed by signal", "signal"),
                ("output limit", "output"))


def _count_kill(message: str) -> None:
    """`utask_sandbox_kills{limit}`: the limit named by the death message, if it names one."""
    for prefix, limit in _KILL_LIMITS:
        if message.startswith(prefix):
            from utask.core.metrics import METRICS

            METRICS.sandbox_kills.labels(limit=limit).inc()
            return

