"""The task service: POST /task, POST /resolution, run/pause/extend/cancel/wontfix (§7.4) and their texts."""

from __future__ import annotations

import uuid

import pytest
from utask.core.engine import audit
from utask.core.engine.service import Caller, ServiceError
from utask.core.engine.store import Store

from tests.engine import test_persistence_fixtures as fx
from tests.engine.test_persistence_fixtures import (
    ADMIN,
    OWNER,
    USER,
    arun,
    echo_engine,
    insert_template,
    make_service,
    sql,
)

# Fixtures of the shared module (a freshly migrated database per test module, the keyring).
db_url = fx.db_url
keyring = fx.keyring

INPUTS = [{"name": "name", "description": "who"}, {"name": "opt", "description": "o", "optional": True,
                                                    "default": "dflt"}]


def _err(coro) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        arun(coro)
    return info.value


def _with_service(db_url, keyring, fn, engine=None):
    async def go():
        store = Store(db_url, keyring)
        try:
            return await fn(make_service(store, engine))
        finally:
            await store.close()

    return go()


def test_create_task_error_texts(db_url, keyring):
    tpl = insert_template(db_url, inputs=INPUTS)
    blocked = insert_template(db_url, blocked=True)

    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(USER, "nope", {})))
    assert e.kind == "not_found"
    assert str(e) == 'Failed to load template "nope" from name: sql: no rows in result set'
    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(
        USER, tpl, {"name": "x"}, tags={"_utask_parent_task_id": "x"})))
    assert (e.kind, str(e)) == ("bad_request", 'tag name "_utask_parent_task_id" not allowed')
    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(
        USER, tpl, {"name": "x"}, resolver_usernames=["a"])))
    assert e.kind == "forbidden" and str(e) == (
        "resolver_usernames and resolver_groups can't be set by a regular user, you need to be owner of the "
        "template, or admin")
    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(USER, blocked, {})))
    assert str(e) == "Template not available (blocked)" and e.kind == "not_valid"
    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(USER, tpl, {"other": 1})))
    assert (e.kind, str(e)) == ("bad_request", "Failed to create new Task: Missing input 'name'")
    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(USER, tpl, {"name": "x"}, comment="ab")))
    assert str(e) == "Failed to create comment: task comment can't be shorter than 3 characters"
    e = _err(_with_service(db_url, keyring, lambda s: s.create_task(ADMIN, tpl, {"name": "x"}, delay="3 days")))
    assert str(e).startswith("delay: time: ") and e.kind == "not_valid"


def test_create_task_filters_inputs_and_decides_autorun(db_url, keyring):
    tpl = insert_template(db_url, inputs=INPUTS, tags={"team": "core"})

    async def go(s):
        by_user = await s.create_task(USER, tpl, {"name": "x", "junk": "dropped"}, comment="hello there",
                                      tags={"k": "v"})
        by_admin = await s.create_task(ADMIN, tpl, {"name": "y"})
        by_owner = await s.create_task(OWNER, tpl, {"name": "z"}, delay="1h")
        return by_user, by_admin, by_owner

    by_user, by_admin, by_owner = arun(_with_service(db_url, keyring, go))
    # Filtered before storage, defaults not stored (§2.5).
    assert by_user.input == {"name": "x"} and by_user.state == "TODO"
    assert by_user.tags == {"team": "core", "k": "v"}
    assert by_user.resolution_public_id is None  # a regular user waits for a resolver
    assert sql(db_url, "SELECT count(*) FROM task_comment c JOIN task t ON t.id = c.id_task "
               "WHERE t.public_id = %s", (by_user.public_id,))[0][0] == 1
    state, next_retry = sql(db_url, "SELECT state, next_retry FROM resolution WHERE public_id = %s",
                            (by_admin.resolution_public_id,))[0]
    assert state == "TO_AUTORUN" and next_retry is None
    assert by_owner.state == "DELAYED"
    state, next_retry = sql(db_url, "SELECT state, next_retry FROM resolution WHERE public_id = %s",
                            (by_owner.resolution_public_id,))[0]
    assert state == "TO_AUTORUN_DELAYED" and next_retry is not None


