"""The life cycle of plugin workers: none at start-up (one catalog process checks every plugin and validates
configurations, then exits), a worker spawned by the first execution that needs it and shared by concurrent
first executions, reused while warm, stopped once idle for `sandbox.idle_timeout`; `sandbox.prestart` keeps
the old behaviour for the plugins it names. Real sandbox, real processes; no timing assertions."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator

import pytest
from utask.core.plugins import ExecutionIdentity, PluginConfigError, PluginHost
from utask.core.sandbox import SandboxConfigError, supervisor
from utask_sdk.testing import plain

ATTACK = "tests.sandbox.attack_plugins"
HELLO = "tests.plugins.readme_example"
IDENTITY = ExecutionIdentity("task", "resolution", "step")


_BEFORE: set[int] = set()  # sandboxed children that existed when the test began (a session fixture's host)


@pytest.fixture(autouse=True)
def _only_this_tests_processes() -> Iterator[None]:
    """Count only the processes the test itself starts: another suite's long-lived sandbox (a session
    fixture) may have children of this process too."""
    _BEFORE.clear()
    _BEFORE.update(pid for pids in sandboxed_processes().values() for pid in pids)
    yield
    _BEFORE.clear()


def sandboxed_processes() -> dict[str, list[int]]:
    """Our sandboxed children (workers and the catalog process) by the name in their policy."""
    found: dict[str, list[int]] = {}
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] != me or fields[0] == "Z":
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 4 and argv[3].decode() == supervisor.BOOT and int(pid) not in _BEFORE:
            found.setdefault(json.loads(argv[4])["plugin"], []).append(int(pid))
    return found


def workers_of(name: str) -> list[int]:
    return sandboxed_processes().get(name, [])


async def wait_for(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def run(host: PluginHost, do: str = "inspect", **config):
    result = await host.execute("attack", config={"do": do, **config}, identity=IDENTITY)
    assert result.error is None, result.error
    return plain(result.output)


def test_worker_starts_on_first_execution_is_reused_and_stops_when_idle():
    async def go():
        host = PluginHost.from_config({"idle_timeout": "1s", "defaults": {"timeout": "10s"}}, modules=[ATTACK],
                                      entry_points=False)
        async with host:
            pool = host.pools["attack"]
            assert pool.current is None and workers_of("attack") == []  # not before first use
            first = await run(host)
            (zygote,) = workers_of("attack")
            assert pool.current is not None and pool.current.proc.pid == zygote
            assert int(first["pid"]) != zygote  # each execution is a fresh child of the warm worker
            second = await run(host)
            assert workers_of("attack") == [zygote] and int(second["pid"]) not in (zygote, int(first["pid"]))
            row = next(r for r in host.describe() if r["name"] == "attack")
            assert row["worker"] == "running" and row["layers_from"] == "worker"
            assert await wait_for(lambda: not workers_of("attack")), "the idle worker was not stopped"
            assert pool.current is None
            row = next(r for r in host.describe() if r["name"] == "attack")
            assert row["worker"] == "stopped" and row["status"] == "ready" and row["layers_applied"]
            await run(host)  # the next execution starts a fresh worker
            assert len(workers_of("attack")) == 1 and workers_of("attack") != [zygote]

    asyncio.run(go())


def test_concurrent_first_executions_share_one_worker_start(monkeypatch):
    spawned: list[str] = []
    real_spawn = supervisor.spawn

    async def counting_spawn(prepared):
        spawned.append(prepared.policy["plugin"])
        return await real_spawn(prepared)

    monkeypatch.setattr(supervisor, "spawn", counting_spawn)

    async def go():
        host = PluginHost.from_config({"defaults": {"timeout": "10s"}}, modules=[ATTACK], entry_points=False)
        async with host:
            outputs = await asyncio.gather(*(run(host, "sleep", seconds=0.2) for _ in range(6)))
            assert all(out == {"slept": True} for out in outputs)
            assert spawned.count("attack") == 1 and len(workers_of("attack")) == 1
            assert len(host.pools["attack"].workers) == 1

    asyncio.run(go())


def test_the_catalog_process_validates_without_starting_workers_then_exits():
    async def go():
        host = PluginHost.from_config({}, modules=["utask_plugin_echo", HELLO], entry_points=False)
        async with host:
            assert host.catalog is not None and workers_of("plugin-catalog") == [host.catalog.proc.pid]
            assert sorted(host.catalog_plugins) == ["echo", "hello"]
            await host.validate("echo", None, {"output": "x", "error_type": "client"})
            with pytest.raises(PluginConfigError) as err:
                await host.validate("echo", {"output": 1}, {"error_type": "bogus"})
            assert str(err.value) == "Wrong error type: expecting 'client' or 'server'"
            assert host.pools["echo"].current is None and workers_of("echo") == []
            rows = {row["name"]: row for row in host.describe()}
            assert rows["echo"]["layers_from"] == "catalog" and "seccomp" in rows["echo"]["layers_applied"]
            assert rows["echo"]["worker"] == "stopped" and rows["hello"]["status"] == "ready"

            await host.close_catalog()
            assert host.catalog is None and workers_of("plugin-catalog") == []
            with pytest.raises(PluginConfigError):  # now checked by the plugin's own worker, started for it
                await host.validate("echo", None, {"error_type": "bogus"})
            assert len(workers_of("echo")) == 1 and workers_of("hello") == []

    asyncio.run(go())


def test_prestart_list_is_honoured_and_kept_warm():
    async def go():
        host = PluginHost.from_config({"prestart": ["attack"], "idle_timeout": "0.2s"}, modules=[ATTACK, HELLO],
                                      entry_points=False)
        async with host:
            (zygote,) = workers_of("attack")  # started with the host
            assert workers_of("hello") == [] and sorted(host.catalog_plugins) == ["hello"]
            rows = {row["name"]: row for row in host.describe()}
            assert rows["attack"]["prestart"] is True and rows["attack"]["worker"] == "running"
            assert rows["hello"]["prestart"] is False and rows["hello"]["worker"] == "stopped"
            await run(host)
            result = await host.execute("hello", config={"who": "x"}, identity=IDENTITY)
            assert result.error is None
            # Well past the idle timeout: hello's worker goes, the pre-started one stays.
            assert await wait_for(lambda: not workers_of("hello")), "the idle worker was not stopped"
            assert workers_of("attack") == [zygote] and host.pools["attack"].current.proc.pid == zygote

        everything = PluginHost.from_config({"prestart": ["all"]}, modules=[ATTACK, HELLO], entry_points=False)
        async with everything:  # every plugin pre-started: no catalog process at all
            assert everything.catalog is None
            assert len(workers_of("attack")) == 1 and len(workers_of("hello")) == 1

    asyncio.run(go())


def test_idle_timeout_zero_keeps_workers():
    async def go():
        host = PluginHost.from_config({"idle_timeout": 0}, modules=[ATTACK], entry_points=False)
        async with host:
            await run(host)
            assert host.pools["attack"]._idle_timer is None and len(workers_of("attack")) == 1

    asyncio.run(go())


def test_prestart_naming_no_installed_plugin_stops_start_up():
    host = PluginHost.from_config({"prestart": ["atack"]}, modules=[ATTACK], entry_points=False)
    with pytest.raises(SandboxConfigError) as err:
        asyncio.run(host.start())
    assert str(err.value) == "sandbox.prestart: unknown plugin 'atack' (installed: attack)"
    assert workers_of("attack") == [] and workers_of("plugin-catalog") == []


def test_a_crashed_worker_is_replaced_on_next_use_and_the_replacement_goes_idle_too():
    async def go():
        host = PluginHost.from_config({"idle_timeout": "1s", "defaults": {"timeout": "10s"}}, modules=[ATTACK],
                                      entry_points=False)
        async with host:
            await run(host)
            (zygote,) = workers_of("attack")
            crashed = await host.execute("attack", config={"do": "sleep", "seconds": 60}, identity=IDENTITY,
                                         timeout=0.5)
            assert crashed.error is not None and crashed.error.message == "timed out after 500ms"
            await run(host)  # recycled after the timeout: a new worker
            assert await wait_for(lambda: zygote not in workers_of("attack"))
            assert await wait_for(lambda: not workers_of("attack")), "the replacement did not go idle"

    asyncio.run(go())


def test_a_hanging_or_crashing_check_in_the_catalog_process():
    async def go():
        host = PluginHost.from_config({"defaults": {"timeout": "1s"}}, modules=[ATTACK], entry_points=False)
        async with host:
            catalog = host.catalog
            with pytest.raises(PluginConfigError) as err:
                await host.validate("attack", None, {"validate_sleep": 30})
            assert str(err.value) == "timed out after 1s"
            await host.validate("attack", None, {})  # the catalog process goes on
            assert host.catalog is catalog and workers_of("attack") == []
            # A check that kills the catalog process: the plugin's own worker checks it again and says why.
            with pytest.raises(PluginConfigError) as err:
                await host.validate("attack", None, {"validate_exit": 3})
            assert str(err.value) == "plugin process exited with status 3 without a result"
            assert host.catalog is None and workers_of("plugin-catalog") == [] and len(workers_of("attack")) == 1

    asyncio.run(go())
