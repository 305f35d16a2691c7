"""One real server for the host-call plugins: migrated PostgreSQL, the REST API app, the task service, the
real engine, collectors, and the real sandboxed plugins (echo, subtask, batch, callback, cache, tag, input)
through the real PluginHost with the server's host-call handler (`utask.core.engine.host_calls`).

The templates of `templates/` are validated like `utask serve` does (PluginHostCatalog over the plugin
host, with the known templates), then published.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from utask.core.config import Settings, UtaskConfig
from utask.core.config.settings import CallbackConfig
from utask.core.crypto import KeyRing
from utask.core.storage import migrate

from tests.api.conftest import ADMIN, API, KEY

HERE = os.path.dirname(__file__)
TEMPLATES_DIR = os.path.join(HERE, "templates")
PLUGINS = ("echo", "subtask", "batch", "callback", "cache", "tag", "input")
BASE_URL = "http://utask.example"

REGULAR = {"x-remote-user": "regular"}
ANALYST = {"x-remote-user": "analyst"}
OTHER = {"x-remote-user": "other"}


def make_settings(url: str) -> Settings:
    raw = {"admin_usernames": ["admin"], "application_name": "µTask host-call tests"}
    return Settings(database_url=url, keyring=KeyRing.from_values([KEY]), utask=UtaskConfig.from_dict(raw),
                    callback=CallbackConfig(BASE_URL, "hooks/"))


@dataclass
class Server(API):
    host: Any = None
    handler: Any = None
    templates: Any = None

    @property
    def service(self) -> Any:
        return self.services.tasks

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def wait(self, check: Any, timeout: float = 20.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def resolution(self, resolution_id: str) -> dict:
        r = self.get(f"/resolution/{resolution_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def task(self, task_id: str) -> dict:
        r = self.get(f"/task/{task_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_resolution(self, resolution_id: str, states: set[str], timeout: float = 20.0) -> dict:
        last: dict = {}

        def check() -> Any:
            nonlocal last
            last = self.resolution(resolution_id)
            return last if last.get("state") in states else None

        try:
            return self.wait(check, timeout, f"resolution in {states}")
        except AssertionError:
            raise AssertionError(f"resolution {resolution_id} still {last.get('state')}: "
                                 f"{ {n: (s.get('state'), s.get('error')) for n, s in last.get('steps', {}).items()} }"
                                 ) from None

    def create_task(self, template: str, input: dict | None = None, user: dict = ADMIN) -> dict:
        r = self.post("/task", user, json={"template_name": template, "input": input or {}})
        assert r.status_code == 201, r.text
        return r.json()

    def run_task(self, template: str, input: dict | None = None, states: set[str] | None = None) -> dict:
        """A task created by the admin (auto-run by the collectors), waited for until it settles."""
        task = self.create_task(template, input)
        assert task.get("resolution"), task
        return self.wait_resolution(task["resolution"], states or {"DONE"})

    def resolve(self, task_id: str) -> str:
        """POST /resolution as admin: the autorun collector runs it."""
        r = self.post("/resolution", json={"task_id": task_id})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def load_templates() -> list[Any]:
    from utask.core.templates import load_templates as load

    return [item.template for item in load(TEMPLATES_DIR)]


async def validated(host: Any, templates: list[Any], also_known: list[str] | None = None) -> list[Any]:
    """What `utask serve` does at start-up: plugins' checks (with the known templates), then validation."""
    from utask.core.engine.host_calls import KnownTemplatesHost
    from utask.core.templates import validate_template
    from utask.core.templates.catalogs import PluginHostCatalog

    names = {t.name for t in templates} | set(also_known or ())
    catalog = await PluginHostCatalog.build(KnownTemplatesHost(host), templates, known_templates=names)
    for tpl in templates:
        validate_template(tpl, actions=catalog, known_templates=names)
    return templates


def start_server(url: str) -> tuple[Server, Any]:
    from utask.core.engine import FunctionRegistry, PluginHostExecutor, ResourceLimiter
    from utask.core.engine.collectors import CollectorConfig, Coordinator
    from utask.core.engine.host_calls import HostCalls
    from utask.core.engine.service import EngineEnv, TaskService
    from utask.core.engine.store import Store
    from utask.core.plugins import PluginHost
    from utask.core.storage import Database
    from utask.hostapi.api import Services, build_api
    from utask.hostapi.app import ServeOptions, create_app

    settings = make_settings(url)
    database = Database.connect(url, pool_size=2)
    app = create_app(settings, database, ServeOptions())
    store = Store(url, settings.keyring, pool_size=8)
    coordinator = Coordinator(store, resolve=None, config=CollectorConfig(
        poll_step=0.1, poll_max_sleep=0.3, collectors=True, shutdown_wait=2.0, grace_period=0.5))
    service = TaskService(store, coordinator=coordinator)
    coordinator.resolve = service.run
    services = Services(settings=settings, store=store, tasks=service, database=database, pretty_json=False)
    build_api(app, services)
    client = TestClient(app, raise_server_exceptions=True)
    client.__enter__()
    host = PluginHost.from_config(None)
    host.entries = {name: entry for name, entry in host.entries.items() if name in PLUGINS}
    client.portal.call(host.start)
    handler = HostCalls(service, callback=settings.callback, is_admin=lambda u, g: u == "admin")
    service.engine = EngineEnv(executor=PluginHostExecutor(host, host_calls=handler),
                               functions=FunctionRegistry({}), resources=ResourceLimiter({}))
    templates = client.portal.call(validated, host, load_templates())
    from utask.hostapi.ops.templates import upsert_templates

    client.portal.call(upsert_templates, store, templates)
    client.portal.call(coordinator.start)
    server = Server(client, services, coordinator, url, host=host, handler=handler, templates=templates)

    def stop() -> None:
        client.portal.call(coordinator.shutdown)
        client.portal.call(host.stop)
        client.portal.call(store.close)
        client.__exit__(None, None, None)
        database.dispose()

    return server, stop


@pytest.fixture(scope="package")
def server(fresh_database) -> Iterator[Server]:
    url = fresh_database()
    migrate(url)
    srv, stop = start_server(url)
    try:
        yield srv
    finally:
        stop()