def test_create_resolution_rules_and_texts(db_url, keyring):
    tpl = insert_template(db_url, auto_runnable=False, resolver_inputs=[{"name": "ri1", "description": "r"}])

    async def go(s):
        t = await s.create_task(USER, tpl, {})
        errors = {}
        for label, coro in {
            "start_over_none": s.create_resolution(ADMIN, t.public_id, {"ri1": "a"}, start_over=True),
            "forbidden": s.create_resolution(USER, t.public_id, {"ri1": "a"}),
            "missing": s.create_resolution(OWNER, t.public_id, {}),
            "unknown": s.create_resolution(ADMIN, str(uuid.uuid4()), {}),
        }.items():
            try:
                await coro
            except ServiceError as e:
                errors[label] = (e.kind, str(e))
        res = await s.create_resolution(OWNER, t.public_id, {"ri1": "a"})
        try:
            await s.create_resolution(OWNER, t.public_id, {"ri1": "a"})
        except ServiceError as e:
            errors["twice"] = (e.kind, str(e))
        try:
            await s.create_resolution(OWNER, t.public_id, {"ri1": "a"}, start_over=True)
        except ServiceError as e:
            errors["start_over_state"] = (e.kind, str(e))
        return t, res, errors

    t, res, errors = arun(_with_service(db_url, keyring, go))
    assert errors["start_over_none"] == ("bad_request",
                                         "can't start over a task that hasn't been resolved at least once")
    assert errors["forbidden"] == ("forbidden", "You are not allowed to resolve this task")
    assert errors["missing"] == ("bad_request", "Failed to create Resolution: Missing input 'ri1'")
    assert errors["unknown"][0] == "not_found"
    assert errors["twice"][0] == "conflict"
    assert errors["start_over_state"] == ("forbidden", "You are not allowed to start over this task")
    assert res.state == "TO_AUTORUN" and res.resolver_username == "owner" and res.task_title == ""
    assert res.run_max == 100 and set(res.steps) == {"one"} and res.steps["one"]["state"] == "TODO"


def test_run_refusals_and_manual_actions(db_url, keyring):
    tpl = insert_template(db_url, retry_max=3)

    async def go(s):
        t = await s.create_task(ADMIN, tpl, {})
        rid = t.resolution_public_id
        texts = {}

        async def attempt(label, coro):
            try:
                await coro
            except ServiceError as e:
                texts[label] = (e.kind, str(e))

        for state in ("CANCELLED", "RUNNING", "DONE"):
            sql(db_url, "UPDATE resolution SET state = %s WHERE public_id = %s", (state, rid))
            await attempt(state, s.run(rid))
        await attempt("pause_running", s.pause(OWNER, rid))
        await attempt("pause_user", s.pause(USER, rid))
        await attempt("pause_force_not_admin", s.pause(OWNER, rid, force=True))
        await s.pause(ADMIN, rid, force=True)
        await attempt("extend_wrong_state", s.extend(OWNER, rid))
        await attempt("extend_user", s.extend(USER, rid))
        sql(db_url, "UPDATE resolution SET state = 'BLOCKED_MAXRETRIES', run_max = 3 WHERE public_id = %s", (rid,))
        await s.extend(OWNER, rid)
        await attempt("cancel_user", s.cancel(USER, rid))
        await s.cancel(OWNER, rid)
        await attempt("cancel_again", s.cancel(OWNER, rid))
        await attempt("wontfix_state", s.wontfix(ADMIN, t.public_id))
        other = await s.create_task(USER, tpl, {})
        await attempt("wontfix_user", s.wontfix(Caller("stranger"), other.public_id))
        await s.wontfix(USER, other.public_id)
        return t, other, texts

    t, other, texts = arun(_with_service(db_url, keyring, go))
    assert texts["CANCELLED"] == ("bad_request", "Can't run resolution: cancelled")
    assert texts["RUNNING"] == ("bad_request", "Can't run resolution: already running")
    assert texts["DONE"] == ("bad_request", "Can't run resolution: already done")
    assert texts["pause_running"] == ("bad_request", "Can't pause resolution while in state DONE")
    assert texts["pause_user"] == ("forbidden", "You are not allowed to pause this task")
    assert texts["pause_force_not_admin"] == ("forbidden", "Not an admin user")
    assert texts["extend_wrong_state"] == (
        "bad_request", "Cannot extend a resolution which is not in state 'BLOCKED_MAXRETRIES'")
    assert texts["extend_user"] == ("forbidden", "Not allowed to extend resolution")
    assert texts["cancel_user"] == ("forbidden", "You are not allowed to cancel this task")
    assert texts["cancel_again"] == ("bad_request", "Can't cancel resolution: state CANCELLED")
    assert texts["wontfix_state"] == ("bad_request", "Can't set task's state to WONTFIX: task is in state CANCELLED")
    assert texts["wontfix_user"] == ("forbidden", "Can't set task's state to WONTFIX")
    rows = sql(db_url, "SELECT r.state, r.run_max, t.state FROM resolution r JOIN task t ON t.id = r.id_task "
               "WHERE t.public_id = %s", (t.public_id,))
    assert rows == [("CANCELLED", 6, "CANCELLED")]  # extended by retry_max (3) before the cancel
    assert sql(db_url, "SELECT state FROM task WHERE public_id = %s", (other.public_id,)) == [("WONTFIX",)]
    comments = [r[0] for r in sql(db_url, "SELECT c.content FROM task_comment c JOIN task t ON t.id = c.id_task "
                                  "WHERE t.public_id = %s ORDER BY c.id", (t.public_id,))]
    assert comments == ["manually paused resolution", "manually extended resolution", "cancelled resolution"]

    async def chain(store):
        async with store.tx() as tx:
            return await audit.verify_chain(tx, t.public_id, keyring), await audit.read_events(
                tx, t.public_id, keyring)

    async def go_chain():
        store = Store(db_url, keyring)
        try:
            return await chain(store)
        finally:
            await store.close()

    verification, events = arun(go_chain())
    assert verification.ok
    manual = [(e["details"]["action"], e["actor"]) for e in events if e["kind"] == "manual_action"]
    assert manual == [("pause", "admin"), ("extend", "owner"), ("cancel", "owner")]


