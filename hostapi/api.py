"""Assembly of the REST API: `build_api(app, services)` mounts every route of reference §7.2 on D's app.

Composition (the lead's `create_app` / `utask serve`):

    store = Store(settings.database_url, settings.keyring, compression=settings.utask.steps_compression_algorithm)
    tasks = TaskService(store, region=options.region)
    build_api(app, Services(settings=settings, store=store, tasks=tasks, functions=registry, database=database,
                            plugin_manager=pm, maintenance_mode=options.maintenance_mode))
    # start-up (lifespan): publish templates, then give the service its engine and start the instance
    await upsert_templates(store, validated_templates)          # utask.hostapi.ops.templates
    coordinator = await start_instance(tasks, settings, executor=PluginHostExecutor(host), functions=registry,
                                       maintenance_mode=options.maintenance_mode)
    # shutdown: await coordinator.shutdown(); await store.close()

`Services` is what the routes need and nothing else. `services_from(settings, database, options)` builds a
default one (its own Store, a TaskService without engine) for callers that have nothing better.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

from .auth import Authenticator
from .http.body import clamp_max_body_bytes
from .http.middleware import APIMiddleware
from .http.render import default_pretty, render
from .metrics import METRICS, Metrics
from .routes import events, meta, resolutions, tasks, templates, ui

log = logging.getLogger("utask.api")


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("utask")
    except PackageNotFoundError:  # pragma: no cover - a tree that is not installed
        return "0.0.0+unknown"


@dataclass
class Services:
    """What the routes need: configuration, the database door, the task service, templates' functions."""

    settings: Any  # utask.core.config.Settings
    store: Any  # utask.core.engine.store.Store (keyring inside)
    tasks: Any  # utask.core.engine.service.TaskService
    functions: Any = None  # utask.core.templates.FunctionRegistry
    database: Any = None  # utask.core.storage.Database (ping); None: the store answers
    metrics: Metrics = field(default_factory=lambda: METRICS)
    plugin_manager: Any = None  # pluggy manager: auth/group providers and extra routes of init plugins
    authenticator: Authenticator | None = None
    maintenance_mode: bool = False
    pretty_json: bool | None = None  # None: gin's rule (indented unless GIN_MODE=release)
    version: str = field(default_factory=package_version)
    commit: str = ""

    @property
    def application_name(self) -> str:
        return self.settings.utask.application_name or "µTask"


def services_from(settings: Any, database: Any = None, options: Any = None, **kw: Any) -> Services:
    """A default `Services`: its own Store and a TaskService that initialises runs without an engine."""
    from utask.core.engine.service import TaskService
    from utask.core.engine.store import Store

    store = kw.pop("store", None) or Store(settings.database_url, settings.keyring,
                                           compression=settings.utask.steps_compression_algorithm)
    tasks_service = kw.pop("tasks", None) or TaskService(store, region=getattr(options, "region", "") or "")
    return Services(settings=settings, store=store, tasks=tasks_service, database=database,
                    maintenance_mode=bool(getattr(options, "maintenance_mode", False)), **kw)


def _has_route(app: FastAPI, path: str) -> bool:
    return any(getattr(r, "path", None) == path for r in app.router.routes)


def build_api(app: FastAPI, services: Services) -> None:
    """Mount the API on `app` (middlewares, routes, OpenAPI, metrics) with `services`."""
    settings = services.settings
    app.state.services = services
    app.state.authenticator = services.authenticator or Authenticator.from_settings(settings, services.plugin_manager)
    app.state.maintenance_mode = services.maintenance_mode
    app.state.pretty_json = default_pretty() if services.pretty_json is None else services.pretty_json
    app.state.max_body_bytes = clamp_max_body_bytes(getattr(settings.utask, "max_body_bytes", 0))

    # `events` before `tasks`: /task/events is not /task/{id}.
    for module in (meta, templates, events, tasks, resolutions, ui):
        app.include_router(module.api)
    _mount_dashboard(app, services)
    if not _has_route(app, "/unsecured/mon/ping"):
        app.add_api_route("/unsecured/mon/ping", meta.ping, methods=["GET"], include_in_schema=False)
    title, version = services.application_name, services.version
    app.title, app.version = title, version
    app.add_api_route("/unsecured/spec.json", meta.spec_route(app, title, version), methods=["GET"],
                      include_in_schema=False, name="openapiSpec")

    if services.plugin_manager is not None and hasattr(services.plugin_manager.hook, "utask_extra_routes"):
        services.plugin_manager.hook.utask_extra_routes(app=app)

    async def http_error(request: Any, exc: StarletteHTTPException) -> Any:
        # Unknown routes and methods answer in the API's error format too.
        return render(request, exc.status_code, {"error": str(exc.detail)}, dict(exc.headers or {}))

    app.add_exception_handler(StarletteHTTPException, http_error)

    # Outermost: CORS headers and the audit log line also cover authentication failures.
    app.add_middleware(APIMiddleware, instance_id=lambda: getattr(services.store, "instance_id", None))
    _add_plugin_middlewares(app, services.plugin_manager)


def _mount_dashboard(app: FastAPI, services: Services) -> None:
    """The dashboard's files and Swagger UI (`routes.ui`), and the task changes its live views listen to
    (`routes.events`): one LISTEN connection for the process, closed before the server stops."""
    import contextlib

    from .dashboard import dashboard_site, swagger_site
    from .live import TaskChanges

    cfg = services.settings.utask
    app.state.ui_sites = {"dashboard": dashboard_site(cfg), "swagger": swagger_site(cfg, services.application_name)}
    hub = TaskChanges(services.settings.database_url, services.store)
    app.state.live = hub
    # `utask serve` calls these as soon as it starts shutting down, before uvicorn waits for open responses:
    # event streams end there instead of holding the graceful shutdown.
    hooks = getattr(app.state, "before_server_shutdown", None)
    if hooks is None:
        hooks = app.state.before_server_shutdown = []
    hooks.append(hub.close)
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> Any:
        async with previous(application) as state:
            try:
                yield state
            finally:
                await hub.close()

    app.router.lifespan_context = lifespan


def _add_plugin_middlewares(app: FastAPI, plugin_manager: Any) -> None:
    """Init plugins' middlewares, outside µTask's own so they run first (in the order each plugin lists them)."""
    hook = getattr(getattr(plugin_manager, "hook", None), "utask_http_middlewares", None)
    if hook is None:
        return
    declared = [m for per_plugin in hook() for m in (per_plugin or [])]
    # Starlette runs the last added middleware first: add in reverse so the first declared runs first.
    for entry in reversed(declared):
        cls, options = entry if isinstance(entry, tuple) else (entry, {})
        app.add_middleware(cls, **options)

