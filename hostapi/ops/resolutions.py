"""Resolution operations of the REST API beyond the task service: details, one step, and the hot fixes
of a PAUSED resolution (PUT resolution, PUT step, PUT step state) (reference §7.4).
"""

from __future__ import annotations

from typing import Any

from utask.core.engine import audit, rights
from utask.core.engine.service import Caller
from utask.core.engine.states import BUILTIN_STATE_SET
from utask.core.engine.store import LockNotAvailable, ResolutionRecord, Store, Tx

from .. import views
from ..http.errors import AlreadyExists, APIError, BadRequest, Forbidden, NotFound
from .tasks import load_template, read_tx

PAUSED = "PAUSED"


class LockBusy(APIError):
    """A NOWAIT lock held by a run: µTask answers 500 with the database's text."""

    status = 500


async def _context(store: Store, tx: Tx, public_id: str, *, lock: bool = False) -> tuple[ResolutionRecord, Any, Any]:
    try:
        res = await store.load_resolution(tx, public_id, lock="nowait" if lock else None)
    except LockNotAvailable as e:
        raise LockBusy(str(e).splitlines()[0] if str(e) else "could not obtain lock") from None
    task = await store.load_task_by_id(tx, res.id_task)
    tpl = await load_template(store, tx, task.id_template)
    return res, task, tpl


def _step_not_found(name: str) -> NotFound:
    return NotFound(f'given stepName "{name}" for this resolution not found')


async def get_resolution(store: Store, caller: Caller, public_id: str, state: Any = None) -> dict[str, Any]:
    async with read_tx(store) as tx:
        res, task, tpl = await _context(store, tx, public_id)
    if not rights.can_read_task(caller, tpl, task, res):
        raise Forbidden("Can't display resolution details")
    if state is not None and rights.is_sudo(caller, tpl, task, res):
        state.sudo = True
    if rights.sees_outputs(caller, tpl, task, res):
        return views.resolution_json(res)
    out = views.resolution_json(res, show_outputs=False)
    for name, step in (out.get("steps") or {}).items():
        out["steps"][name] = _with_input_form(caller, (res.steps or {}).get(name) or {}, step)
    return out


def _with_input_form(caller: Caller, original: dict[str, Any], hidden: dict[str, Any]) -> dict[str, Any]:
    """A hidden step, but a waiting manual-input step shows its form to the users it names."""
    from .inputs import form_for

    form = form_for(caller, original)
    return hidden if form is None else {**hidden, "metadata": form}


async def get_step(store: Store, caller: Caller, public_id: str, step_name: str) -> dict[str, Any]:
    async with read_tx(store) as tx:
        res, task, tpl = await _context(store, tx, public_id)
    step = res.steps.get(step_name)
    if step is None:
        raise _step_not_found(step_name)
    if not rights.can_read_task(caller, tpl, task, res):
        raise Forbidden("Can't display resolution details")
    if rights.sees_outputs(caller, tpl, task, res):
        return step
    return _with_input_form(caller, step, views.hide_step_outputs(step))


def _valid_state(step: dict[str, Any], state: Any) -> bool:
    if not isinstance(state, str):
        return False
    return state in BUILTIN_STATE_SET or state in (step.get("custom_states") or [])


def _normalize_step(name: str, data: Any) -> dict[str, Any]:
    """The decodable parts of µTask's ValidAndNormalize: the step must decode as a template step."""
    if not isinstance(data, dict):
        raise BadRequest(f"invalid step {name}: json: cannot unmarshal into Go value of type step.Step")
    try:
        from utask.core.templates.decode import DecodeError, _Ctx, decode_step
    except ImportError:  # templates module without the step decoder: keep the body as sent
        return dict(data)
    try:
        decode_step(data, _Ctx("Step", ""))
    except DecodeError as e:
        raise BadRequest(f"invalid step {name}: {e}") from None
    except Exception as e:  # noqa: BLE001 - any refusal of the decoder is the client's step
        raise BadRequest(f"invalid step {name}: {e}") from None
    out = dict(data)
    out.setdefault("state", "TODO")
    return out


async def _comment(store: Store, tx: Tx, task: Any, caller: Caller, text: str) -> None:
    await store.add_comment(tx, task.id, caller.username, text)


async def update_resolution(store: Store, caller: Caller, public_id: str, body: Any) -> None:
    """PUT /resolution/:id (admin): replace the steps and/or resolver inputs of a PAUSED resolution."""
    async with store.tx() as tx:
        res, task, tpl = await _context(store, tx, public_id, lock=True)
        if res.state != PAUSED:
            raise BadRequest(f"Cannot update a resolution which is not in state '{PAUSED}'")
        new_steps = None
        if body.steps is not None:
            new_steps = {}
            for name, data in body.steps.items():
                st = _normalize_step(name, data)
                if not _valid_state(st, st.get("state")):
                    raise BadRequest(f'step "{name}": invalid state provided: "{st.get("state")}" is not allowed')
                st["name"] = name
                new_steps[name] = st
        if body.resolver_inputs is not None:
            res.resolver_inputs = dict(body.resolver_inputs)
        await store.update_resolution(tx, res)
        if new_steps is not None:
            res.steps = new_steps
            await store.replace_all_steps(tx, res, new_steps)
        await _comment(store, tx, task, caller, "manually updated resolution")
        await _audit(tx, store, res, caller, "update_resolution")


