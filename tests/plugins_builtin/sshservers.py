"""Test SSH servers on 127.0.0.1, with asyncssh in a thread: a target running commands with bash, and a
bastion that takes `hop -- ... -- target` as its command and the script on stdin, like µTask expects."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import asyncssh

USER = "alice"


class _Auth(asyncssh.SSHServer):
    def __init__(self, authorized: asyncssh.SSHAuthorizedKeys) -> None:
        self.authorized = authorized

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == USER and self.authorized.validate(key, username, "127.0.0.1") is not None


async def _run_bash(process: asyncssh.SSHServerProcess) -> None:
    """Runs the command with bash, stdin given, stdout+stderr combined; killed when the channel closes."""
    stdin = await process.stdin.read()
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", process.command or "", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)

    async def pump() -> None:
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(ConnectionError):
            proc.stdin.write(stdin.encode() if isinstance(stdin, str) else stdin)
            await proc.stdin.drain()
            proc.stdin.close()
        while data := await proc.stdout.read(65536):
            process.stdout.write(data)

    task = asyncio.ensure_future(pump())
    while not task.done():
        await asyncio.wait([task], timeout=0.1)
        if process.is_closing() or process.channel.is_closing():
            with contextlib.suppress(ProcessLookupError):
                import os
                import signal

                os.killpg(proc.pid, signal.SIGKILL)
            task.cancel()
            return
    code = await proc.wait()
    if code < 0:
        process.exit_with_signal({9: "KILL", 15: "TERM"}.get(-code, "HUP"), False, "killed by a signal")
    else:
        process.exit(code)


class Bastion:
    """Forwards to the next hop with its own client key."""

    def __init__(self, client_key: asyncssh.SSHKey) -> None:
        self.client_key = client_key

    async def __call__(self, process: asyncssh.SSHServerProcess) -> None:
        script = await process.stdin.read()
        hops = [h.strip() for h in (process.command or "").split(" -- ")]
        host, _, port = hops[0].rpartition(":")
        rest = hops[1:]
        async with asyncssh.connect(host, int(port), username=USER, client_keys=[self.client_key],
                                    known_hosts=None, agent_path=None) as conn:
            text = script.decode() if isinstance(script, bytes) else script
            result = await conn.run(" -- ".join(rest) if rest else text, input=script,
                                    stderr=asyncssh.STDOUT, encoding=None)
        process.stdout.write(result.stdout or b"")
        if result.exit_signal:
            process.exit_with_signal(*result.exit_signal[:3])
        else:
            process.exit(result.exit_status or 0)


class SSHServers:
    """A target and two bastions (chained hops) on a private event loop in a thread."""

    def __init__(self) -> None:
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[Any] = []
        self.ports: dict[str, int] = {}

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self, name: str, factory: Any) -> None:
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        server = await asyncssh.create_server(lambda: _Auth(authorized), "127.0.0.1", 0,
                                              server_host_keys=[self.host_key], process_factory=factory,
                                              encoding=None)
        self.servers.append(server)
        self.ports[name] = server.sockets[0].getsockname()[1]

    def __enter__(self) -> SSHServers:
        self.thread.start()
        self._call(self._start("target", _run_bash))
        self._call(self._start("bastion1", Bastion(self.client_key)))
        self._call(self._start("bastion2", Bastion(self.client_key)))
        return self

    def addr(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
                await server.wait_closed()

        with contextlib.suppress(Exception):
            self._call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
