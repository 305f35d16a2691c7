"""§15.1 TestBatch and sub_batch_size (§10.4) with the real batch plugin, engine and host calls."""

from __future__ import annotations

import json
import time

from .conftest import REGULAR

BATCH_STEPS = ("batchJsonInputs", "batchYamlInputs")


def _progress(step: dict) -> dict:
    metadata = step["metadata"]
    assert isinstance(metadata, str) and '\\"' in metadata  # every quote escaped (§10.4)
    return json.loads(metadata.replace('\\"', '"'))


def _batch_tasks(server, batch_id: str) -> list[tuple[str, str]]:
    return server.sql('SELECT t.public_id::text, t.state FROM task t JOIN batch b ON b.id = t.id_batch '
                      'WHERE b.public_id = %s ORDER BY t.id', (batch_id,))


def _run_count(server, resolution: str) -> int:
    return server.sql("SELECT run_count FROM resolution WHERE public_id = %s", (resolution,))[0][0]


def test_batch(server):
    parent = server.create_task("batchtemplate", user=REGULAR)
    parent_res = server.resolve(parent["id"])
    res = server.wait_resolution(parent_res, {"WAITING"})
    batches = {}
    for name in BATCH_STEPS:
        step = res["steps"][name]
        assert step["state"] == "WAITING" and step.get("output") is None
        progress = _progress(step)
        assert progress["batch_id"] and progress == {"batch_id": progress["batch_id"], "remaining_tasks": 2,
                                                     "tasks_started": 2}
        assert step["error"] == f'tasks from batch "{progress["batch_id"]}" will start shortly'
        tasks = _batch_tasks(server, progress["batch_id"])
        assert [state for _, state in tasks] == ["TODO", "TODO"]
        batches[name] = [task_id for task_id, _ in tasks]
    child = server.task(batches["batchJsonInputs"][0])
    assert child["input"] == {"specific_string": "specific-1", "common_string": "common"}
    assert child["tags"] == {"_utask_parent_task_id": parent["id"]}
    assert child["requester_username"] == "regular"

    for name in BATCH_STEPS:
        first, last = batches[name]
        runs = _run_count(server, parent_res)
        server.wait_resolution(server.resolve(first), {"DONE"})
        assert server.task(first)["state"] == "DONE"
        time.sleep(0.3)
        assert _run_count(server, parent_res) == runs  # a sibling is not final: the parent sleeps
        child_res = server.resolve(last)
        done = server.wait_resolution(child_res, {"DONE"})
        assert all(s["state"] == "DONE" for s in done["steps"].values())
        if name != BATCH_STEPS[-1]:
            # The last child of the batch woke the parent (its other batch keeps it WAITING).
            server.wait(lambda r=runs: _run_count(server, parent_res) > r, what="parent woken")
            step = server.wait_resolution(parent_res, {"WAITING"})["steps"][name]
            assert step["state"] == "DONE" and step.get("output") is None
            assert _progress(step)["remaining_tasks"] == 0
    final = server.wait_resolution(parent_res, {"DONE"}, timeout=10)
    tries = sum(final["steps"][name]["try_count"] - 1 for name in BATCH_STEPS)
    run_max = server.sql("SELECT run_max FROM resolution WHERE public_id = %s", (parent_res,))[0][0]
    assert tries > 0 and run_max == 100 + tries  # run_max += try_count at completion (§6.8)


def test_sub_batch_size_starts_tasks_one_at_a_time(server):
    parent = server.create_task("batch-sub")
    res = server.wait_resolution(parent["resolution"], {"WAITING"})
    empty = res["steps"]["empty"]
    assert empty["state"] == "DONE"
    assert empty["metadata"] == {"batch_id": "", "remaining_tasks": 0, "tasks_started": 0}  # an object
    progress = _progress(res["steps"]["oneByOne"])
    assert (progress["remaining_tasks"], progress["tasks_started"]) == (3, 1)
    batch_id = progress["batch_id"]
    for started in (2, 3):
        (task_id, state), *rest = _batch_tasks(server, batch_id)[started - 2:]
        assert state == "TODO" and not rest
        child = server.task(task_id)
        assert child["tags"] == {"kind": "sub", "_utask_parent_task_id": parent["id"]}
        server.wait_resolution(server.resolve(task_id), {"DONE"})

        def started_more(n=started):
            step = server.resolution(parent["resolution"])["steps"]["oneByOne"]
            return step["state"] == "WAITING" and _progress(step)["tasks_started"] == n and step

        step = server.wait(started_more, what=f"{started} tasks started")
        assert _progress(step) == {"batch_id": batch_id, "remaining_tasks": 4 - started, "tasks_started": started}
        assert step["error"] == f'batch "{batch_id}" is currently RUNNING'
    last = _batch_tasks(server, batch_id)[2][0]
    server.wait_resolution(server.resolve(last), {"DONE"})
    final = server.wait_resolution(parent["resolution"], {"DONE"}, timeout=10)
    assert _progress(final["steps"]["oneByOne"])["remaining_tasks"] == 0
    assert [s for _, s in _batch_tasks(server, batch_id)] == ["DONE", "DONE", "DONE"]
    assert server.task(last)["comments"][0]["content"] == "spawned by batch-sub"


def test_batch_collected_meanwhile_is_recreated_with_its_id(server):
    """The garbage collector deleted the batch (its tasks were gone) before all tasks were started (§10.4)."""
    parent = server.create_task("batch-sub")
    res = server.wait_resolution(parent["resolution"], {"WAITING"})
    batch_id = _progress(res["steps"]["oneByOne"])["batch_id"]
    (first, _), = _batch_tasks(server, batch_id)
    server.sql("DELETE FROM task WHERE public_id = %s", (first,))
    server.sql("DELETE FROM batch WHERE public_id = %s", (batch_id,))
    runs = _run_count(server, parent["resolution"])
    r = server.post(f"/resolution/{parent['resolution']}/run")
    assert r.status_code == 204, r.text
    server.wait(lambda: _run_count(server, parent["resolution"]) > runs, what="parent run")
    step = server.wait_resolution(parent["resolution"], {"WAITING"})["steps"]["oneByOne"]
    assert _progress(step) == {"batch_id": batch_id, "remaining_tasks": 2, "tasks_started": 2}
    assert [state for _, state in _batch_tasks(server, batch_id)] == ["TODO"]  # same public id
    server.sql("UPDATE resolution SET state = 'CANCELLED' WHERE public_id = %s", (parent["resolution"],))
