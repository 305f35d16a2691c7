"""State-machine parts of the integration scenarios (subtask, callback, batch) with fake plugins;
the database, host calls and wake-ups themselves are the task service's tests.
"""

from __future__ import annotations

import asyncio

from utask.core.engine import ResolutionState as R
from utask.core.engine import RunContext, run_resolution, steps_from_template

from tests.engine.support import EchoExecutor, Failure, MiniValues, Result


def test_callback_flow_waits():
    async def create(base, config):
        return Result(output={"id": "cb-1", "url": "http://x/cb-1"})

    async def wait(base, config):
        return Result(metadata={"callback_id": config["id"]}, error=Failure("waiting", "waiting for callback"))

    steps = steps_from_template({
        "createCallback": {"action": {"type": "callback", "configuration": {"action": "create"}}},
        "waitCallback": {"dependencies": ["createCallback"],
                         "action": {"type": "wait_cb", "configuration": {"id": "{{.step.createCallback.output.id}}"}}},
    })

    async def go():
        ex = EchoExecutor({"callback": create, "wait_cb": wait})
        return await run_resolution(RunContext(steps=steps, executor=ex, values=MiniValues()))

    out = asyncio.run(go())
    assert out.steps["createCallback"].state == "DONE"
    assert out.steps["waitCallback"].state == "WAITING"
    assert out.steps["waitCallback"].metadata == {"callback_id": "cb-1"}
    assert out.state == R.WAITING and out.task_state == "WAITING" and out.next_retry is None


def test_subtask_flow_waits_then_completes_on_a_later_run():
    child_done = {"value": False}

    async def subtask(base, config):
        if child_done["value"]:
            return Result(output={"id": "child", "state": "DONE"})
        return Result(output={"id": "child", "state": "TODO"}, error=Failure("waiting", "subtask not done"))

    spec = {"subtaskCreation": {"action": {"type": "subtask", "configuration": {"template": "t"}}},
            "after": {"dependencies": ["subtaskCreation"], "action": {"type": "echo",
                                                                     "configuration": {"output": "ok"}}}}
    steps = steps_from_template(spec)
    ex = EchoExecutor({"subtask": subtask})

    async def run_once(steps):
        return await run_resolution(RunContext(steps=steps, executor=ex, values=MiniValues()))

    out = asyncio.run(run_once(steps))
    assert out.state == R.WAITING
    assert out.steps["after"].state == "TODO"
    child_done["value"] = True  # the child task finished; its end of run wakes this resolution
    out = asyncio.run(run_once(out.steps))
    assert out.state == R.DONE
    assert out.steps["subtaskCreation"].output == {"id": "child", "state": "DONE"}


def test_batch_steps_are_not_rechecked_within_a_run():
    calls = []

    async def batch(base, config):
        calls.append("batch")
        return Result(metadata='{"batch_id": "b"}', error=Failure("waiting", "batch running"))

    steps = steps_from_template({"batchJsonInputs": {"action": {"type": "batch", "configuration": {}}}})
    out = asyncio.run(run_resolution(RunContext(steps=steps, executor=EchoExecutor({"batch": batch}),
                                                values=MiniValues())))
    assert out.state == R.WAITING and calls == ["batch"]
    assert out.steps["batchJsonInputs"].output is None
