"""A hostile action plugin for the sandbox tests: `{"do": <attack>, ...}` tries one thing and reports."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import time
from typing import Any

from utask_sdk import ActionPlugin, Result, hookimpl


def _errno(fn) -> dict[str, Any]:
    try:
        value = fn()
        return {"ok": True, "value": value}
    except OSError as err:
        return {"ok": False, "errno": err.errno, "error": f"{type(err).__name__}: {err}"}


def _status() -> dict[str, str]:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _write(path: str, size: int = 16) -> int:
    with open(path, "wb") as f:
        return f.write(b"x" * size)


def _spawn_children() -> dict[str, int]:
    """A child in our process group, and a double-forked setsid daemon that escapes killpg."""
    child = subprocess.Popen(["sleep", "300"])
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            time.sleep(300)
        os._exit(0)
    daemon = int(os.read(r, 32))
    return {"child": child.pid, "daemon": daemon}


_TAINT: list[int] = []  # state a previous execution would leave behind, were processes reused


class Attack(ActionPlugin):
    name = "attack"
    version = "1.0.0"

    def validate(self, config: dict[str, Any]) -> None:  # a configuration check that hangs or crashes
        if config.get("validate_sleep"):
            time.sleep(float(config["validate_sleep"]))
        if config.get("validate_exit") is not None:
            os._exit(int(config["validate_exit"]))

    def execute(self, ctx, config: dict[str, Any]) -> Any:
        do = config["do"]
        if do == "memory":  # touch 16 MiB chunks until something stops us
            chunks = []
            for _ in range(256):
                chunks.append(bytearray(16 * 1024 * 1024))
            return {"allocated_mb": 16 * len(chunks)}
        if do == "spin":
            while True:
                pass
        if do == "sleep":
            time.sleep(float(config.get("seconds", 60)))
            return {"slept": True}
        if do == "cpu_burn":  # a fixed amount of CPU, timed on the wall clock
            start, cpu0 = time.monotonic(), time.process_time()
            while time.process_time() - cpu0 < float(config["cpu"]):
                pass
            return {"wall": time.monotonic() - start}
        if do == "fork":
            pids, error = [], None
            try:
                for _ in range(int(config.get("count", 200))):
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(30)
                        os._exit(0)
                    pids.append(pid)
            except OSError as err:
                error = err.errno
            return {"forked": len(pids), "errno": error}
        if do == "write":
            return _errno(lambda: _write(config["path"], int(config.get("size", 16))))
        if do == "open_files":
            files, error = [], None
            try:
                for i in range(int(config.get("count", 1000))):
                    files.append(open(os.path.join(ctx.scratch_dir, f"f{i}"), "w"))  # noqa: SIM115 (kept open on purpose)
            except OSError as err:
                error = err.errno
            return {"opened": len(files), "errno": error}
        if do == "connect":
            return _errno(lambda: socket.create_connection((config["host"], int(config["port"])), timeout=1).close())
        if do == "read":
            return _errno(lambda: open(config["path"], "rb").read(64).decode("latin-1"))
        if do == "listdir":
            return _errno(lambda: os.listdir(config["path"]))
        if do == "kill":
            return _errno(lambda: os.kill(int(config["pid"]), 0))
        if do == "syscall":
            libc = ctypes.CDLL(None, use_errno=True)
            args = [ctypes.c_long(int(a)) for a in config.get("args", [])]
            ret = libc.syscall(ctypes.c_long(int(config["nr"])), *args)
            return {"ret": ret, "errno": ctypes.get_errno() if ret < 0 else 0}
        if do == "inspect":
            scratch_before = sorted(os.listdir(ctx.scratch_dir))
            status = _status()
            with open("/proc/net/dev") as f:
                interfaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
            return {
                "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
                "cap_eff": status["CapEff"], "seccomp": status["Seccomp"], "no_new_privs": status["NoNewPrivs"],
                "environ": dict(os.environ), "interfaces": interfaces, "hostname": socket.gethostname(),
                "cwd": os.getcwd(), "scratch": ctx.scratch_dir, "pid": os.getpid(), "ppid": os.getppid(),
                "scratch_before": scratch_before, "tainted": bool(_TAINT),
                "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
                "scratch_write": _errno(lambda: _write(os.path.join(ctx.scratch_dir, "probe"))),
                "umask_mode": oct(os.stat(os.path.join(ctx.scratch_dir, "probe")).st_mode & 0o777),
                "executable": sys.executable,
            }
        if do == "taint":  # module state, environment and scratch files, none of which may reach the next one
            _TAINT.append(1)
            os.environ["TAINTED"] = "1"
            _write(os.path.join(ctx.scratch_dir, "left-behind"))
            return {"pid": os.getpid()}
        if do == "leave_children":
            return _spawn_children()
        if do == "hostcall_then_hang":
            ctx.host.call("report", **_spawn_children())
            time.sleep(300)
        if do == "hostcall":
            return {"value": ctx.host.call(config["name"], **config.get("args", {}))}
        if do == "log":
            ctx.logger.info("hello from %s", ctx.step_name)
            print("printed line")
            return Result(output={"step": ctx.step_name, "task": ctx.task_id}, metadata={"m": 1},
                          tags={"k": "v"})
        if do == "random":
            import random
            import threading

            box: list[float] = []
            worker = threading.Thread(target=lambda: box.append(random.random()))
            worker.start()
            worker.join()
            return {"random": random.random(), "from_thread": box[0]}
        if do == "crash":
            os.abort()
        raise ValueError(f"unknown attack {do!r}")


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Attack()]
