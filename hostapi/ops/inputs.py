"""`POST /resolution/:id/step/:stepName/input`: answer a manual-input step (the `input` action plugin).

The `input` step waits (WAITING) with its form as metadata (`message`, `inputs`, `allowed_usernames`,
`allowed_groups`, rendered by the engine at the step's last execution). An allowed user, a resolution
manager or an admin answers with `{"values": {...}}`: the values are checked like task inputs (same
messages, §2.4–§2.5) and recorded in the step's metadata (`answer`), who answered goes to the audit
trail, and the resolution is run at once: the step runs again, finds the answer in its context and
completes with the values as output (DONE, or what its conditions decide).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from utask.core.engine import audit, states
from utask.core.engine.service import Caller, ServiceError, is_resolution_manager
from utask.core.engine.states import ResolutionState as RS
from utask.core.engine.store import LockNotAvailable, NotFoundError, Store

from ..http.errors import BadRequest, Forbidden, NotFound
from .resolutions import LockBusy
from .tasks import load_template

log = logging.getLogger("utask.api")

INPUT_ACTION = "input"
RESUMABLE = (RS.WAITING, RS.ERROR, RS.RETRY)


def _form(step: dict[str, Any]) -> dict[str, Any]:
    action = step.get("action") or {}
    if not isinstance(action, dict) or action.get("type") != INPUT_ACTION:
        return {}
    metadata = step.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _allowed(caller: Caller, form: dict[str, Any]) -> bool:
    users = form.get("allowed_usernames") or []
    groups = form.get("allowed_groups") or []
    return bool(caller.username) and (caller.username in users or bool(set(caller.groups or ()) & set(groups)))


FORM_FIELDS = ("message", "inputs", "allowed_usernames", "allowed_groups")


def form_for(caller: Caller, step: dict[str, Any]) -> dict[str, Any] | None:
    """The form of a waiting `input` step as the users it names may see it (they are often neither
    resolvers nor admins, who alone see step metadata): the rendered form without any recorded answer."""
    if step.get("state") != "WAITING":
        return None
    form = _form(step)
    if not form or not _allowed(caller, form):
        return None
    return {k: form[k] for k in FORM_FIELDS if k in form}


def _definitions(form: dict[str, Any]) -> list[Any]:
    from utask.core.templates.decode import _Ctx, decode_input

    return [decode_input(d, _Ctx("Input", "")) for d in form.get("inputs") or []]


async def answer(services: Any, caller: Caller, public_id: str, step_name: str, values: Any) -> dict[str, Any]:
    from utask.core.templates.inputs import InputError, filter_inputs, validate_inputs_values

    store: Store = services.store
    async with store.tx() as tx:
        try:
            res = await store.load_resolution(tx, public_id, lock="nowait")
        except LockNotAvailable as e:
            raise LockBusy(str(e).splitlines()[0] if str(e) else "could not obtain lock") from None
        except NotFoundError as e:
            raise NotFound(str(e)) from None
        task = await store.load_task_by_id(tx, res.id_task)
        tpl = await load_template(store, tx, task.id_template)
        step = res.steps.get(step_name)
        if step is None:
            raise NotFound(f'given stepName "{step_name}" for this resolution not found')
        form = _form(step)
        if not (caller.is_admin or is_resolution_manager(caller, tpl, task, res) or _allowed(caller, form)):
            raise Forbidden("You are not allowed to answer this input step")
        if not form or step.get("state") != states.WAITING:
            raise BadRequest(f'step "{step_name}" is not an input step waiting for an answer '
                             f'(action {(step.get("action") or {}).get("type")!r}, state {step.get("state")})')
        if "answer" in form:
            raise BadRequest(f'input step "{step_name}" has already been answered')
        if res.state == RS.RUNNING:
            raise BadRequest("resolution is running: answer the input step once the resolution is waiting")
        if res.state in (RS.CANCELLED, RS.DONE):
            raise BadRequest(f"resolution is in state {res.state}: its input steps can't be answered")
        if not isinstance(values, dict):
            raise BadRequest('body must be {"values": {...}}')
        try:
            definitions = _definitions(form)
            answered = filter_inputs(definitions, copy.deepcopy(values))
            answered = validate_inputs_values(definitions, answered)
        except InputError as e:
            raise BadRequest(str(e)) from None
        except Exception as e:  # noqa: BLE001 - a form the decoder refuses was not produced by the plugin
            raise BadRequest(f"invalid input form: {e}") from None
        step = {**step, "metadata": {**form, "answer": {"values": answered, "answered_by": caller.username}}}
        res.steps[step_name] = step
        await store.write_steps(tx, res, res.steps, [step_name])
        await audit.append(tx, [
            audit.Event(kind=audit.MANUAL, task_public_id=task.public_id, resolution_public_id=res.public_id,
                        step_name=step_name, from_state=states.WAITING, to_state=states.WAITING,
                        actor=caller.username, instance_id=store.instance_id,
                        details={"action": "input", "answered_by": caller.username}),
        ], store.keyring)
    resumed = False
    # Resumed at once when it was only waiting (or retrying); a paused or blocked resolution keeps the answer
    # for the run a human starts. The run is initialised here, its steps go on in the background.
    if res.state in RESUMABLE:
        try:
            resumed = await services.tasks.run(public_id, actor=caller.username) is not None
        except ServiceError as e:  # e.g. a collector started it meanwhile: that run reads the answer
            log.info("input step %s of %s answered, resolution not resumed here: %s", step_name, public_id, e)
    return {"message": "The input has been recorded", "values": answered, "resumed": resumed}
