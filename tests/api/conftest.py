"""The REST API against the real app on a real, migrated PostgreSQL database.

`api` gives a running server in-process: D's `create_app` + `build_api`, a Store, a TaskService with an
in-process echo engine, and a Coordinator whose collectors pick up auto-run resolutions, all on the
TestClient's event loop. Authentication is µTask's API-test setup: the `x-remote-user` header, `admin`
is the administrator, `regular` is anybody.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from utask.core.config import Settings, UtaskConfig
from utask.core.crypto import KeyRing, generate_key_json
from utask.core.storage import migrate

HERE = os.path.dirname(__file__)
TEMPLATES_DIR = os.path.join(HERE, "templates")

ADMIN = {"x-remote-user": "admin"}
REGULAR = {"x-remote-user": "regular"}
OTHER = {"x-remote-user": "other"}

KEY = generate_key_json(timestamp=1_600_000_000)


def make_settings(url: str, **utask: Any) -> Settings:
    raw = {"admin_usernames": ["admin"], "application_name": "µTask API tests", **utask}
    basic = raw.pop("basic_auth", {})
    groups = raw.pop("groups_auth", {})
    return Settings(database_url=url, keyring=KeyRing.from_values([KEY]), utask=UtaskConfig.from_dict(raw),
                    basic_auth=basic, groups_auth=groups)


def load_templates(*names: str) -> list[Any]:
    from utask.core.templates import parse_template

    out = []
    for name in names or sorted(os.listdir(TEMPLATES_DIR)):
        if not name.endswith(".yaml"):
            name += ".yaml"
        with open(os.path.join(TEMPLATES_DIR, name)) as fh:
            out.append(parse_template(fh.read()))
    return out


def template_from(text: str) -> Any:
    from utask.core.templates import parse_template

    return parse_template(textwrap.dedent(text))


@dataclass
class API:
    client: TestClient
    services: Any
    coordinator: Any
    url: str

    def call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run an async function on the server's event loop."""
        return self.client.portal.call(lambda: fn(*args, **kw))

    def upsert(self, *templates: Any) -> None:
        from utask.hostapi.ops.templates import upsert_templates

        self.call(upsert_templates, self.services.store, list(templates))

    def get(self, path: str, user: dict | None = ADMIN, **kw: Any) -> Any:
        return self.client.get(path, headers={**(user or {}), **kw.pop("headers", {})}, **kw)

    def post(self, path: str, user: dict | None = ADMIN, **kw: Any) -> Any:
        return self.client.post(path, headers={**(user or {}), **kw.pop("headers", {})}, **kw)

    def put(self, path: str, user: dict | None = ADMIN, **kw: Any) -> Any:
        return self.client.put(path, headers={**(user or {}), **kw.pop("headers", {})}, **kw)

    def delete(self, path: str, user: dict | None = ADMIN, **kw: Any) -> Any:
        return self.client.delete(path, headers={**(user or {}), **kw.pop("headers", {})}, **kw)

    def wait_state(self, resolution_id: str, states: set[str], timeout: float = 30.0) -> dict:
        import time

        deadline = time.monotonic() + timeout
        while True:
            r = self.get(f"/resolution/{resolution_id}")
            body = r.json()
            if body.get("state") in states or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


def _engine() -> Any:
    from utask.core.engine import FunctionRegistry, ResourceLimiter
    from utask.core.engine.service import EngineEnv

    from tests.engine.support import EchoExecutor

    return EngineEnv(executor=EchoExecutor(), functions=FunctionRegistry({}), resources=ResourceLimiter({}))


def start_api(url: str, *, maintenance: bool = False, settings: Settings | None = None,
              engine: bool = True, **services_kw: Any) -> tuple[API, Any]:
    """Build and start a server; returns (API, stop())."""
    from utask.core.engine.collectors import CollectorConfig, Coordinator
    from utask.core.engine.service import TaskService
    from utask.core.engine.store import Store
    from utask.hostapi.api import Services, build_api
    from utask.hostapi.app import ServeOptions, create_app

    settings = settings or make_settings(url)
    options = ServeOptions(maintenance_mode=maintenance)
    from utask.core.storage import Database

    database = Database.connect(url, pool_size=2)
    app = create_app(settings, database, options)
    store = Store(url, settings.keyring, pool_size=8)
    coordinator = Coordinator(store, resolve=None, config=CollectorConfig(
        poll_step=0.2, poll_max_sleep=0.5, collectors=not maintenance, shutdown_wait=2.0, grace_period=0.5))
    service = TaskService(store, coordinator=coordinator, engine=_engine() if engine else None)
    coordinator.resolve = service.run
    services = Services(settings=settings, store=store, tasks=service, maintenance_mode=maintenance, database=database,
                        pretty_json=services_kw.pop("pretty_json", True), **services_kw)
    build_api(app, services)
    client = TestClient(app, raise_server_exceptions=True)
    client.__enter__()
    client.portal.call(coordinator.start)
    api = API(client, services, coordinator, url)

    def stop() -> None:
        client.portal.call(coordinator.shutdown)
        client.portal.call(store.close)
        client.__exit__(None, None, None)
        database.dispose()

    return api, stop


@pytest.fixture(scope="module")
def api_db(fresh_database) -> str:
    url = fresh_database()
    migrate(url)
    return url


@pytest.fixture(scope="module")
def api(api_db: str) -> Iterator[API]:
    server, stop = start_api(api_db)
    server.upsert(*load_templates())
    try:
        yield server
    finally:
        stop()