async def update_step(store: Store, caller: Caller, public_id: str, step_name: str, data: Any) -> tuple[Any, str]:
    """PUT /resolution/:id/step/:stepName (admin): replace one step of a PAUSED resolution.

    Returns the task and the step's new state (the route announces the change)."""
    async with store.tx() as tx:
        res, task, tpl = await _context(store, tx, public_id, lock=True)
        if step_name not in res.steps:
            raise _step_not_found(step_name)
        if res.state != PAUSED:
            raise BadRequest(f"Cannot update a resolution which is not in state '{PAUSED}'")
        st = _normalize_step(step_name, data)
        if not _valid_state(st, st.get("state")):
            raise BadRequest(f'invalid state provided: "{st.get("state")}" is not allowed')
        st["name"] = step_name
        res.steps[step_name] = st
        await store.write_steps(tx, res, res.steps, [step_name])
        await store.write_blob(tx, res, res.steps)
        await _comment(store, tx, task, caller, f"manually updated resolution step {step_name}")
        await _audit(tx, store, res, caller, "update_step", step=step_name)
    return task, st.get("state") or ""


async def update_step_state(store: Store, caller: Caller, public_id: str, step_name: str, new_state: Any,
                            state: Any = None) -> Any:
    """PUT /resolution/:id/step/:stepName/state: admin or template owner, PAUSED resolution only.

    Returns the task (the route announces the change)."""
    async with store.tx() as tx:
        res, task, tpl = await _context(store, tx, public_id, lock=True)
        step = res.steps.get(step_name)
        if step is None:
            raise _step_not_found(step_name)
        if res.state != PAUSED:
            raise BadRequest(f"Cannot update a resolution which is not in state '{PAUSED}'")
        if not rights.can_change_step_state(caller, tpl):
            raise Forbidden("Can't update resolution step state")
        if state is not None and not rights.is_template_owner(caller, tpl):
            state.sudo = True
        old = step.get("state") or ""
        text_state = new_state if isinstance(new_state, str) else ("" if new_state is None else str(new_state))
        if not _valid_state(step, new_state):
            raise BadRequest(f'invalid state provided: "{text_state}" is not allowed')
        step = dict(step)
        step["state"] = new_state
        res.steps[step_name] = step
        await store.write_steps(tx, res, res.steps, [step_name])
        await store.write_blob(tx, res, res.steps)
        await _comment(store, tx, task, caller,
                       f"manually updated resolution step {step_name} state from {old} to {new_state}")
        await audit.append(tx, [audit.Event(
            kind=audit.STEP_STATE, task_public_id=res.task_public_id, resolution_public_id=res.public_id,
            step_name=step_name, from_state=old, to_state=new_state, actor=caller.username,
            instance_id=store.instance_id, details={"action": "update_step_state"})], store.keyring)
    return task


async def _audit(tx: Tx, store: Store, res: ResolutionRecord, caller: Caller, action: str, **details: Any) -> None:
    await audit.append(tx, [audit.Event(kind=audit.MANUAL, task_public_id=res.task_public_id,
                                        resolution_public_id=res.public_id, from_state=res.state,
                                        to_state=res.state, actor=caller.username, instance_id=store.instance_id,
                                        details={"action": action, **details})], store.keyring)


# A resolution created through the API is TO_AUTORUN, and our collectors (LISTEN/NOTIFY) claim it within
# milliseconds, where µTask's polled within 0-10 s. µTask clients (the dashboard, scripts) create then run:
# answering "already running/done" to that run would break them, so a run refused because the autorun
# collector got there first, moments after creation, counts as the run the client asked for.
AUTORUN_RACE_WINDOW = 10.0
_RACE_REFUSALS = ("Can't run resolution: already running", "Can't run resolution: already done")


async def run(services: Any, caller: Caller, public_id: str) -> None:
    """POST /resolution/:id/run: the task service's run, tolerant of the autorun race above."""
    from utask.core.engine.store import utcnow

    try:
        await services.tasks.run_manual(caller, public_id)
    except Exception as e:
        if getattr(e, "message", None) not in _RACE_REFUSALS:
            raise
        store: Store = services.store
        async with store.tx() as tx:
            res = await store.load_resolution(tx, public_id, with_steps=False)
            fresh = res.run_count <= 1 and (utcnow() - res.created).total_seconds() < AUTORUN_RACE_WINDOW
            if fresh:
                # Only the client's first run request races the collector: run_manual has just recorded
                # this one, so any earlier manual run means the refusal is genuine.
                events = await audit.read_events(tx, res.task_public_id, store.keyring)
                runs = sum(1 for e in events if e["kind"] == audit.MANUAL and e["resolution_id"] == res.public_id
                           and (e["details"] or {}).get("action") == "run")
                fresh = runs <= 1
        if not fresh:
            raise


DUPLICATE = 'Failed to create Resolution: pq: duplicate key value violates unique constraint "resolution_id_task_key"'


async def create(services: Any, caller: Caller, task_id: str, resolver_inputs: Any, start_over: bool) -> Any:
    """POST /resolution: the task service's creation, after a lock-free duplicate check.

    Without `start_over`, a task that already has a resolution answers 409 here, before the service
    locks the task row: its INSERT would otherwise wait on the running resolution's row while that run
    waits on the task row (a deadlock PostgreSQL breaks with a 500).
    """
    if not start_over:
        store: Store = services.store
        async with read_tx(store) as tx:
            task = await store.load_task(tx, task_id)
            if task.resolution_public_id is not None:
                tpl = await load_template(store, tx, task.id_template)
                if not rights.can_manage_resolution(caller, tpl, task):
                    raise Forbidden("You are not allowed to resolve this task")
                raise AlreadyExists(DUPLICATE)
    return await services.tasks.create_resolution(caller, task_id, resolver_inputs, start_over=start_over)
