"""The script action plugin (reference §10.8): runs an executable of the server's scripts folder.

The scripts folder is server configuration (`utask serve --scripts-path`), handed to the plugin as its
`scripts_path` setting; the host adds it to the sandbox's readable paths. The script runs inside the
plugin's sandbox (its own process group; the sandbox's pids limit applies) and it and everything it
started are killed at the timeout.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, Result, SandboxProfile, ServerError, hookimpl, outputs
from utask_sdk.goconv import format_duration, go_quote, parse_duration

DEFAULT_TIMEOUT_NS = 2 * 60 * 1_000_000_000
MODES = [outputs.MANUAL_LASTLINE, outputs.DISABLED, outputs.MANUAL_DELIMITERS]


@dataclass
class ScriptConfig:
    file_path: str = ""
    argv: list[str] | None = None
    timeout: str = ""
    stdin: str = ""
    output_mode: str = ""
    output_manual_delimiters: list[str] | None = None
    exit_codes_unrecoverable: list[str] | None = None
    environment: dict[str, Any] | None = None  # a map: merged key by key over the base configuration


def go_join(base: str, name: str) -> str:
    """filepath.Join: joined and cleaned (the path µTask names in its messages)."""
    return os.path.normpath(os.path.join(base, name)) if base or name else ""


class Script(ActionPlugin):
    name = "script"
    version = "0.2"
    config_model = ScriptConfig
    default_settings = {"scripts_path": "./scripts"}  # noqa: RUF012 - µTask's --scripts-path default
    sandbox = SandboxProfile(readable_settings=("scripts_path",))

    @property
    def scripts_path(self) -> str:
        # In a worker the host resolved it; in-process (e.g. a templates check) the default applies.
        return str(self.settings.get("scripts_path") or self.default_settings["scripts_path"])

    def validate(self, config: ScriptConfig) -> None:
        if config.file_path == "":
            raise ConfigError("file is missing")
        path = go_join(self.scripts_path, config.file_path)
        try:
            st = os.stat(path)
        except OSError as err:
            raise ConfigError(f"can't stat {go_quote(path)}: stat {path}: {_strerror(err)}") from None
        if st.st_mode & 0o111 == 0:
            raise ConfigError(f"{go_quote(path)} is not executable")
        if config.timeout != "":
            if config.timeout[0] == "-":
                raise ConfigError("timeout must be positive")
            try:
                parse_duration(config.timeout)
            except ValueError as err:
                raise ConfigError(f"can't parse timeout field {go_quote(config.timeout)}: {err}") from None
        outputs.validate_output_mode(config.output_mode, MODES, config.output_manual_delimiters)
        outputs.validate_exit_codes(config.exit_codes_unrecoverable)

    def resources(self, config: ScriptConfig) -> list[str]:
        return ["fork", f"script:{config.file_path}"]

    def context(self, step_name: str) -> dict[str, Any]:
        return {"task_id": "{{ .task.task_id }}", "resolution_id": "{{ .task.resolution_id }}"}

    def execute(self, ctx: Any, config: ScriptConfig) -> Result:
        timeout_ns = DEFAULT_TIMEOUT_NS
        if config.timeout != "":
            with contextlib.suppress(ValueError):  # validated at load; Go ignores the error here too
                timeout_ns = parse_duration(config.timeout)
        mode = config.output_mode or outputs.MANUAL_LASTLINE
        context = ctx.context or {}
        env = dict(os.environ)
        env.update({
            "UTASK_TASK_ID": str(context.get("task_id", ctx.task_id)),
            "UTASK_RESOLUTION_ID": str(context.get("resolution_id", ctx.resolution_id)),
            "UTASK_STEP_NAME": ctx.step_name,
        })
        for key, value in (config.environment or {}).items():
            env[str(key)] = _text(value)
        folder = self.scripts_path
        started = time.monotonic_ns()
        code, state, out, error = _run(["./" + config.file_path, *(config.argv or [])], folder, env,
                                       config.stdin.encode(), timeout_ns / 1e9)
        elapsed = time.monotonic_ns() - started
        text = out.decode("utf-8", "replace")
        metadata = {"exit_code": str(code), "process_state": state, "output": text,
                    "execution_time": format_duration(elapsed), "error": error}
        output = outputs.result_or_error(text, mode, config.output_manual_delimiters, code,
                                         config.exit_codes_unrecoverable, error or None, metadata)
        return Result(output=output, metadata=metadata)


def _text(value: Any) -> str:
    """Go's `%s` of a decoded JSON value (fmt.Sprintf("%s=%s", k, v))."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return f"%!s(bool={'true' if value else 'false'})"
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, int | float):
        return str(value)  # json.Number (exact text) prints as itself
    return str(value)


