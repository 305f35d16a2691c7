"""The task service: what the REST API, the collectors and the plugins' host calls ask of tasks and runs.

Creation of tasks and resolutions (§7.4 POST /task, POST /resolution), runs (`run`: µTask's `Resolve`,
§6.3 initialisation in one transaction under `FOR NO KEY UPDATE`, crash recovery §5.12), the manual
actions (pause, extend, cancel, wontfix) and the wake-up of parent tasks (§6.8). Every change goes
through `utask.core.engine.store` (no SQL here) and is recorded in the audit trail in the same
transaction. Errors carry µTask's texts; `ServiceError.kind` says which HTTP status the API answers.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from . import audit, states
from .audit import Event
from .collectors import WAKE_AUTORUN, WAKE_RETRY, Coordinator, Semaphore, ShuttingDown
from .results import RunRefused, check_can_run, recover_crashed
from .rights import is_requester, is_resolution_manager, is_template_owner
from .states import ResolutionState as RS
from .states import TaskState as TS
from .steps import Step
from .store import (
    NotFoundError,
    ResolutionRecord,
    RunWriter,
    Store,
    TaskRecord,
    Tx,
    decode_template_row,
    utcnow,
)

log = logging.getLogger(__name__)

PARENT_TAG = "_utask_parent_task_id"
MIN_TEXT_SIZE = 3
MAX_TEXT_SIZE_LONG = 100000
DEFAULT_RETRY_MAX = 100
RUN_REPLY_TIMEOUT = 5.0  # POST /resolution/:id/run answers 204 after this long (§7.4)


class ServiceError(Exception):
    """An error for the caller; `kind` maps to the HTTP status (bad_request 400, forbidden 403, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def bad_request(message: str) -> ServiceError:
    return ServiceError("bad_request", message)


def forbidden(message: str) -> ServiceError:
    return ServiceError("forbidden", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("not_found", message)


@dataclass
class Caller:
    """Who asks: identity, groups and whether they are an admin (decided by the API's auth layer)."""

    username: str = ""
    groups: list[str] = field(default_factory=list)
    is_admin: bool = False


# -- rights (§7.3): `utask.core.engine.rights` ------------------------------------------------------


def valid_text(what: str, value: str) -> None:
    # µTask measures bytes (Go len), not characters.
    size = len(value.encode("utf-8"))
    if size < MIN_TEXT_SIZE:
        raise bad_request(f"{what} can't be shorter than {MIN_TEXT_SIZE} characters")
    if size > MAX_TEXT_SIZE_LONG:
        raise bad_request(f"{what} can't be longer than {MAX_TEXT_SIZE_LONG} characters")


# -- templates, inputs, templating (owned by other modules; adapted here) -----------------------------------------


decode_template = decode_template_row  # the API's name for it


def _input_error(e: Exception) -> bool:
    from utask.core.templates.inputs import InputError

    return isinstance(e, InputError)


def _validate_inputs(definitions: Iterable[Any], values: dict[str, Any] | None) -> dict[str, Any]:
    from utask.core.templates.inputs import validate_inputs_values

    return validate_inputs_values(definitions, values)


def _filter_inputs(definitions: Iterable[Any], values: dict[str, Any] | None) -> dict[str, Any]:
    from utask.core.templates.inputs import filter_inputs

    return filter_inputs(definitions, values)


def task_infos(task: TaskRecord, region: str = "") -> dict[str, Any]:
    """µTask's ExportTaskInfos: what `.task` holds in templates."""
    m: dict[str, Any] = {"task_id": task.public_id, "created": task.created,
                         "requester_username": task.requester_username or ""}
    if task.requester_groups:
        m["requester_groups"] = ",".join(task.requester_groups)
    if task.resolver_username is not None:
        m["resolver_username"] = task.resolver_username
        if task.resolver_groups:
            m["resolver_groups"] = ",".join(task.resolver_groups)
    if task.watcher_usernames:
        m["watcher_usernames"] = ",".join(task.watcher_usernames)
    if task.watcher_groups:
        m["watcher_groups"] = ",".join(task.watcher_groups)
    m["last_activity"] = task.last_activity
    m["region"] = region
    if task.resolution_public_id is not None:
        m["resolution_id"] = task.resolution_public_id
    return m


def _values(tpl: Any, task: TaskRecord, input_values: dict[str, Any] | None, region: str) -> Any:
    """A values container for title and tags rendering (inputs, variables, task infos)."""
    try:
        from utask.core.templating import Values
    except ImportError:  # templating not merged yet: render nothing
        return None
    v = Values()
    v.set_input(input_values or {})
    v.set_variables([var.to_json() if hasattr(var, "to_json") else var for var in (tpl.variables or [])])
    v.set_task_infos(task_infos(task, region))
    return v


def _render(values: Any, source: str) -> str:
    if values is None:
        return source
    return values.render(source)


@dataclass
class EngineEnv:
    """What a run needs besides the database: the action executor (plugin host), functions, resource
    semaphores, configuration items for `.config`. A service without one only initialises runs (tests
    of coordination, maintenance tools)."""

    executor: Any
    functions: Any = None
    resources: Any = None  # utask.core.engine.ResourceLimiter (one per instance)
    config: dict[str, Any] = field(default_factory=dict)
    identity_factory: Callable[[str, Any], Any] | None = None
    values_factory: Callable[[], Any] | None = None
    on_step_update: Callable[[str, str], None] | None = None  # task_step_update notifications (§11)


@dataclass
class RunHandle:
    """A started run: its records, and its outcome once the engine's loop has ended."""

    resolution: ResolutionRecord
    task: TaskRecord
    template: Any
    actor: str | None = None
    writer: RunWriter | None = None
    outcome: Any = None


class TaskService:
    """Task and resolution operations for one process (API handlers, collectors, plugins' host calls)."""

    def __init__(
        self,
        store: Store,
        *,
        coordinator: Coordinator | None = None,
        engine: EngineEnv | None = None,
        region: str = "",
        execution_slots: Semaphore | None = None,
        notifier: Any = None,
    ) -> None:
        self.store = store
        # utask.core.notify.Notifier (§11): told of task state and step changes; None sends nothing.
        self.notifier = notifier
        self.coordinator = coordinator
        self.engine = engine
        self.region = region
        self._execution_slots = execution_slots
        self._local_shutdown = asyncio.Event()
        self._local_grace = asyncio.Event()
        # Runs executing in this process, by resolution public id: plugins' host calls are honoured only
        # for a resolution that is running here (the identity the plugin host attached names it).
        self._live_runs: dict[str, RunHandle] = {}

    # -- helpers --------------------------------------------------------------------------------------------
    def _notify(self, event: str, *args: Any, **kw: Any) -> None:
        """Tell the notifier (it only queues; sending is in the background). A notification problem must
        never undo or fail a state change, so errors are logged here."""
        if self.notifier is None:
            return
        try:
            getattr(self.notifier, event)(*args, **kw)
        except Exception:  # noqa: BLE001
            log.exception("notification %s not queued", event)

    def step_changed(self, task: TaskRecord, step_name: str, state: str) -> None:
        """A step's state changed outside a run (manual edits through the API): task_step_update."""
        self._notify("step_update", task, step_name, state)

    def _on_task_state(self, task: TaskRecord, old: str, new: str) -> None:
        self._notify("task_state", task)

    def _step_listener(self, task: TaskRecord, other: Callable[[str, str], None] | None
                       ) -> Callable[[str, str], None] | None:
        """The engine's step-update callback: task_step_update notifications, then the environment's own."""
        if self.notifier is None:
            return other

        def listener(name: str, state: str) -> None:
            self._notify("step_update", task, name, state)
            if other is not None:
                other(name, state)

        return listener

    @property
    def instance_id(self) -> int | None:
        return self.store.instance_id

    @property
    def shutting_down(self) -> asyncio.Event:
        return self.coordinator.shutting_down if self.coordinator else self._local_shutdown

    @property
    def grace_over(self) -> asyncio.Event:
        return self.coordinator.grace_over if self.coordinator else self._local_grace

    async def _template(self, tx: Tx, *, name: str | None = None, template_id: int | None = None) -> Any:
        try:
            # Decoding costs more than the rest of a POST /task: the process-wide cache keeps it while the
            # row is unchanged (shared with the API's reads).
            return await self.store.decoded_template(tx, name=name, template_id=template_id)
        except NotFoundError as e:
            raise not_found(str(e)) from None

    async def _task(self, tx: Tx, public_id: str, *, lock: bool = False) -> TaskRecord:
        try:
            return await self.store.load_task(tx, public_id, lock=lock)
        except NotFoundError as e:
            raise not_found(str(e)) from None

    async def _resolution(self, tx: Tx, public_id: str, *, lock: str | None = None,
                          with_steps: bool = True) -> ResolutionRecord:
        try:
            return await self.store.load_resolution(tx, public_id, lock=lock, with_steps=with_steps)
        except NotFoundError as e:
            raise not_found(str(e)) from None

    def _validate_task(self, task: TaskRecord, tpl: Any) -> None:
        """µTask's Task.Valid + title re-rendering (every validated update)."""
        if task.state not in states.TASK_STATES:
            raise bad_request(f"Wrong state: {task.state}")
        if task.input is None:
            raise bad_request("Missing input")
        try:
            full = _validate_inputs(tpl.inputs, copy.deepcopy(task.input))
        except Exception as e:
            if _input_error(e):
                raise ServiceError("not_valid", str(e)) from None
            raise
        task.title = _render(_values(tpl, task, full, self.region), tpl.title_format)

    async def _comment(self, tx: Tx, task: TaskRecord, username: str, content: str) -> dict:
        try:
            valid_text("task comment", content)
        except ServiceError as e:
            raise bad_request(f"Failed to create comment: {e.message}") from None
        return await self.store.add_comment(tx, task.id, username, content)

    # -- tasks -------------------------------------------------------------------------------------------------
    async def create_task(
        self,
        caller: Caller,
        template_name: str,
        input: dict[str, Any] | None,
        *,
        comment: str | None = None,
        watcher_usernames: list[str] | None = None,
        watcher_groups: list[str] | None = None,
        resolver_usernames: list[str] | None = None,
        resolver_groups: list[str] | None = None,
        delay: str | None = None,
        tags: dict[str, str] | None = None,
        batch_id: int | None = None,
        internal_tags: bool = False,
        tx: Tx | None = None,
    ) -> TaskRecord:
        """POST /task (§7.4): one transaction (the caller's `tx` when creating a batch)."""
        if tx is None:
            async with self.store.tx(pipeline=True) as own:
                return await self.create_task(
                    caller, template_name, input, comment=comment, watcher_usernames=watcher_usernames,
                    watcher_groups=watcher_groups, resolver_usernames=resolver_usernames,
                    resolver_groups=resolver_groups, delay=delay, tags=tags, batch_id=batch_id,
                    internal_tags=internal_tags, tx=own)
        tpl = await self._template(tx, name=template_name)
        if tags and PARENT_TAG in tags and not internal_tags:
            raise bad_request(f'tag name "{PARENT_TAG}" not allowed')
        if (resolver_usernames or resolver_groups) and not (caller.is_admin or is_template_owner(caller, tpl)):
            raise forbidden("resolver_usernames and resolver_groups can't be set by a regular user, "
                            "you need to be owner of the template, or admin")
        if tpl.blocked:
            raise ServiceError("not_valid", "Template not available (blocked)")
        delay_until: datetime | None = None
        delay_error: ServiceError | None = None
        if delay is not None:
            from utask.core.config.durations import DurationError, parse_go_duration_ns

            try:
                delay_until = utcnow() + timedelta(microseconds=parse_go_duration_ns(delay) / 1000)
            except DurationError as e:
                delay_error = ServiceError("not_valid", f"delay: {e}")
        now = utcnow()
        raw_input = input if input is not None else {}
        task = TaskRecord(
            id=0, public_id=str(uuid.uuid4()), title="", id_template=tpl.id, id_batch=batch_id,
            template_name=tpl.name, requester_username=caller.username,
            requester_groups=list(caller.groups) if caller.groups else None,
            watcher_usernames=watcher_usernames, watcher_groups=watcher_groups,
            resolver_usernames=resolver_usernames, resolver_groups=resolver_groups, created=now,
            state=TS.DELAYED if delay is not None else TS.TODO, steps_done=0, steps_total=len(tpl.steps or {}),
            last_activity=now, tags=None, input=_filter_inputs(tpl.inputs, raw_input),
            result=copy.deepcopy(tpl.result_format) if tpl.result_format is not None else None,
        )
        try:
            _validate_inputs(tpl.inputs, copy.deepcopy(task.input))
        except Exception as e:
            if _input_error(e):
                raise bad_request(f"Failed to create new Task: {e}") from None
            raise
        # QUIRK kept (§2.5): the title at creation sees the unfiltered, default-less input.
        values = _values(tpl, task, raw_input, self.region)
        try:
            task.title = _render(values, tpl.title_format)
            merged = dict(tpl.tags or {})
            merged.update(tags or {})
            task.tags = {k: _render(values, v) for k, v in merged.items()} if (tpl.tags is not None or tags) else None
        except Exception as e:
            if type(e).__name__ in ("TemplatingError", "TemplateError"):
                raise bad_request(f"Failed to create new Task: {e}") from None
            raise
        await self.store.insert_task(tx, task)
        events = [Event(kind=audit.TASK_CREATED, task_public_id=task.public_id, to_state=task.state,
                        actor=caller.username, instance_id=self.instance_id,
                        details={"template": tpl.name})]
        if comment:
            await self._comment(tx, task, caller.username, comment)
        auto = tpl.auto_runnable and not tpl.resolver_inputs
        if not auto and tpl.allow_all_resolver_usernames:
            raise ServiceError("internal", f'invalid tasktemplate: "{tpl.name}" should be auto_runnable')
        if auto and (caller.is_admin or (is_requester(caller, task) and tpl.allow_all_resolver_usernames)
                     or is_resolution_manager(caller, tpl, task)):
            if delay_error is not None:
                raise delay_error
            res = await self._insert_resolution(tx, task, tpl, None, caller.username, delay_until)
            task.resolution_public_id = res.public_id
            task.resolver_username = res.resolver_username
            events.append(Event(kind=audit.RESOLUTION_CREATED, task_public_id=task.public_id,
                                resolution_public_id=res.public_id, to_state=res.state, actor=caller.username,
                                instance_id=self.instance_id))
            await tx.notify(WAKE_RETRY if delay_until is not None else WAKE_AUTORUN)
        await audit.append(tx, events, self.store.keyring)
        # §11.1: the task as created (µTask notifies before any resolution exists), then task_validation
        # when nobody runs it yet.
        self._notify("task_created", replace(task, resolution_public_id=None, resolver_username=None), tpl,
                     validation=task.resolution_public_id is None)
        return task

    async def _insert_resolution(self, tx: Tx, task: TaskRecord, tpl: Any, resolver_inputs: dict | None,
                                 resolver: str, delay_until: datetime | None) -> ResolutionRecord:
        if task.state == TS.WONTFIX:
            raise bad_request(f"Failed to create Resolution: Task is in state {TS.WONTFIX}")
        public_id = str(uuid.uuid4())
        steps: dict[str, Any] = {}
        for name, st in (tpl.steps or {}).items():
            data = st.to_json() if hasattr(st, "to_json") else dict(st)
            data["name"] = name
            data["state"] = states.TODO
            steps[name] = data
        if tpl.resolver_inputs:
            try:
                resolver_inputs = _validate_inputs(tpl.resolver_inputs, resolver_inputs)
            except Exception as e:
                if _input_error(e):
                    raise bad_request(f"Failed to create Resolution: {e}") from None
                raise
        res = ResolutionRecord(
            id=0, public_id=public_id, id_task=task.id, task_public_id=task.public_id, task_title=task.title,
            resolver_username=resolver, state=RS.TO_AUTORUN_DELAYED if delay_until is not None else RS.TO_AUTORUN,
            instance_id=None, created=utcnow(), last_start=None, last_stop=None, next_retry=delay_until,
            run_count=0, run_max=tpl.retry_max if tpl.retry_max is not None else DEFAULT_RETRY_MAX,
            steps_compression_alg="", base_configurations=tpl.base_configurations or {},
            resolver_inputs=resolver_inputs if resolver_inputs is not None else {}, steps=steps,
        )
        try:
            await self.store.insert_resolution(tx, res)
        except Exception as e:
            if type(e).__name__ == "UniqueViolation":
                raise ServiceError("conflict", f"Failed to create Resolution: {e}") from None
            raise
        return res

    async def create_resolution(
        self, caller: Caller, task_id: str, resolver_inputs: dict[str, Any] | None = None, *,
        start_over: bool = False,
    ) -> ResolutionRecord:
        """POST /resolution (§7.4)."""
        async with self.store.tx(pipeline=True) as tx:
            task = await self._task(tx, task_id, lock=True)
            if start_over and task.resolution_public_id is None:
                raise bad_request("can't start over a task that hasn't been resolved at least once")
            tpl = await self._template(tx, template_id=task.id_template)
            admin = caller.is_admin
            manager = is_resolution_manager(caller, tpl, task)
            if not admin and not manager:
                raise forbidden("You are not allowed to resolve this task")
            events: list[Event] = []
            if admin:
                task.resolver_usernames = [*(task.resolver_usernames or []), caller.username]
                self._validate_task(task, tpl)
                await self.store.update_task(tx, task, bump_activity=False)
            if start_over:
                if not admin and manager and not tpl.allow_task_start_over:
                    raise forbidden("You are not allowed to start over this task")
                old = await self._resolution(tx, task.resolution_public_id, lock="wait", with_steps=False)
                if old.state not in (RS.PAUSED, RS.BLOCKED_BADREQUEST, RS.CANCELLED):
                    raise bad_request(
                        'can\'t start over a task that isn\'t in status "PAUSED", "BLOCKED_BADREQUEST" or "CANCELLED"')
                await self.store.delete_resolution(tx, old.id)
                events.append(Event(kind=audit.MANUAL, task_public_id=task.public_id,
                                    resolution_public_id=old.public_id, from_state=old.state,
                                    actor=caller.username, instance_id=self.instance_id,
                                    details={"action": "start_over"}))
            res = await self._insert_resolution(tx, task, tpl, resolver_inputs, caller.username, None)
            events.append(Event(kind=audit.RESOLUTION_CREATED, task_public_id=task.public_id,
                                resolution_public_id=res.public_id, to_state=res.state, actor=caller.username,
                                instance_id=self.instance_id))
            await tx.notify(WAKE_AUTORUN)
            await audit.append(tx, events, self.store.keyring)
        res.task_title = ""  # µTask's POST /resolution answers with an empty task_title
        return res

    async def wontfix(self, caller: Caller, task_id: str) -> None:
        """POST /task/:id/wontfix (§7.4); wakes the parent task directly (§6.8)."""
        parent_res: str | None = None
        async with self.store.tx() as tx:
            task = await self._task(tx, task_id)
            if task.state != TS.TODO:
                raise bad_request(f"Can't set task's state to WONTFIX: task is in state {task.state}")
            tpl = await self._template(tx, template_id=task.id_template)
            if not (caller.is_admin or is_requester(caller, task) or is_resolution_manager(caller, tpl, task)):
                raise forbidden("Can't set task's state to WONTFIX")
            old = task.state
            task.state = TS.WONTFIX
            self._validate_task(task, tpl)
            await self.store.update_task(tx, task)
            await self._comment(tx, task, caller.username, "changed task state to WONTFIX")
            await audit.append(tx, [Event(kind=audit.TASK_STATE, task_public_id=task.public_id, from_state=old,
                                          to_state=task.state, actor=caller.username,
                                          instance_id=self.instance_id, details={"action": "wontfix"})],
                               self.store.keyring)
            parent = await self._parent_to_resume(tx, task)
            if parent is not None:
                parent_res = parent.resolution_public_id
        self._notify("task_state", task)
        if parent_res is not None:
            self._spawn(self.run(parent_res))

    # -- manual actions on resolutions -------------------------------------------------------------------------------
    async def _manual_context(self, tx: Tx, public_id: str) -> tuple[ResolutionRecord, TaskRecord, Any]:
        try:
            res = await self.store.load_resolution(tx, public_id, lock="nowait", with_steps=False)
        except NotFoundError as e:
            raise not_found(str(e)) from None
        task = await self.store.load_task_by_id(tx, res.id_task)
        tpl = await self._template(tx, template_id=task.id_template)
        return res, task, tpl

    async def pause(self, caller: Caller, public_id: str, *, force: bool = False) -> None:
        async with self.store.tx() as tx:
            res, task, tpl = await self._manual_context(tx, public_id)
            if not caller.is_admin and not is_resolution_manager(caller, tpl, task, res):
                raise forbidden("You are not allowed to pause this task")
            if force:
                if not caller.is_admin:
                    raise forbidden("Not an admin user")
            elif res.state in (RS.CANCELLED, RS.RUNNING, RS.DONE):
                raise bad_request(f"Can't pause resolution while in state {res.state}")
            old = res.state
            res.state = RS.PAUSED
            await self.store.update_resolution(tx, res)
            await self._comment(tx, task, caller.username, "manually paused resolution")
            await self._audit_manual(tx, res, caller, "pause", old, res.state, force=force)
        self._yield_live_run(public_id, res.state, task.state)

    def _yield_live_run(self, public_id: str, res_state: str, task_state: str) -> None:
        """A run of this resolution going on in this process stops starting steps now (one on another
        instance notices at its next commit)."""
        live = self._live_runs.get(public_id)
        if live is not None and live.writer is not None:
            live.writer.yield_to(res_state, task_state)

    async def extend(self, caller: Caller, public_id: str) -> None:
        async with self.store.tx() as tx:
            res, task, tpl = await self._manual_context(tx, public_id)
            if not caller.is_admin and not is_resolution_manager(caller, tpl, task, res):
                raise forbidden("Not allowed to extend resolution")
            if res.state != RS.BLOCKED_MAXRETRIES:
                raise bad_request(f"Cannot extend a resolution which is not in state '{RS.BLOCKED_MAXRETRIES}'")
            await self._comment(tx, task, caller.username, "manually extended resolution")
            res.run_max += tpl.retry_max if tpl.retry_max is not None else DEFAULT_RETRY_MAX
            old = res.state
            res.state = RS.ERROR
            res.next_retry = utcnow()
            await self.store.update_resolution(tx, res, next_retry="guarded")
            await self._audit_manual(tx, res, caller, "extend", old, res.state)
            await tx.notify(WAKE_RETRY)

    async def cancel(self, caller: Caller, public_id: str) -> None:
        async with self.store.tx() as tx:
            res, task, tpl = await self._manual_context(tx, public_id)
            if not caller.is_admin and not is_resolution_manager(caller, tpl, task, res):
                raise forbidden("You are not allowed to cancel this task")
            if res.state in (RS.CANCELLED, RS.RUNNING, RS.DONE):
                raise bad_request(f"Can't cancel resolution: state {res.state}")
            old = res.state
            res.state = RS.CANCELLED
            await self.store.update_resolution(tx, res)
            old_task = task.state
            task.state = TS.CANCELLED
            await self.store.update_task(tx, task)
            await self._comment(tx, task, caller.username, "cancelled resolution")
            await self._audit_manual(tx, res, caller, "cancel", old, res.state)
            await audit.append(tx, [Event(kind=audit.TASK_STATE, task_public_id=task.public_id,
                                          resolution_public_id=res.public_id, from_state=old_task,
                                          to_state=task.state, actor=caller.username,
                                          instance_id=self.instance_id)], self.store.keyring)
        self._yield_live_run(public_id, res.state, task.state)
        if old_task != task.state:
            self._notify("task_state", task)

    async def _audit_manual(self, tx: Tx, res: ResolutionRecord, caller: Caller, action: str, old: str, new: str,
                            **details: Any) -> None:
        await audit.append(tx, [Event(kind=audit.MANUAL, task_public_id=res.task_public_id,
                                      resolution_public_id=res.public_id, from_state=old, to_state=new,
                                      actor=caller.username, instance_id=self.instance_id,
                                      details={"action": action, **details})], self.store.keyring)

    async def run_manual(self, caller: Caller, public_id: str) -> None:
        """POST /resolution/:id/run: rights, comment, then Resolve; its error if it returns within 5 s."""
        async with self.store.tx() as tx:
            res = await self._resolution(tx, public_id, with_steps=False)
            task = await self.store.load_task_by_id(tx, res.id_task)
            tpl = await self._template(tx, template_id=task.id_template)
            if not caller.is_admin and not is_resolution_manager(caller, tpl, task, res):
                raise forbidden("You are not allowed to resolve this task")
            await self._comment(tx, task, caller.username, "manually ran resolution")
            await audit.append(tx, [Event(kind=audit.MANUAL, task_public_id=task.public_id,
                                          resolution_public_id=res.public_id, from_state=res.state,
                                          actor=caller.username, instance_id=self.instance_id,
                                          details={"action": "run"})], self.store.keyring)
        attempt = asyncio.ensure_future(self.run(public_id, actor=caller.username))
        done, _ = await asyncio.wait({attempt}, timeout=RUN_REPLY_TIMEOUT)
        if attempt in done:
            attempt.result()
        else:
            self._track(attempt)

    # -- runs ----------------------------------------------------------------------------------------------------------
    async def run(self, public_id: str, semaphore: Semaphore | None = None, *, actor: str | None = None,
                  wait: bool = False, claimed: str | None = None) -> RunHandle | None:
        """µTask's Resolve: initialise in one transaction, admit, then run in the background.

        Returns the run's handle (None when the run was aborted at initialisation, e.g. crash recovery
        blocked it). With `wait=True` returns only when the run has ended (µTask's SyncResolve).
        """
        handle = await self._initialise(public_id, actor, claimed)
        if handle is None:
            return None
        try:
            await self._admit(handle, semaphore)
        except ShuttingDown:
            raise ServiceError("internal", "instance is shutting down") from None
        self._live_runs[handle.resolution.public_id] = handle
        task = asyncio.ensure_future(self._drive(handle, semaphore))
        self._track(task)
        if wait:
            await task
        return handle

    async def _initialise(self, public_id: str, actor: str | None, claimed: str | None = None) -> RunHandle | None:
        async with self.store.tx(pipeline=True) as tx:
            res = await self._resolution(tx, public_id, lock="wait")
            if claimed is not None and res.state != claimed:
                # A collector claimed it, then someone paused or cancelled it before the run began: theirs.
                log.info("resolution %s: claimed as %s, now %s: not run", public_id, claimed, res.state)
                return None
            try:
                check_can_run(res.state)
            except RunRefused as e:
                raise bad_request(str(e)) from None
            old_state = res.state
            changed: list[str] = []
            events: list[Event] = []
            if res.state == RS.CRASHED:
                # §5.12: idempotent steps left RUNNING are re-run, the others need a human.
                steps = {name: Step.from_json(data, name=name) for name, data in res.steps.items()}
                changed, blocked = recover_crashed(steps)
                for name in changed:  # the record keeps the persisted (JSON) shape
                    res.steps[name] = steps[name].to_json()
                for name in changed:
                    events.append(Event(kind=audit.STEP_STATE, task_public_id=res.task_public_id,
                                        resolution_public_id=res.public_id, step_name=name,
                                        from_state=states.RUNNING, to_state=steps[name].state, actor=actor,
                                        instance_id=self.instance_id, details={"cause": "crash recovery"}))
                if blocked:
                    res.state = RS.BLOCKED_TOCHECK
            if res.state != RS.BLOCKED_TOCHECK:
                res.state = RS.RUNNING
                res.instance_id = self.instance_id
                res.last_start = utcnow()
                res.run_count += 1
            await self.store.write_steps(tx, res, res.steps, changed)
            await self.store.update_resolution(tx, res)
            task = await self.store.load_task_by_id(tx, res.id_task)
            old_task_state = task.state
            task.state = TS.BLOCKED if res.state == RS.BLOCKED_TOCHECK else TS.RUNNING
            tpl = await self._template(tx, template_id=task.id_template)
            try:
                self._validate_task(task, tpl)
            except ServiceError as e:
                if e.kind not in ("bad_request", "not_valid"):
                    raise
                # The template changed under the task: hold both for a human (saved without validation).
                log.warning("resolution %s: task %s no longer valid: %s", public_id, task.public_id, e)
                res.state = RS.BLOCKED_TOCHECK
                await self.store.update_resolution(tx, res)
                task.state = TS.BLOCKED
            await self.store.update_task(tx, task)
            if res.state != old_state:
                events.append(Event(kind=audit.RESOLUTION_STATE, task_public_id=res.task_public_id,
                                    resolution_public_id=res.public_id, from_state=old_state, to_state=res.state,
                                    actor=actor, instance_id=self.instance_id,
                                    details={"run_count": res.run_count}))
            if task.state != old_task_state:
                events.append(Event(kind=audit.TASK_STATE, task_public_id=task.public_id,
                                    resolution_public_id=res.public_id, from_state=old_task_state,
                                    to_state=task.state, actor=actor, instance_id=self.instance_id))
            await audit.append(tx, events, self.store.keyring)
        # After the commit: run start (RUNNING) or held for a human (BLOCKED); crash-recovered steps.
        if task.state != old_task_state:
            self._notify("task_state", task)
        for name in changed:
            self._notify("step_update", task, name, res.steps[name].get("state", ""))
        if task.state == TS.BLOCKED:
            return None
        return RunHandle(resolution=res, task=task, template=tpl, actor=actor)

    async def _admit(self, handle: RunHandle, semaphore: Semaphore | None) -> None:
        """Admission after commit (§6.3): crashed-instance semaphore, `template:<name>`, execution slot."""
        if semaphore is not None:
            await semaphore.acquire()
        try:
            limiter = self.engine.resources if self.engine is not None else None
            if limiter is not None:
                label = "template:" + handle.task.template_name
                if not await limiter.acquire(label, self.shutting_down):
                    if self.shutting_down.is_set():
                        raise ShuttingDown()
                    await self._template_unavailable(handle)
                    raise ServiceError("internal", f'can\'t acquire lock for template "{handle.task.template_name}"')
            slots = self._slots()
            if slots is not None:
                try:
                    await slots.acquire()
                except BaseException:
                    if limiter is not None:
                        limiter.release("template:" + handle.task.template_name)
                    raise
        except BaseException:
            if semaphore is not None:
                semaphore.release()
            raise

    async def _template_unavailable(self, handle: RunHandle) -> None:
        """§5.13: the template's resource is dead or busy: task BLOCKED, retried in 10 minutes."""
        writer = RunWriter(self.store, handle.resolution, handle.task, actor=handle.actor,
                           on_task_state=self._on_task_state, owned_run=handle.resolution.run_count)
        await writer.commit(None, {"state": RS.TO_AUTORUN_DELAYED, "next_retry": utcnow() + timedelta(minutes=10)},
                            {"state": TS.BLOCKED})

    def _slots(self) -> Semaphore | None:
        if self._execution_slots is not None:
            return self._execution_slots
        return self.coordinator.execution_slots if self.coordinator else None

    async def _drive(self, handle: RunHandle, semaphore: Semaphore | None) -> None:
        env = self.engine
        try:
            if env is not None:
                await self._run_engine(handle, env)
        finally:
            if self._live_runs.get(handle.resolution.public_id) is handle:
                del self._live_runs[handle.resolution.public_id]
            if env is not None and env.resources is not None:
                env.resources.release("template:" + handle.task.template_name)
            slots = self._slots()
            if slots is not None:
                slots.release()
            if semaphore is not None:
                semaphore.release()
        if env is not None:
            try:
                await self.wake_parent(handle.task)
            except Exception as e:  # noqa: BLE001 - µTask logs it and moves on
                log.info("parent of task %s not woken: %s", handle.task.public_id, e)

    async def _run_engine(self, handle: RunHandle, env: EngineEnv) -> None:
        from .runner import RunContext as EngineContext
        from .runner import run_resolution

        res, task, tpl = handle.resolution, handle.task, handle.template
        writer = handle.writer = RunWriter(self.store, res, task, actor=handle.actor, on_task_state=self._on_task_state,
                                           owned_run=res.run_count)
        inputs = _validate_inputs(tpl.inputs, copy.deepcopy(task.input))

        def set_tags(tags: dict[str, str]) -> None:
            task.tags = tags

        ctx = EngineContext(
            steps=res.steps, executor=env.executor, template=tpl, base_configurations=res.base_configurations,
            task_infos=task_infos(task, self.region), inputs=inputs, resolver_inputs=res.resolver_inputs or {},
            config=env.config, values_factory=env.values_factory, functions=env.functions,
            resources=env.resources, shutdown=self.shutting_down, grace_period_end=self.grace_over,
            run_count=res.run_count, run_max=res.run_max, task_tags=dict(task.tags or {}),
            identity_factory=env.identity_factory, commit=writer.commit, mark_running=writer.mark_running,
            emit_step_update=self._step_listener(task, env.on_step_update), set_task_tags=set_tags,
            taken_over=lambda: writer.taken_over,
        )
        started = time.monotonic()
        handle.outcome = await run_resolution(ctx)
        if writer.taken_over is None:  # µTask's blob mirrors the steps of a run that ended as the owner
            await writer.write_blob(handle.outcome.steps)
        _observe_run(tpl.name, time.monotonic() - started, handle.outcome.state, task.created, res.created)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        self._track(asyncio.ensure_future(coro))

    def _track(self, task: asyncio.Future) -> None:
        if self.coordinator is not None and isinstance(task, asyncio.Task):
            self.coordinator.track_run(task)
        task.add_done_callback(_log_failure)

    # -- plugins' host calls ------------------------------------------------------------------------------------------
    def live_run(self, resolution_public_id: str) -> RunHandle | None:
        """The run of this resolution executing in this process, if any."""
        return self._live_runs.get(resolution_public_id)

    async def extend_run_max(self, resolution_public_id: str, step_name: str) -> int:
        """§6.8: a completed batch adds its step's try_count to the resolution's run_max.

        Written to the row and to the live run's record: the run's own commits write `run_max` from that
        record, so changing only the row would be undone by the next commit.
        """
        from utask.core.storage.queries import host_calls as hq

        async with self.store.tx() as tx:
            res = await self._resolution(tx, resolution_public_id)
            step = res.steps.get(step_name)
            if step is None:
                raise not_found(f"step '{step_name}' not found in resolution")
            amount = int(step.get("try_count") or 0)
            row = await tx.fetchone(hq.INCREASE_RUN_MAX, {"id": res.id, "amount": amount})
            await tx.task_changed(res.task_public_id)
        live = self._live_runs.get(resolution_public_id)
        if live is not None:
            live.resolution.run_max += amount
        return int(row["run_max"]) if row else res.run_max + amount

    # -- parents (§6.8) ------------------------------------------------------------------------------------------------
    async def _parent_to_resume(self, tx: Tx, task: TaskRecord) -> TaskRecord | None:
        if task.state not in (TS.DONE, TS.WONTFIX, TS.CANCELLED):
            return None
        parent_id = (task.tags or {}).get(PARENT_TAG)
        if not parent_id:
            return None
        if task.id_batch is not None and await self.store.count_unfinished_batch_siblings(tx, task.id_batch):
            return None
        try:
            parent = await self.store.load_task(tx, parent_id)
        except NotFoundError:
            return None
        if parent.state not in (TS.BLOCKED, TS.RUNNING, TS.WAITING) or parent.resolution_public_id is None:
            return None
        res = await self.store.load_resolution(tx, parent.resolution_public_id, with_steps=False)
        if res.state in (RS.CRASHED, RS.PAUSED):
            return None
        return parent

    async def wake_parent(self, task: TaskRecord) -> bool:
        """At the end of every run: bring the parent's next_retry to now so the retry collector resumes it."""
        if task.state not in (TS.DONE, TS.WONTFIX, TS.CANCELLED) or not (task.tags or {}).get(PARENT_TAG):
            return False  # what `_parent_to_resume` answers first, without a transaction (most runs)
        async with self.store.tx() as tx:
            parent = await self._parent_to_resume(tx, task)
            if parent is None:
                return False
            res = await self.store.load_resolution(tx, parent.resolution_public_id, with_steps=False)
            await self.store.update_next_retry(tx, res.id, utcnow())
            await tx.notify(WAKE_RETRY)
        return True

    # -- key rotation ---------------------------------------------------------------------------------------------------
    async def rotate_keys(self) -> dict[str, int]:
        """POST /key-rotate: callbacks, tasks (and their audit details), resolutions under the newest key."""
        return await self.store.rotate_keys()


def _log_failure(task: asyncio.Future) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ServiceError):
        log.error("background run failed", exc_info=exc)


async def start_instance(
    service: TaskService,
    settings: Any,
    *,
    executor: Any,
    functions: Any = None,
    identity_factory: Callable[[str, Any], Any] | None = None,
    on_step_update: Callable[[str, str], None] | None = None,
    maintenance_mode: bool = False,
    collector_config: Any = None,
) -> Coordinator:
    """Composition for `utask serve`: give the API's task service an engine and start this instance.

    `settings` is `utask.core.config.Settings` (utask-cfg limits, `.config` items); `executor` wraps the
    plugin host (`utask.core.engine.PluginHostExecutor`). In maintenance mode only the heartbeat runs
    (µTask starts no collector). Stop with `await coordinator.shutdown()` (§6.5), then `store.close()`.
    """
    from .collectors import CollectorConfig
    from .functions import FunctionRegistry
    from .resources import ResourceLimiter

    cfg = settings.utask
    limiter = ResourceLimiter(dict(cfg.resource_limits or {}), cfg.resource_acquire_timeout.total_seconds())
    if functions is not None and not isinstance(functions, FunctionRegistry):
        functions = FunctionRegistry(functions)
    service.engine = EngineEnv(
        executor=executor, functions=functions or FunctionRegistry({}), resources=limiter,
        config=settings.template_config_items(), identity_factory=identity_factory, on_step_update=on_step_update)
    config = collector_config or CollectorConfig.from_utask_cfg(cfg)
    if maintenance_mode:
        config.collectors = False
    coordinator = Coordinator(service.store, service.run, config)
    service.coordinator = coordinator
    await coordinator.start()
    return coordinator


def _observe_run(template: str, seconds: float, state: str, task_created: datetime,
                 resolution_created: datetime | None) -> None:
    """Run duration, and µTask's completion summaries when the resolution is DONE (reference §13)."""
    from utask.core.metrics import METRICS

    METRICS.run_duration.labels(template=template).observe(seconds)
    if state == RS.DONE:
        now = utcnow()
        METRICS.complete_times.labels(template=template).observe((now - task_created).total_seconds())
        if resolution_created is not None:
            METRICS.exec_times.labels(template=template).observe((now - resolution_created).total_seconds())

