"""PluginHost: the engine's only door to plugin code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace
from typing import Any

import pluggy
from utask.core.sandbox import SandboxConfig, parse_sandbox_config, supervisor
from utask_sdk import protocol

from . import wire
from .manager import PluginEntry, action_plugins, build_manager
from .model import (
    ExecutionIdentity,
    ExecutionResult,
    HostCallHandler,
    PluginConfigError,
    PluginRefusedError,
    StepFailure,
)
from .worker import Worker, WorkerStartError

log = logging.getLogger("utask.plugins")


class _Pool:
    """The workers of one plugin: the current one, and retiring ones finishing their executions."""

    def __init__(self, host: PluginHost, entry: PluginEntry) -> None:
        self.host, self.entry = host, entry
        name = entry.plugin.name
        self.limits = _with_settings(host.config.limits_for(name, _declared(entry)), entry,
                                     host.plugin_settings.get(name))
        self.required = host.config.required_for() - set(host.skip_layers)
        self.current: Worker | None = None
        self.workers: set[Worker] = set()
        self.lock = asyncio.Lock()
        self.slots = asyncio.Semaphore(self.limits.max_parallel)
        self.hello: dict[str, Any] = {}
        # Recycling after `max_executions` is foreseeable: the successor is spawned in the background a
        # little before (a cold confined spawn costs 100+ ms, during which every execution of the plugin
        # used to wait), then takes over exactly when the current worker retires, as before. Only for
        # limits worth it (small test limits keep the plain spawn-on-demand).
        limit = self.limits.max_executions
        margin = max(self.limits.max_parallel, limit // 10)
        self.prestart_at = limit - margin if limit >= 100 and margin < limit else None
        self.successor: asyncio.Task | None = None

    async def worker(self) -> Worker:
        async with self.lock:
            # The pool's semaphore already caps executions in flight at max_parallel: a worker is replaced
            # only once it is retiring (timeout, OOM, crash, N executions) or dead.
            current = self.current
            if current is None or current.dead or current.retiring:
                self.current = current = await self._next()
            elif (self.successor is None and self.prestart_at is not None
                  and current.executions >= self.prestart_at):
                self.successor = asyncio.get_running_loop().create_task(self._start())
            return current

    async def _next(self) -> Worker:
        """The successor spawned ahead of time if it started fine, else a worker spawned now."""
        successor, self.successor = self.successor, None
        if successor is not None and not successor.cancelled():
            try:
                worker = await successor
            except Exception:  # noqa: BLE001 - spawning again reports the failure as it always did
                worker = None
            if worker is not None and not worker.dead and not worker.retiring:
                return worker
        return await self._start()

    async def _start(self) -> Worker:
        entry = self.entry
        must_read = [p for p in [_module_dir(entry)] if p]
        worker = Worker(entry.plugin.name, entry.source, self.limits, must_read, self.host.skip_layers)
        try:
            self.hello = await worker.start()
        except WorkerStartError as err:
            raise PluginRefusedError({entry.plugin.name: str(err)}) from None
        missing = {k: v for k, v in worker.layers.get("missing", {}).items() if k in self.required}
        if missing:
            await worker.stop(grace=0)
            raise PluginRefusedError({entry.plugin.name: "required sandbox layer(s) missing: " + "; ".join(
                f"{layer} ({why})" for layer, why in sorted(missing.items()))})
        self.workers.add(worker)
        worker._stopped.clear()
        asyncio.get_running_loop().create_task(self._forget_when_stopped(worker))
        return worker

    async def _forget_when_stopped(self, worker: Worker) -> None:
        await worker._stopped.wait()
        self.workers.discard(worker)

    async def stop(self) -> None:
        successor, self.successor = self.successor, None
        if successor is not None:  # still starting: its own start tears it down; started: in self.workers
            successor.cancel()
            await asyncio.gather(successor, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in list(self.workers)), return_exceptions=True)
        self.workers.clear()
        self.current = None


def _declared(entry: PluginEntry) -> dict[str, Any]:
    profile = entry.plugin.sandbox
    declared: dict[str, Any] = dict(profile.limits)
    if profile.network:  # a request; not asking must not override the operator's defaults
        declared["network"] = True
    if profile.writable_paths:
        declared["writable_paths"] = list(profile.writable_paths)
    if profile.readable_paths:
        declared["readable_paths"] = list(profile.readable_paths)
    return declared


def _with_settings(limits: Any, entry: PluginEntry, given: dict[str, Any] | None) -> Any:
    """The plugin's settings: its defaults < what the composition root passes (`plugin_settings`, e.g. the
    `--scripts-path` flag) < the operator's `sandbox.plugins.<name>.settings`. Settings the profile names in
    `readable_settings` are host paths: made absolute (the worker's cwd is not the server's) and readable."""
    plugin = entry.plugin
    settings = {**dict(getattr(plugin, "default_settings", None) or {}), **dict(given or {}), **limits.settings}
    readable = list(limits.readable_paths)
    for key in getattr(plugin.sandbox, "readable_settings", ()) or ():
        value = settings.get(key)
        if isinstance(value, str) and value:
            settings[key] = os.path.abspath(value)
            if settings[key] not in readable:
                readable.append(settings[key])
    return replace(limits, settings=settings, readable_paths=tuple(readable))


def _module_dir(entry: PluginEntry) -> str | None:
    import sys

    module = sys.modules.get(type(entry.plugin).__module__)
    path = getattr(module, "__file__", None)
    return os.path.dirname(path) if path else None


class PluginHost:
    """Runs action plugins in sandboxed warm workers.

    `from_config(sandbox_cfg)` discovers plugins (entry points of `utask.plugins`, plus `modules` given by
    dotted name, e.g. in tests); `start()` spawns one worker per plugin and refuses incompatible ones.
    """

    def __init__(self, config: SandboxConfig, entries: dict[str, PluginEntry], strict: bool = True,
                 skip_layers: tuple[str, ...] = (),
                 plugin_settings: dict[str, dict[str, Any]] | None = None) -> None:
        self.config = config
        # Server-side settings by plugin name (e.g. {"script": {"scripts_path": ...}} from `--scripts-path`).
        self.plugin_settings = dict(plugin_settings or {})
        # For tests only: switch single layers off to show what each one stops by itself.
        self.skip_layers = tuple(skip_layers)
        self.entries = entries
        self.strict = strict
        self.refused: dict[str, str] = {}
        self.pools: dict[str, _Pool] = {}
        self.plugin_manager: pluggy.PluginManager | None = None
        self._started = False

    @classmethod
    def from_config(cls, sandbox_cfg: Any = None, *, modules: tuple[str, ...] | list[str] = (),
                    entry_points: bool = True, strict: bool = True,
                    skip_layers: tuple[str, ...] = (),
                    plugin_settings: dict[str, dict[str, Any]] | None = None) -> PluginHost:
        config = parse_sandbox_config(sandbox_cfg)
        pm = build_manager(tuple(modules), entry_points=entry_points)
        host = cls(config, action_plugins(pm), strict=strict, skip_layers=skip_layers,
                   plugin_settings=plugin_settings)
        host.plugin_manager = pm  # init plugins' hooks: pm.hook.utask_auth_providers(), ...
        return host

    async def start(self) -> None:
        supervisor.acquire()
        for name, entry in self.entries.items():
            if not protocol.compatible(entry.plugin.protocol, wire.PROTOCOL_VERSION):
                self.refused[name] = (f"plugin {name!r} speaks protocol {entry.plugin.protocol}, this server speaks "
                                      f"{wire.PROTOCOL_VERSION}: incompatible major version")
                continue
            self.pools[name] = _Pool(self, entry)
        self._started = True
        results = await asyncio.gather(*(pool.worker() for pool in self.pools.values()), return_exceptions=True)
        for name, result in zip(list(self.pools), results, strict=True):
            if isinstance(result, PluginRefusedError):
                self.refused.update(result.refused)
                await self.pools.pop(name).stop()
            elif isinstance(result, BaseException):
                self.refused[name] = f"{type(result).__name__}: {result}"
                await self.pools.pop(name).stop()
        for name, why in self.refused.items():
            log.error("plugin %r refused: %s", name, why)
        if self.refused and self.strict:
            await self.stop()
            raise PluginRefusedError(self.refused)

    async def stop(self) -> None:
        await asyncio.gather(*(pool.stop() for pool in self.pools.values()), return_exceptions=True)
        if self._started:
            self._started = False
            await asyncio.get_running_loop().run_in_executor(None, supervisor.release)

    async def __aenter__(self) -> PluginHost:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- queries ---------------------------------------------------------------------------------------
    def action_types(self) -> list[str]:
        return sorted(self.pools)

    def context_template(self, action_type: str, step_name: str) -> dict[str, Any] | None:
        entry = self.entries.get(action_type)
        return None if entry is None else entry.plugin.context(step_name)

    def describe(self) -> list[dict[str, Any]]:
        """One row per discovered plugin, for `utask plugins`."""
        rows = []
        for name, entry in sorted(self.entries.items()):
            pool = self.pools.get(name)
            layers = pool.hello.get("layers", {}) if pool else {}
            limits = pool.limits if pool else _with_settings(self.config.limits_for(name, _declared(entry)), entry,
                                                             self.plugin_settings.get(name))
            rows.append({
                "name": name, "version": entry.plugin.version, "distribution": entry.distribution,
                "protocol": entry.plugin.protocol, "network": limits.network, "limits": limits.to_dict(),
                "status": "refused" if name in self.refused else ("ready" if pool else "not started"),
                "refused": self.refused.get(name), "layers_applied": layers.get("applied", []),
                "layers_missing": layers.get("missing", {}), "layer_notes": layers.get("notes", {}),
            })
        return rows

    # --- operations ------------------------------------------------------------------------------------
    async def _run(self, action_type: str, msg: dict[str, Any], identity: ExecutionIdentity | None = None,
                   handler: HostCallHandler | None = None, timeout: float | None = None) -> dict[str, Any]:
        pool = self.pools.get(action_type)
        if pool is None:
            why = self.refused.get(action_type)
            message = f"No runner for type '{action_type}'" + (f" (refused: {why})" if why else "")
            return {"t": "done", "ok": False, "error": {"kind": "fatal", "message": message}, "message": message}
        async with pool.slots:
            try:
                worker = await pool.worker()
            except PluginRefusedError as err:
                message = str(err)
                return {"t": "done", "ok": False, "error": {"kind": "fatal", "message": message}, "message": message}
            return await worker.request(msg, identity, handler, timeout)

    async def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        reply = await self._run(action_type, {"op": "validate", "base": base_config, "config": config})
        if reply.get("t") != "done" or not reply.get("ok"):
            raise PluginConfigError(reply.get("message") or (reply.get("error") or {}).get("message", "invalid"))

    async def resources(self, action_type: str, base_config: Any, config: Any) -> list[str]:
        reply = await self._run(action_type, {"op": "resources", "base": base_config, "config": config})
        if reply.get("t") != "done" or not reply.get("ok"):
            raise PluginConfigError(reply.get("message") or "cannot compute resources")
        return [str(r) for r in reply.get("resources") or []]

    async def execute(self, action_type: str, *, base_config: Any = None, config: Any = None,
                      context: dict[str, Any] | None = None, identity: ExecutionIdentity,
                      host_calls: HostCallHandler | None = None, timeout: float | None = None) -> ExecutionResult:
        msg = {"op": "execute", "base": base_config, "config": config, "context": context,
               "identity": identity.to_dict()}
        reply = await self._run(action_type, msg, identity, host_calls, timeout)
        logs = [str(line) for line in reply.get("logs") or []]
        for text in (reply.get("stdout"), reply.get("stderr")):
            if text:
                logs += [f"OUTPUT {line}" for line in str(text).splitlines()]
        if reply.get("t") == "done" and reply.get("ok"):
            tags = reply.get("tags") or {}
            return ExecutionResult(reply.get("output"), reply.get("metadata"),
                                   {str(k): str(v) for k, v in tags.items()}, None, logs)
        if reply.get("t") == "done":
            kind = (reply.get("error") or {}).get("kind", "server")
            with contextlib.suppress(Exception):
                kind = kind if kind in ("client", "server", "fatal", "waiting", "retry") else "server"
            return ExecutionResult(reply.get("output"), reply.get("metadata"), {}, StepFailure(kind, reply["message"]),
                                   logs)
        return ExecutionResult(None, None, {}, StepFailure("server", reply.get("message") or "plugin worker died"),
                               logs)
