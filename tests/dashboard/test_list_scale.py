"""A big history stays usable: 10,000 tasks, and the list page's requests stay fast and correct.

Smoke bounds only (2 s, generous for a shared 2-core machine): the figures are `benchmarks/api.py`'s
`api_list_20_of_10000_tasks_ms`. What is checked here is that every shape of the list page's requests
answers the right rows and counts at that size.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from utask.core.storage import migrate

from tests.api.conftest import load_templates, make_settings, start_api
from tests.dashboard.server_fixtures import bulk_insert_tasks

COUNT = 10_000
SMOKE_SECONDS = 2.0


@pytest.fixture(scope="module")
def big(fresh_database) -> Iterator[tuple[Any, list[str], str]]:
    url = fresh_database()
    migrate(url)
    settings = make_settings(url)
    server, stop = start_api(url, settings=settings, engine=False)
    try:
        server.upsert(*load_templates("dummy-template"))
        with psycopg.connect(url) as conn:
            template_id = conn.execute("SELECT id FROM task_template WHERE name = 'dummy-template'").fetchone()[0]
        ids = bulk_insert_tasks(url, settings.keyring, template_id, COUNT)
        yield server, ids, url
    finally:
        stop()


def timed(server: Any, path: str, user: str) -> tuple[Any, float]:
    server.get(path, user={"x-remote-user": user})  # warm: pools, template cache
    t0 = time.perf_counter()
    r = server.get(path, user={"x-remote-user": user})
    return r, time.perf_counter() - t0


def db_states(url: str, where: str = "", params: tuple = ()) -> Counter:
    with psycopg.connect(url) as conn:
        return Counter(dict(conn.execute(f'SELECT state, count(*) FROM "task" {where} GROUP BY state',
                                         params).fetchall()))


def test_list_pages_of_a_big_history(big) -> None:
    server, ids, url = big
    r, took = timed(server, "/task?page_size=20&type=all", "admin")
    assert r.status_code == 200 and took < SMOKE_SECONDS
    assert [t["id"] for t in r.json()] == ids[:20]  # newest activity first
    assert r.headers["X-Paging-PageSize"] == "20"
    nxt = r.headers["link"]
    assert f"last={ids[19]}" in nxt

    page2, took = timed(server, f"/task?page_size=20&type=all&last={ids[19]}", "admin")
    assert took < SMOKE_SECONDS
    assert [t["id"] for t in page2.json()] == ids[20:40]

    for path, user in (("/task?page_size=20", "alice"), ("/task?page_size=20&state=RUNNING", "alice"),
                       ("/task?page_size=20&type=all&state=BLOCKED", "admin"),
                       ("/task?page_size=20&type=all", "nobody"), ("/task?page_size=20&type=resolvable", "alice")):
        r, took = timed(server, path, user)
        assert r.status_code == 200, (path, r.text)
        assert took < SMOKE_SECONDS, (path, took)
        for t in r.json():
            if "state=" in path:
                assert t["state"] == path.rsplit("state=", 1)[1]
            if user == "alice" and "resolvable" not in path:
                assert t["requester_username"] == "alice" or "alice" in (t.get("watcher_usernames") or [])
        if user == "nobody":
            assert r.json() == []
    assert len(timed(server, "/task?page_size=20", "alice")[0].json()) == 20


def test_the_list_streams_counts_at_scale(big) -> None:
    from utask.core.engine.service import Caller
    from utask.hostapi.ops import events, tasks

    server, _, url = big

    async def counts(caller: Caller, **f: Any) -> tuple[dict[str, int], float]:
        async with tasks.read_tx(server.services.store) as tx:
            filters, params = await tasks.task_filters(tx, caller, tasks.TaskFilter(**f))
        events._stats_cache.clear()
        t0 = time.perf_counter()
        out = await events._stats(server.services.store, filters, params)
        return out, time.perf_counter() - t0

    admin = Caller(username="admin", groups=[], is_admin=True)
    alice = Caller(username="alice", groups=[], is_admin=False)
    got, took = server.call(counts, admin, type="all")
    assert took < SMOKE_SECONDS
    assert sum(got.values()) == COUNT
    assert {k: v for k, v in got.items() if v} == dict(db_states(url))
    got, took = server.call(counts, alice, type="own", state="DONE")  # the state filter does not apply
    assert took < SMOKE_SECONDS
    expected = db_states(url, """WHERE requester_username = 'alice' OR watcher_usernames ? 'alice'""")
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert set(got) >= {"TODO", "BLOCKED", "RUNNING", "WONTFIX", "DONE", "CANCELLED"}
