"""The FastAPI application. `create_app(settings)` is the only way to build it (server and tests).

Routes of later issues plug in through `APP_EXTENSIONS`: callables `(app, settings, database, options)`
run in order at the end of `create_app`, so a colleague's module registers itself with one line there
instead of editing this function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

if TYPE_CHECKING:
    from utask.core.config import Settings
    from utask.core.storage import Database


@dataclass(frozen=True)
class ServeOptions:
    """The flags of `utask serve` (reference §9.6)."""

    templates_paths: tuple[str, ...] = ("./templates",)
    functions_path: str = "./functions"
    scripts_path: str = "./scripts"
    region: str = "default"
    http_host: str = "0.0.0.0"
    http_port: int = 8081
    debug: bool = False
    maintenance_mode: bool = False
    logs_format: str = "text"
    extra: dict = field(default_factory=dict)


AppExtension = Callable[[FastAPI, "Settings", "Database | None", ServeOptions], None]
APP_EXTENSIONS: list[AppExtension] = []


def create_app(settings: Settings, database: Database | None = None, options: ServeOptions | None = None) -> FastAPI:
    options = options or ServeOptions()
    app = FastAPI(title=settings.utask.application_name or "µTask", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.settings = settings
    app.state.database = database
    app.state.options = options

    @app.get("/unsecured/mon/ping", include_in_schema=False)
    async def ping() -> Response:
        # µTask answers "pong" once the database answers `SELECT 1`; anything else is a 500 with no body.
        # The sync pool in a worker thread: keeps sqlalchemy's asyncio layer (and the ORM it imports) out of
        # start-up until something really needs it.
        if database is not None and await run_in_threadpool(database.ping):
            return PlainTextResponse("pong")
        return Response(status_code=500)

    for extension in APP_EXTENSIONS:
        extension(app, settings, database, options)
    return app
