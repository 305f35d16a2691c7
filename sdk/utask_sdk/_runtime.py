"""Runs one operation of a plugin inside the sandbox: the SDK half of the worker.

The sandbox's zygote loads the plugin once (`load_plugin`), then forks a child per request that calls
`handle`. Everything here is plain data in and out, so it can also be exercised without a sandbox.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import importlib
import sys
import traceback
from typing import Any

import pluggy

from . import config as config_mod
from . import hookspecs, protocol
from .context import Context, HostCalls, Transport, step_logger
from .errors import PluginError
from .plugin import ActionPlugin, Result


def plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def load_source(pm: pluggy.PluginManager, source: dict[str, Any]) -> None:
    """Register one plugin source: `{"entry_point": name, "dist": dist}` or `{"module": dotted.name}`."""
    if "module" in source:
        module = importlib.import_module(source["module"])
        pm.register(module, name=source["module"])
        return
    if "value" in source:
        # The server resolved the entry point already: skip importlib.metadata (a slower fork afterwards).
        module_name, _, attr = source["value"].partition(":")
        obj: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        pm.register(obj, name=source["entry_point"])
        return
    from importlib import metadata

    for ep in metadata.entry_points(group="utask.plugins", name=source["entry_point"]):
        dist = getattr(ep, "dist", None)
        if source.get("dist") and dist is not None and dist.name != source["dist"]:
            continue
        pm.register(ep.load(), name=ep.name)
        return
    raise LookupError(f"entry point {source['entry_point']!r} of group utask.plugins not found")


def action_plugins(pm: pluggy.PluginManager) -> list[ActionPlugin]:
    return [p for batch in pm.hook.utask_action_plugins() for p in (batch or [])]


def load_plugin(source: dict[str, Any], name: str, settings: dict[str, Any] | None = None,
                preload: bool = True) -> ActionPlugin:
    """The plugin `name` of `source`, with its settings; `preload`: import its `preload` modules too (a warm
    worker does, so its forked executions inherit them; the start-up catalog process does not)."""
    pm = plugin_manager()
    load_source(pm, source)
    for plugin in action_plugins(pm):
        if plugin.name == name:
            # The server's settings for this plugin (already merged with its defaults by the host).
            plugin.settings = dict(plugin.default_settings) | dict(settings or {})
            for module in plugin.preload if preload else ():
                importlib.import_module(module)
            return plugin
    raise LookupError(f"plugin source {source} provides no action plugin named {name!r}")


def warm_up(plugin: ActionPlugin) -> None:
    """Run the SDK's own code paths once in the zygote, so forked executions find caches filled."""
    if plugin.config_model is not None:
        config_mod._field_types(plugin.config_model)
    logger, _handler = step_logger("warm-up")
    logger.debug("warm-up")
    Context(host=HostCalls(None), logger=logger)
    # Repeated so CPython's specialising interpreter settles these code paths here, once, instead of
    # rewriting their inline caches (copy-on-write faults) in every forked execution.
    request = {"op": "execute", "base": {"a": 1}, "config": {"b": [1.5, "x"]}, "identity": {"step_name": "s"}}
    for _ in range(16):
        with contextlib.suppress(Exception):  # warming must never stop a worker
            reply = handle(_NullPlugin(), request, None, "/")
            protocol.loads(protocol.frame({"t": "done", **reply})[4:])
    # The plugin's own configuration decoding, on a configuration of nulls (valid for any field); only for a
    # plain dataclass, whose construction runs none of the plugin's code (no __post_init__, no validators).
    model = plugin.config_model
    if model is not None and dataclasses.is_dataclass(model) and not hasattr(model, "__post_init__"):
        with contextlib.suppress(Exception):
            nulls = dict.fromkeys(config_mod._field_types(model))
            for _ in range(16):
                with contextlib.suppress(Exception):
                    config_mod.decode(config_mod.merge(None, nulls, model), model)


class _NullPlugin(ActionPlugin):
    name = "_warm_up"

    def execute(self, ctx: Any, config: Any) -> Any:
        return Result(output=None)


def _prepare(plugin: ActionPlugin, request: dict[str, Any]) -> Any:
    model = plugin.config_model
    raw = config_mod.merge(request.get("base"), request.get("config"), model)
    return config_mod.decode(raw, model)


