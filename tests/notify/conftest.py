"""Fixtures for notifications: a real local HTTP receiver, and one real server (migrated PostgreSQL, REST
API, task service, real engine, collectors, the sandboxed echo and notify plugins) whose notifier sends to
that receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from utask.core.config import Settings, UtaskConfig
from utask.core.config.store import ConfigStore, Item
from utask.core.crypto import KeyRing
from utask.core.storage import migrate

from tests.api.conftest import KEY, template_from
from tests.foundation.conftest import port  # noqa: F401  (shared fixture)
from tests.plugins_hostcalls.conftest import Server

from .receiver import Receiver

BASE_URL = "https://utask.example"
PREFIX = "/prefix"
PLUGINS = ("echo", "notify")


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.responses["/slack"] = (200, b"ok")
    rec.responses["/v2/alerts"] = (202, b'{"result":"Request will be processed"}')
    try:
        yield rec
    finally:
        rec.close()


def notify_cfg(rec: Receiver) -> dict[str, Any]:
    return {
        "hook": {"type": "webhook", "config": {"webhook_url": rec.url("/hook"), "credentials_name": "hook-creds",
                                               "headers": {"X-Test": "yes"}}},
        "chat": {"type": "slack", "config": {"webhook_url": rec.url("/slack")},
                 "default_notification_strategy": {"task_state_update": "silent", "task_step_update": "silent",
                                                   "task_validation": "silent"}},
        "failures": {
            "type": "webhook", "config": {"webhook_url": rec.url("/failures")},
            "default_notification_strategy": {"task_state_update": "failure_only", "task_step_update": "silent",
                                              "task_validation": "silent"},
            "template_notification_strategies": {
                "task_step_update": [{"templates": ["other"], "notification_strategy": "always"},
                                     {"templates": ["notify-fail"], "notification_strategy": "failure_or_done"}]},
        },
    }


def make_settings(url: str, rec: Receiver) -> Settings:
    raw = {"admin_usernames": ["admin"], "base_url": BASE_URL, "dashboard_path_prefix": PREFIX,
           "notify_config": notify_cfg(rec),
           "notify_actions": {"task_validation": {"notify_backends": ["hook"]}}}
    store = ConfigStore([Item("notify-webhook-credentials", json.dumps(
        {"credentials_name": "hook-creds", "username": "bot", "password": "s3cret"}))])
    return Settings(database_url=url, keyring=KeyRing.from_values([KEY]), utask=UtaskConfig.from_dict(raw),
                    store=store)


TEMPLATES = [
    """
    name: notify-echo
    description: one echo step
    title_format: "echo for {{.input.who}}"
    auto_runnable: true
    allowed_resolver_usernames: [alice, bob]
    tags: {team: blue}
    inputs:
      - name: who
    steps:
      say:
        action:
          type: echo
          configuration:
            output: {said: hi}
    """,
    """
    name: notify-fail
    description: a step that fails for good
    title_format: "failing"
    auto_runnable: true
    steps:
      ok:
        action:
          type: echo
          configuration:
            output: fine
      boom:
        dependencies: [ok]
        action:
          type: echo
          configuration:
            error_type: client
            error_message: broken
    """,
    """
    name: notify-manual
    description: waits for a resolver
    title_format: "manual task"
    allowed_resolver_usernames: [alice]
    steps:
      say:
        action:
          type: echo
          configuration:
            output: {said: hi}
    """,
    """
    name: notify-plugin
    description: the notify action
    title_format: "notify plugin"
    auto_runnable: true
    steps:
      toChat:
        action:
          type: notify
          configuration:
            message: "hello from {{.task.task_id}}"
            fields: {env: prod, who: "{{.task.requester_username}}"}
            backends: [chat]
      toAll:
        dependencies: [toChat]
        action:
          type: notify
          configuration:
            message: "to everyone"
    """,
]


@dataclass
class NotifyServer(Server):
    notifier: Any = None
    receiver: Any = None

    def flush(self) -> None:
        assert self.call(self.notifier.flush, 10.0)


def start_server(url: str, rec: Receiver) -> tuple[NotifyServer, Any]:
    from fastapi.testclient import TestClient
    from utask.core.engine import FunctionRegistry, PluginHostExecutor, ResourceLimiter
    from utask.core.engine.collectors import CollectorConfig, Coordinator
    from utask.core.engine.host_calls import HostCalls
    from utask.core.engine.service import EngineEnv, TaskService
    from utask.core.engine.store import Store
    from utask.core.notify import build_notifier
    from utask.core.plugins import PluginHost
    from utask.core.storage import Database
    from utask.hostapi.api import Services, build_api
    from utask.hostapi.app import ServeOptions, create_app
    from utask.hostapi.ops.templates import upsert_templates

    from tests.plugins_hostcalls.conftest import validated

    settings = make_settings(url, rec)
    notifier = build_notifier(settings.utask, settings.store)
    database = Database.connect(url, pool_size=2)
    app = create_app(settings, database, ServeOptions())
    store = Store(url, settings.keyring, pool_size=8)
    coordinator = Coordinator(store, resolve=None, config=CollectorConfig(
        poll_step=0.1, poll_max_sleep=0.3, collectors=True, shutdown_wait=2.0, grace_period=0.5))
    service = TaskService(store, coordinator=coordinator, notifier=notifier)
    coordinator.resolve = service.run
    services = Services(settings=settings, store=store, tasks=service, database=database, pretty_json=False)
    build_api(app, services)
    client = TestClient(app, raise_server_exceptions=True)
    client.__enter__()
    client.portal.call(lambda: _start(notifier))
    # As `utask serve` does: the notify plugin learns the configured backend names as its settings.
    host = PluginHost.from_config(None, plugin_settings={"notify": {"backends": notifier.backend_names}})
    host.entries = {name: entry for name, entry in host.entries.items() if name in PLUGINS}
    client.portal.call(host.start)
    handler = HostCalls(service, is_admin=lambda u, g: u == "admin", notifier=notifier)
    service.engine = EngineEnv(executor=PluginHostExecutor(host, host_calls=handler),
                               functions=FunctionRegistry({}), resources=ResourceLimiter({}))
    templates = client.portal.call(validated, host, [template_from(t) for t in TEMPLATES])
    client.portal.call(upsert_templates, store, templates)
    client.portal.call(coordinator.start)
    server = NotifyServer(client, services, coordinator, url, host=host, handler=handler, templates=templates,
                          notifier=notifier, receiver=rec)

    def stop() -> None:
        client.portal.call(coordinator.shutdown)
        client.portal.call(notifier.close)
        client.portal.call(host.stop)
        client.portal.call(store.close)
        client.__exit__(None, None, None)
        database.dispose()

    return server, stop


async def _start(notifier: Any) -> None:
    notifier.start()


@pytest.fixture(scope="package")
def server(fresh_database, receiver) -> Iterator[NotifyServer]:
    url = fresh_database()
    migrate(url)
    srv, stop = start_server(url, receiver)
    try:
        yield srv
    finally:
        stop()
