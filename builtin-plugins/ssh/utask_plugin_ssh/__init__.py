"""The ssh action plugin (reference §10.7), on asyncssh.

Like µTask: public-key authentication only, host keys not verified, a 10 s dial timeout. Without hops the
script is the command; with hops the first hop is dialled and given `hop2 -- ... -- target` as its command
(the bastion's own syntax) with the script on stdin. The session is killed at `timeout` (default 5m).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from dataclasses import dataclass
from typing import Any

from utask_sdk import (
    ActionPlugin,
    ClientError,
    ConfigError,
    Result,
    SandboxProfile,
    ServerError,
    hookimpl,
    outputs,
)
from utask_sdk.goconv import go_quote, parse_duration

MAX_HOPS = 10
CONN_TIMEOUT = 10.0
DEFAULT_TIMEOUT_NS = 5 * 60 * 1_000_000_000
MODES = [outputs.AUTO_RESULT, outputs.DISABLED, outputs.MANUAL_DELIMITERS, outputs.MANUAL_LASTLINE]
TIMEOUT_MESSAGE = "ssh session has not terminated before timeout"
# x/crypto/ssh's exit code for a session ended by a signal without exit status: 128 + the signal number.
_SIGNALS = {"ABRT": 6, "ALRM": 14, "FPE": 8, "HUP": 1, "ILL": 4, "INT": 2, "KILL": 9, "PIPE": 13, "QUIT": 3,
            "SEGV": 11, "TERM": 15, "USR1": 10, "USR2": 12}


@dataclass
class SSHConfig:
    user: str = ""
    target: str = ""
    hops: list[str] | None = None
    script: str = ""
    output_mode: str = ""
    result: dict[str, str] | None = None
    output_manual_delimiters: list[str] | None = None
    ssh_key: str = ""
    ssh_key_passphrase: str = ""
    exit_codes_unrecoverable: list[str] | None = None
    timeout: str = ""


class SSH(ActionPlugin):
    name = "ssh"
    version = "0.2"
    config_model = SSHConfig
    sandbox = SandboxProfile(network=True)
    # Imported in `_execute` only: the worker preloads it; the server (metadata) never loads it (~15 MB).
    preload = ("asyncssh",)

    def validate(self, config: SSHConfig) -> None:
        if config.user == "":
            raise ConfigError("missing ssh username")
        if config.target == "":
            raise ConfigError("missing ssh target")
        if config.ssh_key == "":
            raise ConfigError("missing ssh key")
        if len(config.hops or []) > MAX_HOPS:
            raise ConfigError(f"ssh too many hops (max {MAX_HOPS})")
        if config.timeout != "":
            try:
                ns = parse_duration(config.timeout)
            except ValueError as err:
                raise ConfigError(f"can't parse timeout field {go_quote(config.timeout)}: {err}") from None
            if ns < 0:
                raise ConfigError("timeout must be positive")
        mode = config.output_mode or outputs.AUTO_RESULT
        if config.output_mode and config.output_mode not in MODES:
            outputs.validate_output_mode(config.output_mode, MODES, config.output_manual_delimiters)
        if config.output_manual_delimiters is not None and mode != outputs.MANUAL_DELIMITERS:
            outputs.validate_output_mode(mode, MODES, config.output_manual_delimiters)
        if config.result and mode != outputs.AUTO_RESULT:
            raise ConfigError(f'invalid parameter "result", output_mode is configured to {go_quote(mode)}')
        outputs.validate_output_mode(mode, MODES, config.output_manual_delimiters)
        outputs.validate_exit_codes(config.exit_codes_unrecoverable)

    def resources(self, config: SSHConfig) -> list[str]:
        return ["socket", "url:" + config.target] + ["url:" + hop for hop in config.hops or []]

    def execute(self, ctx: Any, config: SSHConfig) -> Result:
        return asyncio.run(_execute(config))


def _host_port(target: str) -> tuple[str, int]:
    """net.SplitHostPort, with `:22` added when the port is missing (µTask retries once so)."""
    for attempt in (target, None):
        if attempt is None:
            host = target[1:-1] if target.startswith("[") and target.endswith("]") else target
            attempt = f"[{host}]:22" if ":" in host else f"{host}:22"
        if attempt.startswith("["):
            end = attempt.find("]")
            if end > 0 and attempt[end + 1:end + 2] == ":" and attempt[end + 2:].isdigit():
                return attempt[1:end], int(attempt[end + 2:])
        else:
            host, sep, port = attempt.rpartition(":")
            if sep and ":" not in host and port.isdigit():
                return host, int(port)
    raise ClientError(f"ssh plugin: host port: address {target}: missing port in address")


async def _execute(config: SSHConfig) -> Result:
    import asyncssh

    mode = config.output_mode or outputs.AUTO_RESULT
    try:
        key = asyncssh.import_private_key(config.ssh_key, config.ssh_key_passphrase or None)
    except (asyncssh.KeyImportError, ValueError, TypeError) as err:
        raise ClientError(f"ssh plugin: private key: {err}") from None
    timeout = DEFAULT_TIMEOUT_NS / 1e9
    if config.timeout:
        with contextlib.suppress(ValueError):  # validated at load
            timeout = parse_duration(config.timeout) / 1e9
    hops = list(config.hops or [])
    dial = hops[0] if hops else config.target
    rest = hops[1:] + [config.target] if hops else []
    host, port = _host_port(dial)

    script = config.script
    if mode == outputs.AUTO_RESULT:
        script = outputs.auto_result_preamble(config.result or {}) + script
    command = " -- ".join(rest) if hops else script

    # asyncssh asks for the local user name, which the sandbox's uid does not have (no passwd entry).
    os.environ.setdefault("LOGNAME", config.user)
    try:
        conn = await asyncio.wait_for(asyncssh.connect(
            host, port, username=config.user, client_keys=[key], known_hosts=None, agent_path=None,
            password=None, kbdint_auth=False, gss_auth=False, host_based_auth=False,
            preferred_auth="publickey"), CONN_TIMEOUT)
    except TimeoutError:
        raise ServerError(f"dial tcp {host}:{port}: i/o timeout") from None
    except asyncssh.PermissionDenied:
        raise ServerError("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], "
                          "no supported methods remain") from None
    except OSError as err:
        if err.errno == errno.ECONNREFUSED or isinstance(err, ConnectionRefusedError):
            raise ServerError(f"dial tcp {host}:{port}: connect: connection refused") from None
        raise ServerError(f"dial tcp {host}:{port}: {err.strerror or err}") from None
    except asyncssh.Error as err:
        raise ServerError(f"ssh: handshake failed: {err.reason}") from None

    async with conn:
        process = await conn.create_process(command, stdin=asyncssh.PIPE, stdout=asyncssh.PIPE,
                                            stderr=asyncssh.STDOUT, encoding=None)
        process.stdin.write(script.encode())
        process.stdin.write_eof()
        chunks: list[bytes] = []

        async def collect() -> None:
            while data := await process.stdout.read(65536):
                chunks.append(data)
            await process.wait_closed()

        try:
            await asyncio.wait_for(collect(), timeout if timeout > 0 else None)
        except TimeoutError:
            with contextlib.suppress(Exception):
                process.send_signal("KILL")
            process.close()
            raise ServerError(TIMEOUT_MESSAGE) from None

    status, signal_name, message = process.exit_status, "", ""
    if process.exit_signal is not None:
        signal_name, _core, message, _lang = process.exit_signal
    if status is None or status == -1:
        if not signal_name:
            raise ServerError("wait: remote command exited without exit status or exit signal")
        status = 128 + _SIGNALS.get(signal_name, 0)
    text = b"".join(chunks).decode("utf-8", "replace")
    cause = None
    if status != 0:
        cause = f"Process exited with status {status}"
        if signal_name:
            cause += f" from signal {signal_name}"
        if message:
            cause += f". Reason was: {message}"
    metadata = {"output": text, "exit_code": str(status), "exit_signal": signal_name, "exit_msg": message}
    output = outputs.result_or_error(text, mode, config.output_manual_delimiters, status,
                                     config.exit_codes_unrecoverable, cause, metadata)
    return Result(output=output, metadata=metadata)


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [SSH()]