def test_run_initialisation_and_crash_recovery(db_url, keyring):
    steps = {"idem": {"idempotent": True, "action": {"type": "echo", "configuration": {}}},
             "once": {"action": {"type": "echo", "configuration": {}}}}
    tpl = insert_template(db_url, steps=steps)

    async def go(s):
        t1 = await s.create_task(ADMIN, tpl, {})
        t2 = await s.create_task(ADMIN, tpl, {})
        handle = await s.run(t1.resolution_public_id)  # no engine: initialisation only
        assert handle is not None
        row = sql(db_url, "SELECT state, run_count, instance_id, last_start FROM resolution WHERE public_id = %s",
                  (t1.resolution_public_id,))[0]
        assert row[0] == "RUNNING" and row[1] == 1 and row[3] is not None
        assert sql(db_url, "SELECT state FROM task WHERE public_id = %s", (t1.public_id,)) == [("RUNNING",)]
        # Crash: both steps were RUNNING on a dead instance.
        for rid in (t1.resolution_public_id, t2.resolution_public_id):
            async with s.store.tx() as tx:
                res = await s.store.load_resolution(tx, rid, lock="wait")
                for st in res.steps.values():
                    st["state"] = "RUNNING"
                await s.store.write_steps(tx, res, res.steps, list(res.steps))
        sql(db_url, "UPDATE resolution SET state = 'CRASHED' WHERE public_id = %s", (t1.resolution_public_id,))
        blocked = await s.run(t1.resolution_public_id)
        assert blocked is None
        async with s.store.tx() as tx:
            res = await s.store.load_resolution(tx, t1.resolution_public_id)
        assert res.state == "BLOCKED_TOCHECK" and res.run_count == 1  # not incremented
        assert res.steps["idem"]["state"] == "TODO" and res.steps["once"]["state"] == "CRASHED"
        assert sql(db_url, "SELECT state FROM task WHERE public_id = %s", (t1.public_id,)) == [("BLOCKED",)]
        # Only idempotent steps were running: the run proceeds.
        async with s.store.tx() as tx:
            res2 = await s.store.load_resolution(tx, t2.resolution_public_id, lock="wait")
            res2.steps["once"]["state"] = "DONE"
            await s.store.write_steps(tx, res2, res2.steps, ["once"])
        sql(db_url, "UPDATE resolution SET state = 'CRASHED' WHERE public_id = %s", (t2.resolution_public_id,))
        handle = await s.run(t2.resolution_public_id)
        assert handle is not None and handle.resolution.state == "RUNNING" and handle.resolution.run_count == 1
        assert handle.resolution.steps["idem"]["state"] == "TODO"

    arun(_with_service(db_url, keyring, go))


