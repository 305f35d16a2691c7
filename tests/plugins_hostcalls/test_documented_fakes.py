"""Host calls as the server answers them, and as the SDK's documented fakes answer them.

One plugin (`probe_plugin.py`) makes every host call; it runs
- through a real server: migrated PostgreSQL, REST API, task service, engine, collectors, the sandboxed
  plugin host and the server's host-call handler (`utask.core.engine.host_calls.HostCalls`), configured
  like `utask serve` without `callback-config` nor `utask-cfg.base_url`;
- through `utask_sdk.testing` (the same real sandbox) with `FakeHost()` and with the dict fake the SDK's
  README shows,
and what the plugin saw must have the same shape (same keys, same JSON types, same error class and
message). The same server shows that callbacks work without `callback-config` (relative URLs).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from utask.core.storage import migrate
from utask_sdk.testing import FakeHost, Sandbox, plain

from .conftest import Server, make_settings, validated

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "sdk" / "README.md"
PROBE_MODULE = "tests.plugins_hostcalls.probe_plugin"
PLUGINS = ("hostcall_probe", "callback", "echo")
VALUE = {"num": 42, "f": 1.50, "s": "text", "l": [1, "two"], "nested": {"big": 1e21}}


def _start(url: str) -> tuple[Server, Any]:
    """`conftest.start_server`, with the probe plugin and the settings of a server that has no
    `callback-config`: its host-call handler is built by the composition root of `utask serve`."""
    from fastapi.testclient import TestClient
    from utask.core.engine import FunctionRegistry, PluginHostExecutor, ResourceLimiter
    from utask.core.engine.collectors import CollectorConfig, Coordinator
    from utask.core.engine.service import EngineEnv, TaskService
    from utask.core.engine.store import Store
    from utask.core.plugins import PluginHost
    from utask.core.storage import Database
    from utask.core.templates import load_templates
    from utask.hostapi.api import Services, build_api
    from utask.hostapi.app import ServeOptions, create_app
    from utask.hostapi.ops.templates import upsert_templates
    from utask.hostapi.server import Runtime

    settings = make_settings(url)
    settings.callback = None  # neither `callback-config` nor utask-cfg.base_url
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
    host = PluginHost.from_config(None, modules=(PROBE_MODULE,))
    host.entries = {name: entry for name, entry in host.entries.items() if name in PLUGINS}
    client.portal.call(host.start)
    runtime = Runtime(settings, ServeOptions())
    runtime.tasks = service
    handler = runtime._host_calls()
    assert handler.callback is None
    service.engine = EngineEnv(executor=PluginHostExecutor(host, host_calls=handler),
                               functions=FunctionRegistry({}), resources=ResourceLimiter({}))
    templates = client.portal.call(validated, host, [item.template for item in load_templates(
        str(HERE / "probe_templates"))])
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


@pytest.fixture(scope="module")
def bare_server(fresh_database) -> Iterator[Server]:
    url = fresh_database()
    migrate(url)
    server, stop = _start(url)
    try:
        yield server
    finally:
        stop()


@pytest.fixture(scope="module")
def probe_box() -> Iterator[Sandbox]:
    with Sandbox(modules=[PROBE_MODULE], entry_points=False) as box:
        yield box


def _config(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "value": VALUE, "child_template": "probe-child", **extra}


def _real(server: Server, key: str) -> dict[str, Any]:
    res = server.run_task("hostcall-probe", {"key": key})
    step = res["steps"]["probe"]
    assert step["state"] == "DONE", step
    return step["output"]


def _faked(box: Sandbox, key: str, host_calls: Any, **extra: Any) -> dict[str, Any]:
    result = box.run("hostcall_probe", _config(key, **extra), step_name="probe", host_calls=host_calls)
    assert result.error is None, result
    return plain(result.output)


def shape(value: Any) -> Any:
    """What a plugin can rely on: keys and JSON types, not the values (ids, times)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def test_fake_host_answers_every_host_call_like_the_server(bare_server, probe_box):
    key = f"probe-{uuid.uuid4()}"
    real = _real(bare_server, key)
    fake = _faked(probe_box, key, FakeHost(requester="admin"))
    assert set(real) == set(fake) and len(real) == 25
    for label in sorted(real):
        assert shape(fake[label]) == shape(real[label]), f"{label}: server {shape(real[label])}, fake {shape(fake[label])}"
        if "error" in real[label]:  # same error class, same message
            assert fake[label] == real[label], label
    # Values that do not depend on ids: exactly the server's.
    for label in ("cache_set", "cache_get_hit", "cache_delete", "cache_get_miss", "batch_get_missing",
                  "notify_send"):
        assert fake[label] == real[label], label
    assert real["cache_get_hit"]["ok"] == {"key": key, "hit": True, "value": {
        "num": 42, "f": 1.5, "s": "text", "l": [1, "two"], "nested": {"big": 1e21}}}
    assert real["cache_get_miss"]["ok"] == {"key": key, "hit": False, "value": None}
    task = real["task_create"]["ok"]
    assert task["state"] == "TODO" and task["resolution"] is None and task["requester_username"] == "admin"
    assert fake["task_create"]["ok"]["tags"]["probe"] == "yes" == task["tags"]["probe"]
    assert set(real["batch_get"]["ok"]) == {"id", "exists", "total", "running"}
    assert real["batch_get"]["ok"]["total"] == fake["batch_get"]["ok"]["total"] == 2
    # `cache.set` answers with the key it cached (the typed `cache_set` returns it too).
    assert real["cache_set"]["ok"] == {"key": key, "cached": True}


