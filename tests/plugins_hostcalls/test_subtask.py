"""§15.1 TestResolveSubTask, TestResolveSubTaskParentTaskPaused, TestWakeParent, and a child that runs by
itself, with the real subtask plugin, the real engine and the server's host calls (§10.3, §6.8)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.api.conftest import ADMIN

from .conftest import REGULAR

SUBTASK_STEPS = ("subtaskCreation", "jsonInputSubtask", "templatingJsonInputSubtask")


def _parent(server, template: str) -> tuple[dict, str]:
    """Created by a regular user (children stay TODO, like the §15 harness), resolved by the admin."""
    task = server.create_task(template, user=REGULAR)
    assert task.get("resolution") is None
    resolution = server.resolve(task["id"])
    return task, resolution


def _next_retry(server, resolution: str):
    return server.sql("SELECT next_retry FROM resolution WHERE public_id = %s", (resolution,))[0][0]


def _load_task(server, task_id: str):
    async def go():
        async with server.service.store.tx() as tx:
            return await server.service.store.load_task(tx, task_id)

    return server.call(go)


def _parent_to_resume(server, task_id: str):
    async def go():
        store = server.service.store
        async with store.tx() as tx:
            task = await store.load_task(tx, task_id)
            return await server.service._parent_to_resume(tx, task)

    return server.call(go)


def test_resolve_subtask(server):
    parent, parent_res = _parent(server, "subtasktemplate")
    res = server.wait_resolution(parent_res, {"WAITING"})
    assert res["steps"]["echoOK"]["state"] == "DONE"
    children = {}
    for name in SUBTASK_STEPS:
        step = res["steps"][name]
        assert step["state"] == "WAITING", step
        child_id = step["output"]["id"]
        assert step["error"] == f'Task "{child_id}" is waiting for human validation'
        assert step["output"]["state"] == "TODO" and step["output"]["requester_username"] == "regular"
        children[name] = child_id
    # Created as the parent's requester, tagged with the parent, commented (§10.3).
    child = server.task(children["jsonInputSubtask"])
    assert child["state"] == "TODO"
    assert child["tags"]["_utask_parent_task_id"] == parent["id"]
    assert child["input"] == {"quantity": 1337}
    assert server.task(children["templatingJsonInputSubtask"])["input"] == {"quantity": 42}
    assert child["comments"][0]["content"] == f"Auto created subtask, parent task {parent['id']}"

    for i, name in enumerate(SUBTASK_STEPS):
        before = _next_retry(server, parent_res)
        child_res = server.resolve(children[name])
        done = server.wait_resolution(child_res, {"DONE"})
        assert all(s["state"] == "DONE" for s in done["steps"].values())
        assert server.task(children[name])["state"] == "DONE"
        resumed = _parent_to_resume(server, children[name])
        if i < len(SUBTASK_STEPS) - 1:
            assert resumed is not None and resumed.public_id == parent["id"]
            # The wake-up moved next_retry to the child's end of run.
            after = server.wait(lambda b=before: (v := _next_retry(server, parent_res)) and v != b and v,
                                what="parent next_retry")
            assert (before is None or after > before) and after <= datetime.now(UTC)
    # The retry collector resumes the parent once the last child is done.
    final = server.wait_resolution(parent_res, {"DONE"}, timeout=10)
    assert final["steps"]["subtaskCreation"]["output"]["state"] == "DONE"
    assert final["steps"]["subtaskCreation"]["output"]["resolver_username"] == "admin"
    assert final["steps"]["jsonInputSubtask"]["output"]["result"] is None  # no result_format
    assert server.task(parent["id"])["result"] == {"foo": "OK"}


def test_resolve_subtask_parent_task_paused(server):
    parent, parent_res = _parent(server, "subtasktemplate")
    res = server.wait_resolution(parent_res, {"WAITING"})
    r = server.post(f"/resolution/{parent_res}/pause", ADMIN)
    assert r.status_code == 204, r.text
    child_id = res["steps"]["subtaskCreation"]["output"]["id"]
    server.wait_resolution(server.resolve(child_id), {"DONE"})
    assert _parent_to_resume(server, child_id) is None
    assert server.call(server.service.wake_parent, _load_task(server, child_id)) is False
    assert server.resolution(parent_res)["state"] == "PAUSED"


def test_wake_parent(server):
    parent, parent_res = _parent(server, "nooutputsubtasktemplate")
    res = server.wait_resolution(parent_res, {"WAITING"})
    assert _next_retry(server, parent_res) is None
    server.sql("UPDATE resolution SET state = 'RUNNING' WHERE public_id = %s", (parent_res,))
    child_id = res["steps"]["subtaskCreation"]["output"]["id"]
    start = datetime.now(UTC)
    server.wait_resolution(server.resolve(child_id), {"DONE"})
    next_retry = server.wait(lambda: _next_retry(server, parent_res), what="parent next_retry")
    end = datetime.now(UTC)
    assert start < next_retry < end
    time.sleep(0.3)
    assert server.resolution(parent_res)["state"] == "RUNNING"  # a running parent is not run again
    server.sql("UPDATE resolution SET state = 'CANCELLED' WHERE public_id = %s", (parent_res,))


def test_autorun_child_wakes_its_parent(server):
    parent = server.create_task("subtask-autorun")  # admin: the child auto-runs too
    res = server.wait_resolution(parent["resolution"], {"DONE"})
    child_id = res["steps"]["child"]["output"]["id"]
    assert res["steps"]["after"]["output"] == {"child_state": "DONE", "child": child_id}
    child = server.task(child_id)
    assert child["tags"] == {"origin": "parent", "_utask_parent_task_id": parent["id"]}
    assert child["requester_username"] == "admin"


def test_wontfix_child_resumes_parent_which_stops(server):
    """§6.8: /wontfix on a child resolves the parent at once; the subtask step then fails as a client error."""
    parent, parent_res = _parent(server, "nooutputsubtasktemplate")
    res = server.wait_resolution(parent_res, {"WAITING"})
    child_id = res["steps"]["subtaskCreation"]["output"]["id"]
    r = server.post(f"/task/{child_id}/wontfix", ADMIN)
    assert r.status_code == 204, r.text
    final = server.wait_resolution(parent_res, {"BLOCKED_BADREQUEST"})
    step = final["steps"]["subtaskCreation"]
    assert step["state"] == "CLIENT_ERROR" and step["error"] == f"Task '{child_id}' changed state: wontfix"
    assert step["output"]["id"] == child_id and step["output"]["state"] == "WONTFIX"