def test_end_to_end_run_with_the_engine_persists_blob_rows_and_audit(db_url, keyring):
    steps = {
        "first": {"action": {"type": "echo", "configuration": {"output": {"v": "1"}}}},
        "second": {"dependencies": ["first"], "action": {"type": "echo", "configuration": {"output": {"v": "2"}}}},
        "third": {"dependencies": ["second"], "action": {"type": "echo", "configuration": {"output": {"v": "3"}}}},
    }
    tpl = insert_template(db_url, steps=steps)

    async def go(s):
        t = await s.create_task(ADMIN, tpl, {})
        handle = await s.run(t.resolution_public_id, wait=True)
        assert handle.outcome.state == "DONE"
        async with s.store.tx() as tx:
            res = await s.store.load_resolution(tx, t.resolution_public_id)
            task = await s.store.load_task(tx, t.public_id)
            blob = (await tx.fetchone("SELECT encrypted_steps, steps_compression_alg FROM resolution "
                                      "WHERE id = %(id)s", {"id": res.id}))
            verification = await audit.verify_chain(tx, t.public_id, keyring)
            events = await audit.read_events(tx, t.public_id, keyring)
        assert res.state == "DONE" and task.state == "DONE" and task.steps_done == 3
        assert {n: st["state"] for n, st in res.steps.items()} == {"first": "DONE", "second": "DONE",
                                                                    "third": "DONE"}
        mirrored = s.store.decode_blob(res.public_id, blob["encrypted_steps"], blob["steps_compression_alg"])
        assert {n: st["state"] for n, st in mirrored.items()} == {"first": "DONE", "second": "DONE",
                                                                   "third": "DONE"}
        assert verification.ok
        step_events = [(e["step"], e["from_state"], e["to_state"]) for e in events if e["kind"] == "step_state"]
        assert ("first", "RUNNING", "DONE") in step_events or ("first", "TODO", "DONE") in step_events
        res_events = [(e["from_state"], e["to_state"]) for e in events if e["kind"] == "resolution_state"]
        assert res_events[0] == ("TO_AUTORUN", "RUNNING") and res_events[-1] == ("RUNNING", "DONE")

    arun(_with_service(db_url, keyring, go, engine=echo_engine()))


def test_wake_parent_moves_next_retry_to_now(db_url, keyring):
    tpl = insert_template(db_url)

    async def go(s):
        parent = await s.create_task(ADMIN, tpl, {})
        sql(db_url, "UPDATE resolution SET state = 'WAITING', last_start = now() - interval '1 minute', "
            "next_retry = now() + interval '1 hour' WHERE public_id = %s", (parent.resolution_public_id,))
        sql(db_url, "UPDATE task SET state = 'WAITING' WHERE public_id = %s", (parent.public_id,))
        child = await s.create_task(ADMIN, tpl, {}, tags={"_utask_parent_task_id": parent.public_id},
                                    internal_tags=True)
        child.state = "DONE"
        assert await s.wake_parent(child)
        row = sql(db_url, "SELECT next_retry < now() + interval '1 minute' FROM resolution WHERE public_id = %s",
                  (parent.resolution_public_id,))
        assert row == [(True,)]
        child.state = "RUNNING"  # only finished children wake their parent
        assert not await s.wake_parent(child)

    arun(_with_service(db_url, keyring, go))