def _readme_dict_fake() -> dict[str, Any]:
    """The `host_calls={...}` of the README's testing example, evaluated as written."""
    text = README.read_text()
    testing = text[text.index("## Testing a plugin"):]
    found = re.search(r"host_calls=(\{\"cache\.get\": lambda key: .*\})\)", testing)
    assert found, "the README's testing example no longer fakes cache.get"
    return eval(found.group(1))  # noqa: S307 - the documentation's own example


def test_the_readme_dict_fake_has_the_server_shape(bare_server, probe_box):
    key = f"probe-{uuid.uuid4()}"
    real = _real(bare_server, key)
    fake = _faked(probe_box, key, _readme_dict_fake(), only=["cache_get_hit"])
    assert set(fake) == {"cache_get_hit"}
    faked, served = fake["cache_get_hit"]["ok"], real["cache_get_hit"]["ok"]
    # The same envelope; the value is the example's own (42), the server's is what the probe cached.
    assert set(faked) == set(served) == {"key", "hit", "value"}
    assert shape({**faked, "value": None}) == shape({**served, "value": None})
    assert faked == {"key": key, "hit": True, "value": 42}


def test_fake_host_state_and_helpers(probe_box):
    host = FakeHost(cache={"seeded": 1.50}, requester="bob", notify_backends=["ops"])
    out = _faked(probe_box, "k", host, only=["cache_set", "cache_get_hit", "notify_send", "callback_create",
                                               "callback_get", "task_create", "task_get"])
    assert out["cache_get_hit"]["ok"]["value"] == VALUE
    assert plain(host.cache) == {"seeded": 1.5, "k": VALUE}  # read back as the server reads: Go float64s
    assert out["notify_send"]["ok"] == {"backends": ["ops"]}
    assert host.notifications == [{"message": "hello", "fields": {"a": "b"}, "backends": ["ops"]}]
    assert out["task_create"]["ok"]["requester_username"] == "bob"
    assert out["task_get"]["ok"] == out["task_create"]["ok"]
    callback = out["callback_create"]["ok"]
    assert callback["url"] == f"/unsecured/callback/{callback['id']}?t={callback['token']}"
    assert out["callback_get"]["ok"] == {"id": callback["id"], "called": None, "body": None}
    host.call_back(callback["id"], {"ok": True})
    assert host.callbacks[callback["id"]]["body"] == {"ok": True}
    assert host.callbacks[callback["id"]]["called"].endswith("Z")
    assert [name for name, _ in host.calls] == ["cache.set", "cache.get", "task.create", "task.get",
                                                "callback.create", "callback.get", "notify.send"]


# -- item: callbacks without callback-config ----------------------------------------------------------------------

def test_callback_without_callback_config_gets_a_relative_url_and_resolves(bare_server):
    server = bare_server
    task = server.create_task("callback-relative")
    res = server.wait_resolution(task["resolution"], {"WAITING"})
    created = res["steps"]["createCallback"]["output"]
    assert res["steps"]["createCallback"]["state"] == "DONE", res["steps"]["createCallback"]
    assert created["url"] == f"/unsecured/callback/{created['id']}?t={created['token']}"
    # The relative URL is the API's own route: calling it resolves the callback and resumes the task.
    r = server.post(created["url"], None, json={"success": True})
    assert r.status_code == 200 and r.json() == {"message": "The callback has been resolved"}, r.text
    server.wait_resolution(task["resolution"], {"DONE"}, timeout=10)
    assert server.task(task["id"])["result"] == {"body": "true"}


def test_callback_url_uses_the_configured_base_url_when_there_is_one(bare_server):
    from utask.core.config.settings import CallbackConfig
    from utask.core.engine.host_calls import HostCalls

    handler = bare_server.handler
    configured = HostCalls(handler.tasks, callback=CallbackConfig("https://utask.example", ""))
    try:
        bare_server.service.engine.executor.host_calls = configured
        key = f"probe-{uuid.uuid4()}"
        out = _real(bare_server, key)
    finally:
        bare_server.service.engine.executor.host_calls = handler
    callback = out["callback_create"]["ok"]
    assert callback["url"] == f"https://utask.example/unsecured/callback/{callback['id']}?t={callback['token']}"

