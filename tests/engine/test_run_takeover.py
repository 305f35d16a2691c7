"""A resolution taken over while its run goes on (reported by a user: a task cancelled while a step ran came
back and ended DONE). A forced pause, then a cancel, or another run: the live run starts nothing more, keeps
the result of the step that was under way, and never writes the resolution or the task again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from utask.core.engine import audit
from utask.core.engine.store import Store

from tests.engine import test_persistence_fixtures as fx
from tests.engine.support import EchoExecutor, Result
from tests.engine.test_persistence_fixtures import ADMIN, arun, echo_engine, insert_template, make_service

db_url = fx.db_url
keyring = fx.keyring

pytestmark = pytest.mark.timeout(60)

STEPS = {
    "slow": {"action": {"type": "gate", "configuration": {}}},  # not idempotent: marked RUNNING durably first
    "next": {"dependencies": ["slow"], "idempotent": True,
             "action": {"type": "echo", "configuration": {"output": {"v": "after"}}}},
    "last": {"dependencies": ["next"], "action": {"type": "echo", "configuration": {"output": {"v": "end"}}}},
}


class Gate:
    """An action that waits until the test opens it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, base: Any, config: Any) -> Result:
        self.started.set()
        await self.release.wait()
        return Result(output={"slept": True})


async def _state(s, task_id: str, res_id: str) -> tuple[str, str, dict[str, str]]:
    async with s.store.tx() as tx:
        res = await s.store.load_resolution(tx, res_id)
        task = await s.store.load_task(tx, task_id)
    return res.state, task.state, {n: st["state"] for n, st in res.steps.items()}


def _run(db_url, keyring, scenario):
    gate = Gate()
    executor = EchoExecutor({"gate": gate})

    async def go():
        store = Store(db_url, keyring)
        try:
            s = make_service(store, echo_engine(executor=executor))
            t = await s.create_task(ADMIN, insert_template(db_url, steps=STEPS), {})
            run = asyncio.ensure_future(s.run(t.resolution_public_id, wait=True))
            await asyncio.wait_for(gate.started.wait(), 10)
            await scenario(s, t)
            gate.release.set()
            handle = await asyncio.wait_for(run, 10)
            return s, t, handle, executor
        finally:
            await store.close()

    return go


def test_cancel_after_a_forced_pause_sticks(db_url, keyring):
    async def scenario(s, t):
        await s.pause(ADMIN, t.resolution_public_id, force=True)
        await s.cancel(ADMIN, t.resolution_public_id)

    async def go():
        s, t, handle, executor = await _run(db_url, keyring, scenario)()
        store = Store(db_url, keyring)
        try:
            s.store = store
            res_state, task_state, steps = await _state(s, t.public_id, t.resolution_public_id)
            async with store.tx() as tx:
                events = await audit.read_events(tx, t.public_id, keyring)
                verification = await audit.verify_chain(tx, t.public_id, keyring)
        finally:
            await store.close()
        assert (res_state, task_state) == ("CANCELLED", "CANCELLED")
        # the step under way finished and is recorded; nothing started after the takeover
        assert steps == {"slow": "DONE", "next": "TODO", "last": "TODO"}
        assert [c[0] for c in executor.calls] == ["gate"]
        assert handle.outcome.state == "CANCELLED"
        res_events = [(e["from_state"], e["to_state"]) for e in events if e["kind"] == "resolution_state"]
        assert res_events == [("TO_AUTORUN", "RUNNING")]  # the run never wrote its end state
        assert ("slow", "RUNNING", "DONE") in [(e["step"], e["from_state"], e["to_state"])
                                               for e in events if e["kind"] == "step_state"]
        assert verification.ok

    arun(go())


def test_a_forced_pause_stops_the_run_and_a_new_run_finishes_it(db_url, keyring):
    async def scenario(s, t):
        await s.pause(ADMIN, t.resolution_public_id, force=True)

    async def go():
        s, t, handle, executor = await _run(db_url, keyring, scenario)()
        store = Store(db_url, keyring)
        try:
            s.store = store
            assert await _state(s, t.public_id, t.resolution_public_id) == (
                "PAUSED", "RUNNING", {"slow": "DONE", "next": "TODO", "last": "TODO"})
            assert handle.outcome.state == "PAUSED"
            # resuming runs the rest, from the recorded result
            again = await s.run(t.resolution_public_id, wait=True)
            assert again.outcome.state == "DONE"
            assert await _state(s, t.public_id, t.resolution_public_id) == (
                "DONE", "DONE", {"slow": "DONE", "next": "DONE", "last": "DONE"})
            assert [c[0] for c in executor.calls] == ["gate", "echo", "echo"]
        finally:
            await store.close()

    arun(go())


@pytest.mark.parametrize("change, expected", [
    # another instance cancelled it (the API there writes the rows): the step under way is still recorded
    ("UPDATE resolution SET state = 'CANCELLED' WHERE public_id = %(r)s;"
     "UPDATE task SET state = 'CANCELLED' WHERE public_id = %(t)s",
     ("CANCELLED", "CANCELLED", {"slow": "DONE", "next": "TODO", "last": "TODO"})),
    # another run started meanwhile (its run_count): this one writes nothing more at all
    ("UPDATE resolution SET run_count = run_count + 1 WHERE public_id = %(r)s",
     ("RUNNING", "RUNNING", {"slow": "RUNNING", "next": "TODO", "last": "TODO"})),
])
def test_a_takeover_seen_only_in_the_database(db_url, keyring, change, expected):
    async def scenario(s, t):
        async with s.store.tx() as tx:
            for statement in change.split(";"):
                await tx.execute(statement, {"r": t.resolution_public_id, "t": t.public_id})

    async def go():
        s, t, handle, executor = await _run(db_url, keyring, scenario)()
        store = Store(db_url, keyring)
        try:
            s.store = store
            assert await _state(s, t.public_id, t.resolution_public_id) == expected
        finally:
            await store.close()
        assert handle.outcome.state == ("CANCELLED" if expected[0] == "CANCELLED" else "RUNNING")

    arun(go())


def test_a_pause_between_a_claim_and_its_run_wins(db_url, keyring):
    """The autorun collector claims a new resolution (TO_AUTORUN -> AUTORUNNING) within milliseconds; a pause
    sent right after the resolution was created may land between the claim and the run: the run must not
    start over it."""
    from utask.core.engine.collectors import CollectorConfig, Coordinator

    async def go():
        store = Store(db_url, keyring)
        try:
            s = make_service(store, echo_engine())
            t = await s.create_task(ADMIN, insert_template(db_url, steps=STEPS), {})
            coordinator = Coordinator(store, resolve=s.run, config=CollectorConfig())
            async with store.tx() as tx:
                await tx.execute("UPDATE resolution SET state = 'TO_AUTORUN' WHERE public_id = %(r)s",
                                 {"r": t.resolution_public_id})
            claimed = await coordinator.claim_autorun()
            assert (claimed["public_id"], claimed["state"]) == (t.resolution_public_id, "AUTORUNNING")
            await s.pause(ADMIN, t.resolution_public_id)
            await coordinator._launch(claimed["public_id"], claimed=claimed["state"])
            res_state, task_state, steps = await _state(s, t.public_id, t.resolution_public_id)
            assert res_state == "PAUSED" and set(steps.values()) == {"TODO"}
            # a manual run resumes it, as µTask's does
            assert (await s.run(t.resolution_public_id, wait=True)) is not None
        finally:
            await store.close()

    arun(go())
