"""Server-sent events of the dashboard's live views: `GET /task/{id}/events` and `GET /task/events`.

Against `utask serve` subprocesses (the real engine moves the tasks; two processes on one database for the
cross-instance case), an in-process uvicorn where the test must look inside the server (clean-up of
disconnected clients), and the LISTEN fan-out (`utask.hostapi.live.TaskChanges`) on its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from utask.core.crypto import KeyRing
from utask.core.storage import migrate

from tests.api.conftest import make_settings
from tests.dashboard.server_fixtures import USERS, Served, SSEReader, ThreadedServer, serve_process, served
from tests.foundation.conftest import DEV_KEY

HELLO = {"template_name": "hello-world", "input": {"name": "Ada"}}


@pytest.fixture(scope="module")
def db(fresh_database) -> str:
    url = fresh_database()
    migrate(url)
    return url


@pytest.fixture(scope="module")
def server(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(db, tmp_path_factory.mktemp("serve")) as s:
        yield s


def create(client: httpx.Client, name: str = "Ada") -> dict:
    r = client.post("/task", json={**HELLO, "input": {"name": name}})
    assert r.status_code == 201, r.text
    return r.json()


def wait_done(client: httpx.Client, task_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/task/{task_id}").json()
        if task["state"] in ("DONE", "BLOCKED") or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


# -- a task's page ----------------------------------------------------------------------------------------------


def test_task_stream_starts_with_the_bodies_of_the_get_routes(server: Served) -> None:
    with server.client() as c:
        task = wait_done(c, create(c)["id"])
        with c.stream("GET", f"/task/{task['id']}/events") as r:
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert r.headers["cache-control"] == "no-cache, no-transform"
            events = SSEReader(r)
            first, second = events.next(), events.next()
            assert (first.event, second.event) == ("task", "resolution")
            assert first.json() == c.get(f"/task/{task['id']}").json()
            assert second.json() == c.get(f"/resolution/{task['resolution']}").json()


def test_task_stream_follows_the_engine_to_done(server: Served) -> None:
    with server.client() as c:
        created = create(c, "Bob")
        with c.stream("GET", f"/task/{created['id']}/events") as r:
            events = SSEReader(r)
            done = events.until(lambda e: e.event == "task" and e.json()["state"] == "DONE")
            assert done.json()["result"] == {"greeting": "Hello Bob!", "shout": "DONE"}
            res = events.until(lambda e: e.event == "resolution" and e.json()["state"] == "DONE")
            assert res.json()["steps"]["greet"]["output"] == {"message": "Hello Bob!"}
            # A comment is a change of the page too.
            assert c.post(f"/task/{created['id']}/comment", json={"content": "well done"}).status_code == 201
            commented = events.until(lambda e: e.event == "task" and len(e.json().get("comments") or []) == 1)
            assert commented.json()["comments"][0]["content"] == "well done"
            assert c.get(f"/task/{created['id']}").json() == commented.json()


def test_task_stream_rights_and_errors_are_those_of_get_task(server: Served) -> None:
    with server.client("alice") as alice, server.client("bob") as bob, server.client("admin") as admin:
        task = wait_done(alice, create(alice, "Alice")["id"])
        path = f"/task/{task['id']}"
        get, stream = bob.get(path), bob.get(path + "/events")  # not bob's: refused before any event
        assert (stream.status_code, stream.json()) == (get.status_code, get.json()) == (
            403, {"error": "Can't display task details"})
        for client in (alice, admin):  # the requester and the administrator may
            with client.stream("GET", path + "/events") as r:
                assert r.status_code == 200
                assert SSEReader(r).next().json() == client.get(path).json()
        missing = "00000000-0000-4000-8000-000000000000"
        for p in (f"/task/{missing}", "/task/not-a-uuid"):
            get, stream = admin.get(p), admin.get(p + "/events")
            assert (stream.status_code, stream.json()) == (get.status_code, get.json()), p
            assert stream.status_code in (400, 404)
        anonymous = httpx.get(server.url + path + "/events")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Basic realm="Authorization Required"'
        xhr = httpx.get(server.url + path + "/events", headers={"X-Requested-With": "XMLHttpRequest"})
        assert xhr.status_code == 401 and "www-authenticate" not in xhr.headers


def test_task_stream_says_gone_when_the_task_is_deleted(server: Served) -> None:
    with server.client() as c:
        task = wait_done(c, create(c)["id"])
        with c.stream("GET", f"/task/{task['id']}/events") as r:
            events = SSEReader(r)
            assert events.next().event == "task"
            assert c.delete(f"/task/{task['id']}").status_code == 204
            gone = events.until(lambda e: e.event == "gone")
            assert gone.json() == {"id": task["id"]}
            assert events.next(5) is None  # the stream ended


# -- the task list ------------------------------------------------------------------------------------------------


def test_list_stream_reports_created_tasks_the_caller_sees_and_counts(server: Served) -> None:
    with server.client("alice") as alice, server.client("bob") as bob, alice.stream("GET", "/task/events") as r:
        assert r.status_code == 200
        events = SSEReader(r)
        stats = events.next()
        assert stats.event == "stats"
        assert {"TODO", "BLOCKED", "RUNNING", "WONTFIX", "DONE", "CANCELLED"} <= set(stats.json())
        before = sum(stats.json().values())
        hidden = create(bob, "Bob")  # bob's task: not alice's to see
        mine = create(alice, "Alice")
        seen: list[str] = []

        def has_mine(e: Any) -> bool:
            if e.event == "changed":
                seen.extend(e.json()["ids"])
            return mine["id"] in seen

        events.until(has_mine)
        assert hidden["id"] not in seen
        events.until(lambda e: e.event == "stats" and sum(e.json().values()) == before + 1)


def test_list_stream_filters_and_validation(server: Served) -> None:
    with server.client() as c:
        bad = c.get("/task/events?type=mine")
        assert bad.status_code == 400 and bad.json() == c.get("/task?type=mine").json()
        assert c.get("/task/events?tag=nokey").json() == {"error": "invalid tag nokey"}
        unknown = c.get("/task/events?batch=00000000-0000-4000-8000-000000000000")
        assert unknown.status_code == 404
        with c.stream("GET", "/task/events?type=all&state=DONE") as r:
            events = SSEReader(r)
            assert events.next().event == "stats"
            # Runs at once: TODO, then DONE (entering the filter). Had it been TODO and left the filter
            # within one debounce window, there would be nothing to report: it never showed in that list.
            task = create(c, "Done")
            events.until(lambda e: e.event == "changed" and task["id"] in e.json()["ids"])


def test_a_change_made_by_another_instance_reaches_the_stream(server: Served, db: str, tmp_path: Path) -> None:
    with served(db, tmp_path / "second") as other, server.client() as here, other.client() as there:
        with here.stream("GET", "/task/events?type=all") as r:
            events = SSEReader(r)
            assert events.next().event == "stats"
            task = create(there, "Cross")
            events.until(lambda e: e.event == "changed" and task["id"] in e.json()["ids"])
        with here.stream("GET", f"/task/{task['id']}/events") as r:
            events = SSEReader(r)
            assert events.next().event == "task"
            assert there.post(f"/task/{task['id']}/comment", json={"content": "from the other one"}
                              ).status_code == 201
            events.until(lambda e: e.event == "task" and any(
                c["content"] == "from the other one" for c in e.json().get("comments") or []))


def test_sigterm_with_an_open_stream_exits_at_once(db: str, tmp_path: Path) -> None:
    s = serve_process(db, tmp_path / "stopping")
    try:
        with s.client() as c:
            task = create(c)
            with c.stream("GET", "/task/events") as r1, c.stream("GET", f"/task/{task['id']}/events") as r2:
                a, b = SSEReader(r1), SSEReader(r2)
                assert a.next().event == "stats" and b.next().event == "task"
                took = s.stop(timeout=30)
                assert took < 5, f"utask serve took {took:.1f}s to stop with open streams"
                for reader in (a, b):
                    while reader.next(5) is not None:
                        pass
        assert s.proc.returncode == 0
    finally:
        s.stop()
    assert "Traceback" not in s.output()


# -- clean-up of disconnected clients (the server in process) -------------------------------------------------


@pytest.fixture(scope="module")
def inproc(db: str) -> Iterator[ThreadedServer]:
    settings = dataclasses.replace(make_settings(db, basic_auth=dict(USERS)),  # the key of `utask serve`
                                   keyring=KeyRing.from_values([json.dumps(DEV_KEY)]))
    s = ThreadedServer(settings).start()
    try:
        yield s
    finally:
        s.stop()


def test_disconnected_clients_leave_nothing_behind(inproc: ThreadedServer, server: Served) -> None:
    with server.client() as c:
        task_id = create(c)["id"]
    hub = inproc.app.state.live
    auth = ("admin", USERS["admin"])

    def open_and_close(paths: list[str]) -> None:
        with httpx.Client(base_url=inproc.url, auth=auth, timeout=10) as client:
            streams = [client.stream("GET", p) for p in paths]
            try:
                for cm in streams:
                    r = cm.__enter__()
                    assert r.status_code == 200
                    next(r.iter_lines())  # the stream is up (its first line)
            finally:
                for cm in streams:
                    cm.__exit__(None, None, None)

    def settle(expected_tasks: int | None, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        while True:
            subs = inproc.call(lambda: hub.subscribers)
            tasks = inproc.call(lambda: len(asyncio.all_tasks()))
            if subs == 0 and (expected_tasks is None or tasks <= expected_tasks):
                return tasks
            if time.monotonic() > deadline:
                names = inproc.call(lambda: sorted(t.get_name() for t in asyncio.all_tasks()))
                pytest.fail(f"{subs} subscriptions and {tasks} tasks left: {names}")
            time.sleep(0.05)

    open_and_close(["/task/events"])  # warm: the hub's listener and poll are running from now on
    baseline = settle(None)
    assert inproc.call(lambda: hub.running)
    for _ in range(5):  # 50 streams, 10 open at a time, half of them on one task
        open_and_close(["/task/events?type=all", f"/task/{task_id}/events"] * 5)
    settle(baseline)
    assert inproc.call(lambda: (hub._all, hub._by_task)) == (set(), {})


# -- the fan-out on its own --------------------------------------------------------------------------------------


def test_fan_out_overflow_resync_reconnect_and_poll(db: str, server: Served) -> None:
    from utask.core.engine.store import Store
    from utask.hostapi.live import TaskChanges

    settings = make_settings(db)
    with server.client() as c:
        create(c, "Polled")

    async def scenario() -> None:
        store = Store(db, settings.keyring, pool_size=2)
        hub = TaskChanges(db, store, max_pending=5, poll_interval=0.2)
        try:
            every, one = hub.subscribe(None), hub.subscribe("11111111-1111-4111-8111-111111111111")
            await asyncio.wait_for(hub.listening.wait(), 10)
            # Notified at commit, never on rollback; a task's subscription only hears of its task.
            async with store.tx() as tx:
                await tx.task_changed("11111111-1111-4111-8111-111111111111")
                await tx.task_changed("22222222-2222-4222-8222-222222222222")
            with pytest.raises(RuntimeError):
                async with store.tx() as tx:
                    await tx.task_changed("33333333-3333-4333-8333-333333333333")
                    raise RuntimeError("rolled back")
            wanted = {"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"}
            deadline = time.monotonic() + 5
            while not wanted <= every.pending and time.monotonic() < deadline:
                await every.wait(1)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # the rolled-back one would be here by now
            ids, resync = every.take()  # (the module's server may be busy with other tasks meanwhile)
            assert wanted <= ids and "33333333-3333-4333-8333-333333333333" not in ids and not resync
            assert one.take() == ({"11111111-1111-4111-8111-111111111111"}, False)

            # A slow subscriber: more than max_pending distinct ids → resync instead.
            hub.publish(f"id-{i}" for i in range(10))
            assert every.take() == (set(), True)

            # The LISTEN connection is killed: the hub reconnects and tells everyone to resync.
            async with store.connection() as conn:
                await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE query = 'LISTEN utask_task_changed' AND pid <> pg_backend_pid()")
            deadline = time.monotonic() + 10
            while not every.resync and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert every.take()[1] is True and one.take()[1] is True
            await asyncio.wait_for(hub.listening.wait(), 10)

            # The poll: a change that nobody announced (last_activity moved without NOTIFY).
            with psycopg.connect(db, autocommit=True) as conn:
                row = conn.execute('SELECT public_id::text FROM "task" LIMIT 1').fetchone()
            assert row is not None, "the module's server created tasks"
            await asyncio.sleep(0.5)  # the poll has seeded its watermark
            every.take()
            with psycopg.connect(db, autocommit=True) as conn:
                conn.execute('UPDATE "task" SET last_activity = now() WHERE public_id = %s', (row[0],))
            deadline = time.monotonic() + 5
            while row[0] not in every.pending and time.monotonic() < deadline:
                await every.wait(0.5)
            assert row[0] in every.take()[0]

            # Closing ends every subscription.
            await hub.close()
            assert every.closed and one.closed
            assert await every.wait(0.01) is True
            with pytest.raises(RuntimeError):
                hub.subscribe(None)
        finally:
            await hub.close()
            await store.close()

    asyncio.run(scenario())