def handle(plugin: ActionPlugin, request: dict[str, Any], transport: Transport | None, scratch: str,
           log_fd: int | None = None, log_budget: int = 1 << 20) -> dict[str, Any]:
    """Run `request["op"]` (validate | resources | execute) and describe the outcome as a reply frame.

    `log_fd`: the execution's log file, where the step logger also writes each line as it is emitted (at
    most `log_budget` bytes), so that lines logged before the sandbox kills the execution survive."""
    op = request.get("op")
    handler = None
    try:
        if op == "validate":
            plugin.validate(_prepare(plugin, request))
            return {"ok": True}
        if op == "resources":
            return {"ok": True, "resources": [str(r) for r in plugin.resources(_prepare(plugin, request)) or []]}
        if op != "execute":
            return _failure("fatal", f"unknown operation {op!r}")
        identity = request.get("identity") or {}
        logger, handler = step_logger(identity.get("step_name", ""), log_fd, log_budget)
        ctx = Context(
            step_name=identity.get("step_name", ""),
            task_id=identity.get("task_id", ""),
            resolution_id=identity.get("resolution_id", ""),
            scratch_dir=scratch,
            context=request.get("context"),
            identity=identity,
            settings=plugin.settings,
            host=HostCalls(transport),
            logger=logger,
        )
        try:
            cfg = _prepare(plugin, request)
        except PluginError as err:  # decoding errors at execution time are plain errors (reference §5.14)
            return _failure("server", str(err), handler=handler)
        value = plugin.execute(ctx, cfg)
        if isinstance(value, Result):
            return {"ok": True, "output": value.output, "metadata": value.metadata,
                    "tags": dict(value.tags or {}), "logs": handler.lines, "logs_dropped": handler.dropped}
        return {"ok": True, "output": value, "metadata": None, "tags": {}, "logs": handler.lines,
                "logs_dropped": handler.dropped}
    except PluginError as err:
        return _failure(err.kind, str(err), output=err.output, metadata=err.metadata, handler=handler,
                        socket=op == "execute" and _socket_refusal(err))
    except SystemExit as err:  # not an Exception: without this the process would end with status 1
        code = "" if err.code is None else repr(err.code)
        return _failure("server", f"plugin called sys.exit({code}) without a result", handler=handler)
    except Exception as err:
        if handler is not None:
            handler.lines.append("ERROR " + "".join(traceback.format_exception(err)).rstrip())
        return _failure("server", str(err) or type(err).__name__, handler=handler,
                        socket=op == "execute" and _socket_refusal(err))


def _failure(kind: str, message: str, output: Any = None, metadata: Any = None, handler: Any = None,
             socket: bool = False) -> dict[str, Any]:
    error: dict[str, Any] = {"kind": kind, "message": message}
    if socket:
        error["socket_refused"] = True  # the server adds a hint when the plugin's profile has no network
    return {"ok": False, "error": error, "output": output, "metadata": metadata, "tags": {},
            "logs": handler.lines if handler is not None else [],
            "logs_dropped": handler.dropped if handler is not None else 0}


# What a sandbox without network answers a socket call: seccomp refuses creating a socket other than
# AF_UNIX (EPERM), Landlock refuses TCP connect/bind (EACCES), the private network namespace has no route
# (ENETUNREACH).
_REFUSED_ERRNOS = frozenset({errno.EPERM, errno.EACCES, errno.ENETUNREACH})
# Socket calls a plugin (or a library) makes on a socket object: C methods, so the refusal is raised in the
# caller's frame, not in the socket module's.
_SOCKET_CALLS = frozenset({"connect", "connect_ex", "bind", "sendto", "sendmsg", "listen", "create_connection",
                           "create_server", "socket", "socketpair", "fromfd"})


def _socket_refusal(err: BaseException) -> bool:
    """Did the execution fail because a socket operation was refused (as without network)? Looks at the
    exception and the ones it was raised from or while handling (libraries wrap socket errors): an
    OSError of a refusal errno raised inside the `socket` module (socket creation, create_connection), or
    by a socket call such as `sock.connect(...)`. A file permission error is none of these."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _REFUSED_ERRNOS and _raised_by_socket_call(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _raised_by_socket_call(err: OSError) -> bool:
    if err.filename is not None:  # file operations name their file; socket calls never do
        return False
    socket_file = getattr(sys.modules.get("socket"), "__file__", None)  # not loaded: no frame of it
    tb = err.__traceback__
    last = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == socket_file:
            return True
        last = tb
        tb = tb.tb_next
    return last is not None and _called_name(last.tb_frame.f_code, last.tb_lasti) in _SOCKET_CALLS


def _called_name(code: Any, lasti: int) -> str | None:
    """The name of the function or method called by the instruction at `lasti`: the last name loaded
    before it whose source span starts where the call's does (`sock.connect((self.host, port))` loads
    `sock`, `connect`, then `host` for an argument: the callee is `connect`)."""
    import dis

    instructions = [ins for ins in dis.get_instructions(code) if ins.offset <= lasti]
    if not instructions:
        return None
    start = instructions[-1].positions
    name = None
    for ins in instructions[:-1]:
        if ins.opname in ("LOAD_METHOD", "LOAD_ATTR", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_FAST"):
            pos = ins.positions
            if start is None or start.col_offset is None or pos is None or (
                    (pos.lineno, pos.col_offset) == (start.lineno, start.col_offset)):
                name = ins.argval
    return name
