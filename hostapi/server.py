"""The composition root of `utask serve`: plugin host, templates, engine, collectors and REST API in one process.

Start-up order (reference §9.6, adapted): plugin host (every plugin checked in one confined catalog
process; execution workers start on first use, or now for `sandbox.prestart`) → functions → templates
(validated by the catalog process, which then exits; then published to the database) → task service and
this instance's collectors → the REST API on the app. Any failure stops start-up with one line
(`ServerStartError`); `Runtime.stop()` undoes what was started, in reverse order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

log = logging.getLogger("utask.server")


class ServerStartError(Exception):
    """A start-up failure worth one line to the operator (not a traceback)."""


@dataclass
class Runtime:
    """What `utask serve` runs beside the HTTP server; built by `Runtime.start`."""

    settings: Any
    options: Any
    host: Any = None
    store: Any = None
    tasks: Any = None
    coordinator: Any = None
    functions: Any = None
    notifier: Any = None
    templates: list[Any] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Any, options: Any) -> Runtime:
        runtime = cls(settings, options)
        try:
            await runtime._start()
        except BaseException:
            await runtime.stop()
            raise
        return runtime

    async def _start(self) -> None:
        import asyncio

        from utask.core.notify import NotifyConfigError, build_notifier
        from utask.core.plugins import PluginHost
        from utask.core.plugins.host import PluginRefusedError
        from utask.core.sandbox import SandboxConfigError

        settings, options = self.settings, self.options
        # Notification backends first: a bad notify_config stops start-up before anything runs, and the
        # notify plugin checks the backend names templates use against these.
        try:
            self.notifier = build_notifier(settings.utask, getattr(settings, "store", None))
        except NotifyConfigError as exc:
            raise ServerStartError(str(exc)) from None
        self.notifier.start()
        try:
            # `--scripts-path` is the script plugin's `scripts_path` setting (utask-cfg's
            # sandbox.plugins.script.settings wins); the host makes it absolute and readable in its sandbox.
            self.host = PluginHost.from_config(settings.utask.sandbox or None, plugin_settings={
                "script": {"scripts_path": getattr(options, "scripts_path", None) or "./scripts"},
                "notify": {"backends": self.notifier.backend_names}})
        except SandboxConfigError as exc:
            raise ServerStartError(f'configuration item "utask-cfg": {exc}') from None
        # While the plugin catalog process starts (a confined interpreter importing every plugin, on another
        # core), a thread imports the rest of the server and reads the functions and templates: start-up
        # waits for the slower of the two instead of both in turn.
        reading = asyncio.get_running_loop().run_in_executor(None, self._read_definitions)
        try:
            try:
                await self.host.start()
            except BaseException:
                await asyncio.gather(reading, return_exceptions=True)  # start-up stops: its outcome is moot
                raise
        except PluginRefusedError as exc:
            raise ServerStartError(f"plugins refused: {exc}") from None
        except SandboxConfigError as exc:
            raise ServerStartError(f'configuration item "utask-cfg": {exc}') from None
        log.info("plugins ready: %s", ", ".join(sorted(self.host.action_types())) or "none")
        from utask.core.plugins.init_plugins import describe_init_plugins, summary

        # Trusted, in-process plugins (auth, config sources, routes, middlewares): say which ones run here.
        log.info("init plugins loaded: %s", summary(describe_init_plugins(getattr(self.host, "plugin_manager", None))))

        self.functions, loaded = await reading
        self.templates = await self._validate_templates(loaded)
        await self.host.close_catalog()  # templates are validated: nothing else needs it

        from utask.core.engine import PluginHostExecutor
        from utask.core.engine.service import TaskService, start_instance
        from utask.core.engine.store import Store

        self.store = Store(settings.database_url, settings.keyring,
                           pool_size=max(2, min(settings.utask.database_config.max_open_conns, 20)),
                           compression=settings.utask.steps_compression_algorithm)
        from utask.core.engine.template_sync import publish_templates

        report = await publish_templates(self.store, self.templates)
        log.info("templates published: %d (removed %d, archived %d)", len(report.ids), len(report.deleted),
                 len(report.archived))

        from utask.core.engine.host_calls import purge_expired_cache

        try:  # µTask attempts it too (too early, so it only logs a warning there, §10.13)
            log.info("expired cache entries purged: %d", await purge_expired_cache(self.store))
        except Exception as exc:  # noqa: BLE001 - a cache purge must not stop the server
            log.warning("expired cache entries not purged: %s", exc)

        self.tasks = TaskService(self.store, region=options.region, notifier=self.notifier)
        host_calls = self._host_calls()
        self.coordinator = await start_instance(
            self.tasks, settings, executor=PluginHostExecutor(self.host, host_calls=host_calls),
            functions=self.functions, maintenance_mode=options.maintenance_mode)

    def _host_calls(self) -> Any:
        """The plugins' host calls (subtask, batch, callback, cache), run as each task's requester."""
        from utask.core.engine.host_calls import HostCalls

        cfg = self.settings.utask
        admins, admin_groups = frozenset(cfg.admin_usernames or ()), frozenset(cfg.admin_groups or ())

        def is_admin(username: str, groups: Any) -> bool:
            return username in admins or bool(admin_groups & set(groups or ()))

        return HostCalls(self.tasks, callback=getattr(self.settings, "callback", None), is_admin=is_admin,
                         notifier=self.notifier)

    def _read_definitions(self) -> tuple[Any, list[Any]]:
        """In a thread, beside the plugin host's start: functions and templates read from their folders, and
        the modules the rest of the start-up needs imported meanwhile."""
        import importlib

        for module in ("utask.core.engine.service", "utask.core.engine.store", "utask.core.engine.template_sync",
                       "utask.core.engine.host_calls", "utask.core.templates.catalogs", "utask.hostapi.api"):
            importlib.import_module(module)
        return self._load_functions(), self._read_templates()

    def _load_functions(self) -> Any:
        from utask.core.templates import load_functions

        try:
            return load_functions(self.options.functions_path)
        except (OSError, ValueError) as exc:
            raise ServerStartError(f"failed to load functions: {exc}") from None

    def _read_templates(self) -> list[Any]:
        from utask.core.templates import load_templates

        loaded = []
        for directory in self.options.templates_paths:
            try:
                loaded += load_templates(directory)
            except FileNotFoundError:
                raise ServerStartError(f"templates folder {directory!r} not found") from None
            except (OSError, ValueError) as exc:
                raise ServerStartError(f"failed to load templates from {directory!r}: {exc}") from None
        return loaded

    async def _validate_templates(self, loaded: list[Any]) -> list[Any]:
        from utask.core.templates import validate_template
        from utask.core.templates.catalogs import PluginHostCatalog

        templates = [item.template for item in loaded]
        from utask.core.engine.host_calls import KnownTemplatesHost

        # subtask/batch check the templates they name against the ones being loaded (§10.3, §10.4).
        catalog = await PluginHostCatalog.build(KnownTemplatesHost(self.host), templates, self.functions)
        for item in loaded:
            try:
                validate_template(item.template, actions=catalog, functions=self.functions,
                                  known_templates={t.name for t in templates})
            except ValueError as exc:
                raise ServerStartError(f"failed to create template '{item.template.name}': {exc}") from None
        return templates

    def mount_api(self, app: FastAPI, database: Any) -> None:
        from .api import Services, build_api

        build_api(app, Services(settings=self.settings, store=self.store, tasks=self.tasks,
                                functions=self.functions, database=database,
                                plugin_manager=getattr(self.host, "plugin_manager", None),
                                maintenance_mode=self.options.maintenance_mode))

    async def stop(self) -> None:
        if self.coordinator is not None:
            await self.coordinator.shutdown()
            self.coordinator = None
        if self.notifier is not None:  # after the runs: their last notifications are sent (5 s at most)
            await self.notifier.close()
            self.notifier = None
        if self.host is not None:
            await self.host.stop()
            self.host = None
        if self.store is not None:
            await self.store.close()
            self.store = None