def _strerror(err: OSError) -> str:
    return (err.strerror or str(err)).lower() if err.errno is not None else str(err)


def _run(argv: list[str], cwd: str, env: dict[str, str], stdin: bytes,
         timeout: float) -> tuple[int, str, bytes, str]:
    """Runs the command with stdout and stderr combined: (exit code, Go's process state text, output,
    Go's error text). At the timeout the process group and every descendant left are killed."""
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    except OSError as err:
        # Go: exec.Command failed to start: exit code 1, no process state.
        message = f"fork/exec ./{argv[0][2:]}: {_strerror(err)}"
        return 1, "<nil>", b"", message
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stdin is not None
    os.set_blocking(proc.stdout.fileno(), False)
    sel.register(proc.stdout, selectors.EVENT_READ)
    pending = memoryview(stdin)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    timed_out = False
    open_out = True
    while open_out:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for key, _ in sel.select(left):
            if key.fileobj is proc.stdout:
                data = proc.stdout.read(65536)
                if not data:
                    sel.unregister(proc.stdout)
                    open_out = False
                else:
                    chunks.append(data)
            else:
                try:
                    written = os.write(proc.stdin.fileno(), pending[:65536])
                    pending = pending[written:]
                except (BrokenPipeError, OSError):
                    pending = memoryview(b"")
                if not pending:
                    sel.unregister(proc.stdin)
                    proc.stdin.close()
    if timed_out:
        _kill_tree(proc.pid)
        with contextlib.suppress(OSError, ValueError):
            while data := proc.stdout.read(65536):
                chunks.append(data)
    else:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
    status = proc.wait()
    sel.close()
    with contextlib.suppress(OSError):
        proc.stdout.close()
    with contextlib.suppress(OSError):
        if not proc.stdin.closed:
            proc.stdin.close()
    if status < 0:
        state = f"signal: {_signal_text(-status)}"
        return -1, state, b"".join(chunks), state
    state = f"exit status {status}"
    return status, state, b"".join(chunks), (state if status else "")


def _signal_text(sig: int) -> str:
    """Go's syscall.Signal.String() for the usual signals."""
    names = {1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction", 6: "aborted", 7: "bus error",
             8: "floating point exception", 9: "killed", 10: "user defined signal 1", 11: "segmentation fault",
             12: "user defined signal 2", 13: "broken pipe", 14: "alarm clock", 15: "terminated"}
    return names.get(sig, f"signal {sig}")


def _kill_tree(pid: int) -> None:
    """The script's process group, then whatever else descends from us (we are a sub-reaper in the
    sandbox, so even daemons that left the group come back to us)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    me = os.getpid()
    for _ in range(50):
        kids = _children(me)
        if not kids:
            return
        for kid in kids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(kid, signal.SIGKILL)
        for kid in kids:
            if kid != pid:  # the script itself is reaped by Popen.wait, which needs its status
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(kid, 0)
        if kids == [pid]:
            return


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Script()]


__all__ = ["Script", "ScriptConfig", "ServerError"]
