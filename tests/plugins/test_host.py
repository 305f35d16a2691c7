"""The plugin host: handshake and version refusal, host calls and identity, logs, parallel executions."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from utask.core.plugins import ExecutionIdentity, HostCallError, PluginHost, PluginRefusedError, wire
from utask_sdk.testing import Sandbox, plain

ATTACK = "tests.sandbox.attack_plugins"


def test_incompatible_plugin_is_refused_at_start_up_naming_both_versions():
    host = PluginHost.from_config({}, modules=["tests.sandbox.versioned_plugins"], entry_points=False)
    with pytest.raises(PluginRefusedError) as err:
        asyncio.run(host.start())
    assert "speaks protocol 2.0.0, this server speaks 1.0.0" in str(err.value)


def test_worker_handshake_refuses_an_incompatible_server(monkeypatch):
    # A server of protocol 2 meeting a plugin that claims 2 but whose worker SDK speaks 1.
    monkeypatch.setattr(wire, "PROTOCOL_VERSION", "2.0.0")
    host = PluginHost.from_config({}, modules=["tests.sandbox.versioned_plugins"], entry_points=False,
                                  strict=False)

    async def go():
        await host.start()
        await host.stop()

    asyncio.run(go())
    assert "worker speaks protocol 1.0.0, server speaks 2.0.0" in host.refused["future"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop exists only for a server started as root")
def test_unreadable_code_path_reports_uid_drop_missing_and_a_required_layer_refuses(monkeypatch):
    from utask.core.sandbox import identity

    monkeypatch.setattr(identity, "unreadable_by_others",
                        lambda paths: "/srv/utask (mode 0700) is not readable by an unprivileged uid")
    monkeypatch.delenv("SANDBOX_REQUIRE", raising=False)
    lenient = PluginHost.from_config({}, modules=[ATTACK], entry_points=False)

    async def go(host):
        await host.start()
        rows = host.describe()
        await host.stop()
        return rows

    row = asyncio.run(go(lenient))[0]
    assert row["layers_missing"]["uid-drop"] == "/srv/utask (mode 0700) is not readable by an unprivileged uid"
    strict = PluginHost.from_config({"required_layers": ["uid-drop"]}, modules=[ATTACK], entry_points=False)
    with pytest.raises(PluginRefusedError) as err:
        asyncio.run(strict.start())
    assert "required sandbox layer(s) missing: uid-drop (/srv/utask (mode 0700)" in str(err.value)


def test_host_calls_carry_the_execution_identity():
    seen = []

    async def handler(identity, name, args):
        seen.append((identity, name, plain(args)))
        if name == "forbidden":
            raise HostCallError("client", "not allowed")
        return {"echo": args}

    async def go():
        host = PluginHost.from_config({"defaults": {"timeout": "5s"}}, modules=[ATTACK], entry_points=False)
        async with host:
            one = ExecutionIdentity("task-1", "res-1", "step-a")
            two = ExecutionIdentity("task-2", "res-2", "step-b")
            r1, r2, r3 = await asyncio.gather(
                host.execute("attack", config={"do": "hostcall", "name": "cache.get", "args": {"key": "k"}},
                             identity=one, host_calls=handler),
                host.execute("attack", config={"do": "hostcall", "name": "tags.set", "args": {"tags": {"a": "b"}}},
                             identity=two, host_calls=handler),
                host.execute("attack", config={"do": "hostcall", "name": "forbidden"}, identity=one,
                             host_calls=handler))
        return r1, r2, r3

    r1, r2, r3 = asyncio.run(go())
    assert plain(r1.output) == {"value": {"echo": {"key": "k"}}}
    assert plain(r2.output) == {"value": {"echo": {"tags": {"a": "b"}}}}
    assert r3.error is not None and r3.error.kind == "client" and r3.error.message == "not allowed"
    by_name = {name: identity for identity, name, _ in seen}
    assert by_name["cache.get"].task_id == "task-1" and by_name["tags.set"].task_id == "task-2"


def test_logs_output_metadata_tags_and_context():
    with Sandbox(modules=[ATTACK], entry_points=False) as box:
        result = box.run("attack", {"do": "log"}, step_name="stepX", task_id="T")
    assert result.error is None
    assert result.output == {"step": "stepX", "task": "T"} and plain(result.metadata) == {"m": 1}
    assert result.tags == {"k": "v"}
    assert "INFO hello from stepX" in result.logs and "OUTPUT printed line" in result.logs


def test_parallel_executions_in_one_warm_worker():
    async def go():
        host = PluginHost.from_config({"defaults": {"timeout": "5s"}}, modules=[ATTACK], entry_points=False)
        async with host:
            ident = ExecutionIdentity("t", "r", "s")
            start = time.monotonic()
            results = await asyncio.gather(*(host.execute("attack", config={"do": "sleep", "seconds": 0.5},
                                                          identity=ident) for _ in range(10)))
            return time.monotonic() - start, results, len(host.pools["attack"].workers)

    elapsed, results, workers = asyncio.run(go())
    assert all(r.error is None for r in results)
    assert elapsed < 4.0 and workers == 1  # ten half-second sleeps at once, in one worker


def test_worker_is_recycled_after_max_executions():
    with Sandbox(sandbox={"defaults": {"max_executions": 2}}, modules=[ATTACK], entry_points=False) as box:
        pids = {int(plain(box.run("attack", {"do": "inspect"}).output)["pid"]) for _ in range(4)}
        assert len(pids) == 4  # a fresh child each time
        assert box.host.pools["attack"].current.executions <= 2


def test_the_readme_example_runs_verbatim_in_the_sandbox():
    from utask_sdk.testing import run_action

    result = run_action("hello", {"who": "world"}, modules=["tests.plugins.readme_example"])
    assert result.error is None and result.output == {"greeting": "hi world"}
    missing = run_action("hello", {}, modules=["tests.plugins.readme_example"])
    assert missing.error is not None and missing.error.kind == "server" and missing.error.message == "'who'"


def test_execution_identity_to_dict_has_every_field():
    import dataclasses

    ident = ExecutionIdentity("t", "r", "s", template_name="tpl", requester="a", resolver="b")
    assert ident.to_dict() == dataclasses.asdict(ident)
