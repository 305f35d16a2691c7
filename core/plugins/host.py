"""PluginHost: the engine's only door to plugin code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pluggy
from utask.core.sandbox import (
    SandboxConfig,
    SandboxConfigError,
    SandboxLimits,
    format_duration,
    parse_sandbox_config,
    supervisor,
)
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
CATALOG = "plugin-catalog"  # the name of the catalog process in logs, cgroups and scratch folders


class _Pool:
    """The workers of one plugin: the current one, and retiring ones finishing their executions.

    Life cycle: no worker until an operation needs one (`worker()`; concurrent callers wait on the lock and
    share one start); operations are counted in flight (`begin`/`end`), and once none has run for the
    host's `idle_timeout` the worker is retired (stopped) — unless the plugin is pre-started (`keep_warm`).
    """

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
        self.in_flight = 0  # operations between begin() and end()
        self.last_used = 0.0  # loop time when the last one ended
        self.keep_warm = False  # pre-started: never stopped for idleness
        self._idle_timer: asyncio.TimerHandle | None = None

    # --- life cycle: idle workers are stopped ------------------------------------------------------------
    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.touch()

    def touch(self) -> None:
        """Idle from now on: arm the idle timer (one per pool; it re-arms itself if used meanwhile)."""
        loop = asyncio.get_running_loop()
        self.last_used = loop.time()
        timeout = self.host.config.idle_timeout
        if self._idle_timer is None and not self.keep_warm and timeout > 0:
            self._idle_timer = loop.call_later(timeout, self._idle)

    def _idle(self) -> None:
        self._idle_timer = None
        if self.in_flight or self.keep_warm:
            return  # end() arms the timer again once the last operation is over
        loop = asyncio.get_running_loop()
        left = self.last_used + self.host.config.idle_timeout - loop.time()
        if left > 0:
            self._idle_timer = loop.call_later(left, self._idle)
            return
        # Nothing in flight, so nobody holds or waits for the current worker: retiring it stops it now,
        # and the next operation starts a fresh one.
        current, self.current = self.current, None
        successor, self.successor = self.successor, None
        if successor is not None:
            successor.add_done_callback(_retire_started)
            successor.cancel()
        if current is not None and not current.dead:
            log.info("plugin %r: worker stopped after %s idle", self.entry.plugin.name,
                     format_duration(self.host.config.idle_timeout))
            current.retire()

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
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        successor, self.successor = self.successor, None
        if successor is not None:  # still starting: its own start tears it down; started: in self.workers
            successor.cancel()
            await asyncio.gather(successor, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in list(self.workers)), return_exceptions=True)
        self.workers.clear()
        self.current = None


def _retire_started(task: asyncio.Task) -> None:
    """A successor started ahead of time, no longer wanted (its pool went idle)."""
    if not task.cancelled() and task.exception() is None:
        task.result().retire()


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


def _protocol_problem(name: str, declared: Any) -> str | None:
    """Why the protocol a plugin declares (its `protocol` attribute) refuses it, or None."""
    try:
        if protocol.compatible(declared, wire.PROTOCOL_VERSION):
            return None
    except (protocol.ProtocolError, AttributeError, TypeError, ValueError):
        return (f"plugin {name!r} declares protocol {declared!r}, which is not a version (MAJOR.MINOR.PATCH, "
                f"this server speaks {wire.PROTOCOL_VERSION}; leave `protocol` unset to get the SDK's)")
    return (f"plugin {name!r} speaks protocol {declared}, this server speaks {wire.PROTOCOL_VERSION}: "
            "incompatible major version")


def _module_dir(entry: PluginEntry) -> str | None:
    import sys

    module = sys.modules.get(type(entry.plugin).__module__)
    path = getattr(module, "__file__", None)
    return os.path.dirname(path) if path else None


class PluginHost:
    """Runs action plugins in sandboxed warm workers, started on first use.

    `from_config(sandbox_cfg)` discovers plugins (entry points of `utask.plugins`, plus `modules` given by
    dotted name, e.g. in tests); `start()` refuses incompatible ones without starting their workers: one
    confined catalog process loads them all, answers their handshake and then validates template step
    configurations (`validate`) until `close_catalog()`. A plugin's execution worker is spawned by the
    first operation that needs it and stopped after `sandbox.idle_timeout` without work; plugins named in
    `sandbox.prestart` get theirs at start-up and keep it.
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
        # The catalog process (start-up checks and template validation), the plugins it loaded, the layers
        # it got (shown for plugins whose own worker has not run yet), its idle timer.
        self.catalog: Worker | None = None
        self.catalog_plugins: frozenset[str] = frozenset()
        self.catalog_layers: dict[str, Any] = {}
        self._catalog_lock = asyncio.Lock()
        self._catalog_used = 0.0
        self._catalog_timer: asyncio.TimerHandle | None = None

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

    async def start(self, prestart: Iterable[str] = ()) -> None:
        """Refuse what cannot run, without starting execution workers: the protocol a plugin was built
        against (checked here), then, in one confined catalog process, that it loads, the worker-side
        protocol and the required sandbox layers. Plugins in `sandbox.prestart` (plus `prestart`; "all":
        every plugin) get their warm worker now instead, checked by its own handshake as before.
        Raises PluginRefusedError (strict) or SandboxConfigError (a `prestart` naming no plugin)."""
        supervisor.acquire()
        self._started = True
        for name, entry in self.entries.items():
            problem = _protocol_problem(name, entry.plugin.protocol)
            if problem is not None:
                self.refused[name] = problem
                continue
            self.pools[name] = _Pool(self, entry)
        wanted = set(self.config.prestart) | set(prestart)
        unknown = sorted(wanted - set(self.entries) - {"all"})
        if unknown:
            await self.stop()
            raise SandboxConfigError(f"sandbox.prestart: unknown plugin {unknown[0]!r} (installed: "
                                     f"{', '.join(sorted(self.entries)) or 'none'})")
        warm = [n for n in self.pools if "all" in wanted or n in wanted]
        lazy = [n for n in self.pools if n not in warm]
        for name in warm:
            self.pools[name].keep_warm = True
        results = await asyncio.gather(self._open_catalog(lazy), *(self.pools[n].worker() for n in warm),
                                       return_exceptions=True)
        fallback = results[0] if isinstance(results[0], list) else lazy
        if isinstance(results[0], BaseException):
            log.warning("sandbox: the plugin catalog process failed (%s: %s): starting each plugin's worker instead",
                        type(results[0]).__name__, results[0])
        if fallback:  # checked by their own workers, which then go idle like any other
            results += await asyncio.gather(*(self.pools[n].worker() for n in fallback), return_exceptions=True)
        for name, result in zip(warm + fallback, results[1:], strict=True):
            if isinstance(result, PluginRefusedError):
                self.refused.update(result.refused)
            elif isinstance(result, BaseException):
                self.refused[name] = f"{type(result).__name__}: {result}"
            elif name in fallback:
                self.pools[name].touch()
        for name in [n for n in self.pools if n in self.refused]:
            await self.pools.pop(name).stop()
        for name, why in self.refused.items():
            log.error("plugin %r refused: %s", name, why)
        if self.refused and self.strict:
            await self.stop()
            raise PluginRefusedError(self.refused)

    async def _open_catalog(self, names: list[str]) -> list[str]:
        """Start the catalog process for `names`; refusals go to `self.refused`. Returns the plugins to
        check through their own worker instead (all of them when the catalog itself could not start)."""
        if not names:
            return []
        pools = [self.pools[n] for n in names]
        worst = {key: max(getattr(p.limits, key) for p in pools)
                 for key in ("timeout", "memory_mb", "cpu_seconds", "max_processes", "max_open_files")}
        # The strictest profile whatever the plugins ask: no network, nothing writable but the scratch
        # folder; what they must read (their code, `readable_paths`, path settings such as scripts_path).
        limits = SandboxLimits(**worst, max_file_size_mb=self.config.defaults.max_file_size_mb, network=False,
                               cpus=self.config.defaults.cpus, max_parallel=1, max_executions=1 << 30,
                               readable_paths=tuple(dict.fromkeys(p for pool in pools for p in pool.limits.readable_paths)))
        must_read = list(dict.fromkeys(d for d in (_module_dir(p.entry) for p in pools) if d))
        source = {"catalog": [{"plugin": n, "source": self.pools[n].entry.source,
                               "settings": self.pools[n].limits.settings} for n in names]}
        catalog = Worker(CATALOG, source, limits, must_read, self.skip_layers)
        try:
            hello = await catalog.start()
        except WorkerStartError as err:
            said = catalog.hello
            if said.get("refused") or (said.get("protocol") and not protocol.compatible(str(said["protocol"]),
                                                                                         wire.PROTOCOL_VERSION)):
                self.refused.update({n: str(err) for n in names})  # the workers' SDK: the same for all
                return []
            log.warning("sandbox: the plugin catalog process did not start (%s): starting each plugin's worker "
                        "instead", err)
            return names
        required = self.config.required_for() - set(self.skip_layers)
        missing = {k: v for k, v in catalog.layers.get("missing", {}).items() if k in required}
        if missing:  # the same machine, the same layers: every plugin's worker would miss them too
            await catalog.stop(grace=0)
            why = "required sandbox layer(s) missing: " + "; ".join(
                f"{layer} ({reason})" for layer, reason in sorted(missing.items()))
            self.refused.update({n: why for n in names})
            return []
        loaded = hello.get("plugins") or {}
        for name in names:
            state = loaded.get(name) or {"error": "not loaded by the plugin catalog process"}
            if state.get("error"):
                self.refused[name] = str(state["error"])
        self.catalog, self.catalog_plugins = catalog, frozenset(n for n in names if n not in self.refused)
        self.catalog_layers = dict(catalog.layers)
        self._touch_catalog()
        return []

    def _touch_catalog(self) -> None:
        loop = asyncio.get_running_loop()
        self._catalog_used = loop.time()
        timeout = self.config.idle_timeout
        if self._catalog_timer is None and timeout > 0:
            self._catalog_timer = loop.call_later(timeout, self._catalog_idle)

    def _catalog_idle(self) -> None:
        self._catalog_timer = None
        loop = asyncio.get_running_loop()
        left = self._catalog_used + self.config.idle_timeout - loop.time()
        if left > 0 or self._catalog_lock.locked():
            self._catalog_timer = loop.call_later(max(left, 0.1), self._catalog_idle)
        elif self.catalog is not None:
            loop.create_task(self.close_catalog())

    async def close_catalog(self) -> None:
        """Stop the catalog process (once templates are validated); `validate` then uses the workers."""
        catalog, self.catalog = self.catalog, None
        if self._catalog_timer is not None:
            self._catalog_timer.cancel()
            self._catalog_timer = None
        if catalog is not None:
            await catalog.stop()

    async def stop(self) -> None:
        await self.close_catalog()
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
            # The plugin's own worker's handshake once it ran; before, what the catalog process got (the
            # same machine and layers; notes may differ, e.g. a network profile keeps its namespace).
            layers, source = {}, None
            if pool is not None and pool.hello:
                layers, source = pool.hello.get("layers", {}), "worker"
            elif pool is not None and name in self.catalog_plugins:
                layers, source = self.catalog_layers, "catalog"
            current = pool.current if pool is not None else None
            limits = pool.limits if pool else _with_settings(self.config.limits_for(name, _declared(entry)), entry,
                                                             self.plugin_settings.get(name))
            rows.append({
                "name": name, "version": entry.plugin.version, "distribution": entry.distribution,
                "protocol": entry.plugin.protocol, "network": limits.network, "limits": limits.to_dict(),
                "status": "refused" if name in self.refused else ("ready" if pool else "not started"),
                "refused": self.refused.get(name), "layers_applied": layers.get("applied", []),
                "layers_missing": layers.get("missing", {}), "layer_notes": layers.get("notes", {}),
                "layers_from": source, "prestart": bool(pool and pool.keep_warm),
                "worker": "running" if current is not None and not current.dead and not current.retiring
                else "stopped",
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
        pool.begin()
        try:
            async with pool.slots:
                try:
                    worker = await pool.worker()
                except PluginRefusedError as err:
                    message = str(err)
                    log.error("%s", message)
                    return {"t": "done", "ok": False, "error": {"kind": "fatal", "message": message},
                            "message": message}
                return await worker.request(msg, identity, handler, timeout)
        finally:
            pool.end()

    async def _in_catalog(self, action_type: str, msg: dict[str, Any]) -> dict[str, Any] | None:
        """`validate` in the catalog process while it runs; None: ask the plugin's worker instead."""
        catalog = self.catalog
        if catalog is None or action_type not in self.catalog_plugins or action_type not in self.pools:
            return None
        async with self._catalog_lock:
            if catalog.dead or catalog.retiring:
                reply = None
            else:
                reply = await catalog.request({**msg, "plugin": action_type},
                                              timeout=self.pools[action_type].limits.timeout)
        if reply is None or reply.get("t") != "done":  # the catalog died: the plugin's own worker decides
            if self.catalog is catalog:
                log.warning("sandbox: the plugin catalog process stopped (%s)", (reply or {}).get("message", "dead"))
                await self.close_catalog()
            return None
        self._touch_catalog()
        return reply

    async def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        msg = {"op": "validate", "base": base_config, "config": config}
        reply = await self._in_catalog(action_type, msg) or await self._run(action_type, msg)
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
        # The logger's lines, then what the execution printed (stdout and stderr): from its result, or, when
        # the sandbox killed it, from its log file (the zygote's report).
        logs = [str(line) for line in reply.get("logs") or []]
        for text in (reply.get("stdout"), reply.get("stderr")):
            if text:
                logs += [f"OUTPUT {line}" for line in str(text).splitlines()]
        dropped = _count(reply.get("logs_dropped")) + _count(reply.get("output_dropped"))
        if reply.get("t") == "done" and reply.get("ok"):
            tags = reply.get("tags") or {}
            return ExecutionResult(reply.get("output"), reply.get("metadata"),
                                   {str(k): str(v) for k, v in tags.items()}, None, logs, dropped)
        if reply.get("t") == "done":
            kind = (reply.get("error") or {}).get("kind", "server")
            with contextlib.suppress(Exception):
                kind = kind if kind in ("client", "server", "fatal", "waiting", "retry") else "server"
            return ExecutionResult(reply.get("output"), reply.get("metadata"), {}, StepFailure(kind, reply["message"]),
                                   logs, dropped)
        return ExecutionResult(None, None, {}, StepFailure("server", reply.get("message") or "plugin worker died"),
                               logs, dropped)


def _count(value: Any) -> int:
    """A count from a worker's reply (numbers arrive as exact text); anything else is 0."""
    try:
        return max(0, int(str(value))) if value is not None else 0
    except ValueError:
        return 0