def test_start_instance_runs_new_tasks_end_to_end(db_url, keyring):
    """The serve composition: create_task → NOTIFY → autorun claim → run → DONE, within one process."""
    import asyncio
    import time

    from utask.core.config.settings import Settings
    from utask.core.config.utask_cfg import UtaskConfig
    from utask.core.engine.collectors import CollectorConfig
    from utask.core.engine.service import start_instance

    from tests.engine.support import EchoExecutor

    steps = {"a": {"action": {"type": "echo", "configuration": {"output": {"v": "1"}}}},
             "b": {"dependencies": ["a"], "action": {"type": "echo", "configuration": {"output": {"v": "2"}}}}}
    tpl = insert_template(db_url, steps=steps)
    settings = Settings(database_url=db_url, keyring=keyring, utask=UtaskConfig())

    async def go():
        store = Store(db_url, keyring)
        service = make_service(store)
        coord = await start_instance(service, settings, executor=EchoExecutor(),
                                     collector_config=CollectorConfig(poll_max_sleep=10.0))
        if echo_engine().values_factory is not None:  # no templating yet: the engine's minimal values
            service.engine.values_factory = echo_engine().values_factory
        try:
            await asyncio.wait_for(coord.listening.wait(), 10)
            started = time.perf_counter()
            task = await service.create_task(ADMIN, tpl, {})
            while sql(db_url, "SELECT state FROM task WHERE public_id = %s", (task.public_id,)) != [("DONE",)]:
                assert time.perf_counter() - started < 8, "not done"
                await asyncio.sleep(0.01)
            return time.perf_counter() - started
        finally:
            await coord.shutdown()
            await store.close()

    took = arun(go())
    assert took < 8  # the polling fallback alone would be at 10 s


def test_run_blocks_a_task_its_changed_template_no_longer_accepts(db_url, keyring):
    """§6.3 step 5: inputs re-validated at run start; a failure holds task and resolution for a human."""
    tpl = insert_template(db_url, inputs=[{"name": "a", "description": "a"}])

    async def go(s):
        t = await s.create_task(ADMIN, tpl, {"a": "x"})
        sql(db_url, "UPDATE task_template SET inputs = %s WHERE name = %s",
            ('[{"name": "a", "description": "a"}, {"name": "b", "description": "new"}]', tpl))
        assert await s.run(t.resolution_public_id) is None
        row = sql(db_url, "SELECT r.state, t.state FROM resolution r JOIN task t ON t.id = r.id_task "
                  "WHERE t.public_id = %s", (t.public_id,))
        assert row == [("BLOCKED_TOCHECK", "BLOCKED")]

    arun(_with_service(db_url, keyring, go))


def test_manual_run_returns_the_refusal_and_comments(db_url, keyring):
    tpl = insert_template(db_url)

    async def go(s):
        t = await s.create_task(ADMIN, tpl, {})
        sql(db_url, "UPDATE resolution SET state = 'DONE' WHERE public_id = %s", (t.resolution_public_id,))
        with pytest.raises(ServiceError) as info:
            await s.run_manual(OWNER, t.resolution_public_id)
        assert str(info.value) == "Can't run resolution: already done"
        with pytest.raises(ServiceError) as info:
            await s.run_manual(USER, t.resolution_public_id)
        assert str(info.value) == "You are not allowed to resolve this task"
        comments = sql(db_url, "SELECT c.content FROM task_comment c JOIN task t ON t.id = c.id_task "
                       "WHERE t.public_id = %s", (t.public_id,))
        assert comments == [("manually ran resolution",)]

    arun(_with_service(db_url, keyring, go))


def test_title_and_tags_are_rendered(db_url, keyring):
    try:
        from utask.core.templating import Values  # noqa: F401
    except ImportError:
        pytest.skip("templating not available")
    tpl = insert_template(db_url, inputs=INPUTS, title_format="Hello {{.input.name}} {{.input.opt}}",
                          tags={"who": "{{.input.name}}"})

    async def go(s):
        t = await s.create_task(ADMIN, tpl, {"name": "x", "extra": "y"})
        # At creation the title sees the raw input (no defaults): µTask's quirk (§2.5).
        assert t.title == "Hello x <no value>" and t.tags == {"who": "x"}
        await s.run(t.resolution_public_id)  # no engine: the initialisation re-renders with defaults
        assert sql(db_url, "SELECT title FROM task WHERE public_id = %s", (t.public_id,)) == [("Hello x dflt",)]

    arun(_with_service(db_url, keyring, go))
