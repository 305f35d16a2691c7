"""The catalog process: one confined process that loads every plugin at once, for start-up.

Start-up needs from plugins only what they say about themselves (the worker-side handshake: protocol,
metadata, whether they load at all) and the validation of every step configuration the templates use.
Spawning one warm worker per plugin for that costs a confined interpreter per plugin; this process is
confined exactly like a worker (same boot, same layers; the strictest profile: no network, nothing
writable but its scratch), loads every plugin the server lists in `policy["source"]["catalog"]`, answers
the handshake for all of them, then serves `validate`/`resources` requests one after the other, in
process (no fork: it only ever runs configuration checks), until the server stops it.

Frames are those of a worker (`wire`): `{"t": "run", "id": n, "op": ..., "plugin": name, "base": ...,
"config": ..., "timeout": s}` in, `{"t": "done", "id": n, "ok": ..., ...}` out; `{"t": "stop"}` or the end
of the pipe ends it. A check running past its timeout is interrupted (SIGALRM) and reported as such.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from .config import format_duration
from .zygote import _read_exact, _write_all, open_hello


class _Expired(BaseException):  # not an Exception: plugin code catching Exception must not swallow it
    pass


def _expire(signum: int, frame: Any) -> None:
    raise _Expired()


def serve(policy: dict[str, Any], report: Any, proto_in: int, proto_out: int) -> None:
    """Handshake for every plugin, then the request loop. Runs confined."""
    hello = open_hello(policy, report, proto_out)
    from utask_sdk import _runtime, protocol

    plugins: dict[str, Any] = {}
    described: dict[str, Any] = {}
    for item in policy["source"]["catalog"]:
        name = item["plugin"]
        try:
            plugins[name] = _runtime.load_plugin(item["source"], name, item.get("settings"), preload=False)
            described[name] = {"plugin": plugins[name].describe()}
        except Exception as err:  # one plugin that does not load must not hide the others
            described[name] = {"error": f"cannot load plugin: {type(err).__name__}: {err}"}
    hello["plugins"] = described
    _write_all(proto_out, protocol.frame(hello))

    signal.signal(signal.SIGALRM, _expire)
    scratch = policy["scratch"]
    os.chdir(scratch)  # where an execution runs, so relative paths resolve alike
    default_timeout = float(policy["limits"]["timeout"])
    while True:
        try:
            body = _read_exact(proto_in, protocol.frame_size(_read_exact(proto_in, 4)))
        except EOFError:  # the server is gone
            os._exit(0)
        msg = protocol.loads(body)
        if msg.get("t") == "stop":
            os._exit(0)
        if msg.get("t") != "run":
            continue
        plugin = plugins.get(str(msg.get("plugin")))
        timeout = float(msg.get("timeout") or default_timeout)
        if plugin is None:
            reply = {"ok": False, "error": {"kind": "fatal", "message": f"plugin {msg.get('plugin')!r} not loaded"}}
        elif msg.get("op") not in ("validate", "resources"):
            reply = {"ok": False, "error": {"kind": "fatal", "message": f"operation {msg.get('op')!r} is not "
                                                                        "served by the catalog"}}
        else:
            try:
                signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    reply = _runtime.handle(plugin, msg, None, scratch)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except _Expired:
                reply = {"ok": False, "error": {"kind": "server", "message": f"timed out after "
                                                                             f"{format_duration(timeout)}"}}
        try:
            frame = protocol.frame({"t": "done", "id": msg.get("id"), **reply})
        except (TypeError, ValueError) as err:
            frame = protocol.frame({"t": "done", "id": msg.get("id"), "ok": False,
                                    "error": {"kind": "fatal", "message": f"unencodable reply: {err}"}})
        _write_all(proto_out, frame)
