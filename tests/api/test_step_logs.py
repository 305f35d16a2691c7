"""`logs` in the step JSON of `GET /resolution/:id` and `GET /resolution/:id/step/:name`: the real API, task
service, store (encrypted step rows in PostgreSQL) and engine, with a plugin run in the real sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from utask.core import gojson
from utask.core.engine import FunctionRegistry, PluginHostExecutor, ResourceLimiter
from utask.core.engine.service import EngineEnv
from utask.core.plugins import PluginHost

from .conftest import ADMIN, API, REGULAR, start_api, template_from

TEMPLATE = """
name: devx-logs
description: steps that log and print, and one that never runs
title_format: logs {{.input.id}}
inputs:
  - name: id
steps:
  talk:
    action:
      type: devx
      configuration: {do: log}
  slow:
    dependencies: [talk]
    action:
      type: devx
      configuration: {do: log_then_sleep}
  never:
    dependencies: [slow]
    action:
      type: devx
      configuration: {do: log}
"""

TALK_LOGS = ["INFO first talk", "WARNING two\nlines", "OUTPUT printed line", "OUTPUT error line"]
SLOW_LOGS = ["INFO before the timeout", "WARNING still before\nthe timeout", "OUTPUT printed before the timeout"]


@pytest.fixture(scope="module")
def api(api_db: str) -> Iterator[API]:
    server, stop = start_api(api_db, engine=False)
    host = PluginHost.from_config({"defaults": {"timeout": "2s", "memory_mb": 128}},
                                  modules=["tests.plugins.devx_plugins"], entry_points=False)
    server.call(host.start)
    server.services.tasks.engine = EngineEnv(executor=PluginHostExecutor(host), functions=FunctionRegistry({}),
                                             resources=ResourceLimiter({}))
    server.upsert(template_from(TEMPLATE))
    try:
        yield server
    finally:
        stop_host = host.stop
        try:
            server.call(stop_host)
        finally:
            stop()


@pytest.fixture(scope="module")
def resolution(api: API) -> dict:
    """A task of REGULAR's, resolved by the admin: talk DONE with logs, slow timed out, never TODO."""
    r = api.post("/task", user=REGULAR, json={"template_name": "devx-logs", "input": {"id": "1"}})
    assert r.status_code == 201, r.text
    r = api.post("/resolution", user=ADMIN, json={"task_id": r.json()["id"]})
    assert r.status_code == 201, r.text
    body = api.wait_state(r.json()["id"], {"BLOCKED_MAXRETRY", "ERROR", "DONE", "BLOCKED_FATAL", "TO_AUTORUN_DELAYED",
                                           "RETRY", "BLOCKED_DEADLOCK"}, timeout=60)
    assert body["steps"]["slow"]["state"] == "SERVER_ERROR", body
    return body


def test_a_step_with_logs_has_them(api, resolution):
    talk = resolution["steps"]["talk"]
    assert talk["state"] == "DONE"
    assert talk["logs"] == TALK_LOGS
    # One key more than a step that ran without logging would have (the body is Go's encoding of the step
    # maps: keys sorted, as for every map).
    assert set(talk) - set(resolution["steps"]["never"]) == {"logs", "max_retries", "output", "try_count"}
    text = api.get(f"/resolution/{resolution['id']}/step/talk").text
    assert '    "logs": [\n        "INFO first talk",\n        "WARNING two\\nlines",' in text


def test_lines_written_before_a_timeout_are_in_the_step(api, resolution):
    slow = resolution["steps"]["slow"]
    assert slow["error"] == "timed out after 2s"
    assert slow["logs"] == SLOW_LOGS


def test_a_step_without_logs_keeps_utask_json(api, resolution):
    never = resolution["steps"]["never"]
    assert never["state"] == "TODO" and "logs" not in never


def test_the_step_route_shows_the_same(api, resolution):
    step = api.get(f"/resolution/{resolution['id']}/step/talk").json()
    assert step == resolution["steps"]["talk"]
    assert "logs" not in api.get(f"/resolution/{resolution['id']}/step/never").json()


def test_callers_who_do_not_see_outputs_do_not_see_logs(api, resolution):
    body = api.get(f"/resolution/{resolution['id']}", user=REGULAR).json()  # the requester
    assert body["steps"]["talk"]["output"] is None and "logs" not in body["steps"]["talk"]
    step = api.get(f"/resolution/{resolution['id']}/step/talk", user=REGULAR).json()
    assert step["output"] is None and "logs" not in step


def test_logs_are_stored_in_the_encrypted_step_rows_not_in_the_utask_blob(api, resolution):
    store = api.services.store

    async def read() -> tuple[dict, dict]:
        async with store.tx() as tx:
            res = await store.load_resolution(tx, resolution["id"])
            row = await tx.fetchone("SELECT encrypted_steps, steps_compression_alg FROM resolution WHERE id = %(id)s",
                                    {"id": res.id})
            rows = await tx.fetchall("SELECT name, encrypted_step FROM resolution_step WHERE id_resolution = %(id)s",
                                     {"id": res.id})
        blob = store.decode_blob(res.public_id, row["encrypted_steps"], row["steps_compression_alg"] or "")
        raw = {r["name"]: bytes(r["encrypted_step"]) for r in rows}
        assert b"first talk" not in raw["talk"]  # encrypted
        return {n: store.decrypt_step(res.public_id, n, data) for n, data in raw.items()}, blob

    rows, blob = api.call(read)
    assert rows["talk"]["logs"] == TALK_LOGS and rows["slow"]["logs"] == SLOW_LOGS
    assert set(blob) == {"talk", "slow", "never"} and not any("logs" in s for s in blob.values())
    assert gojson.loads(gojson.dumps(rows["talk"]))["logs"] == TALK_LOGS

