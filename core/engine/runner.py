"""A run of a resolution (reference §6.3): the asyncio main loop, end-of-run evaluation, shutdown (§6.5).

Storage-agnostic: the caller (the task service) loads the resolution, builds a `RunContext` and persists
what the callbacks hand it.

Callbacks (all optional):
* `commit(changes, resolution_fields, task_fields)` — async. `changes` maps step name → `Step` (changed:
  write `step.to_json()`) or None (deleted: a contracted foreach child). Inside the loop
  `resolution_fields` is `{}` and `task_fields` is `{"steps_done": n}` plus `"tags"` when a step changed
  them; the last call of a run carries `resolution_fields = {"state", "last_stop"[, "next_retry"]}` and
  `task_fields = {"steps_done", "tags"[, "state"][, "result"]}` and is retried with backoff until it
  succeeds. Results that arrive together are committed together; an exception inside the loop is
  logged and ignored (µTask does the same).
* `mark_running(changes, resolution_fields, task_fields)` — same arguments; called instead of `commit`
  when a non-idempotent execution is about to start, and must be durable before it returns (the
  executions start after it). Idempotent executions start before `commit` is awaited.
* `emit_step_update(step_name, state)` — sync, on every step state change (notifications, audit).
* `set_task_tags(tags)` — sync, with the task's whole tag map when a step returned tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import states
from .actions import ActionExecutor
from .conditions import run_check_conditions, run_skip_conditions
from .execution import Attempt, ExecutionEnv, finish, prepare
from .foreach import contract, expand
from .functions import FunctionRegistry, NoRunner, conditions_of
from .resolution import Resolution
from .resources import ResourceLimiter
from .results import render_result_format
from .retry import next_retry
from .states import ResolutionState, TaskState
from .steps import Step

log = logging.getLogger(__name__)

GRACE_PERIOD = 3.0  # seconds the loop keeps waiting for results after shutdown starts
BATCH_PLUGIN = "batch"  # WAITING batch steps are not re-checked within the run (race with the last child)

StepChanges = dict[str, Step | None]  # name → step (changed) or None (deleted)
CommitFn = Callable[[StepChanges, dict[str, Any], dict[str, Any]], Awaitable[None]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass
class RunContext:
    """Everything a run needs; only `steps` and `executor` are mandatory."""

    steps: Mapping[str, Step | dict]
    executor: ActionExecutor
    template: Any = None  # the task template (model or dict): name, variables, result_format
    base_configurations: Mapping[str, Any] | None = None  # the resolution's snapshot; default: template's
    task_infos: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # after defaults
    resolver_inputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    values: Any = None  # a ready Values container; else built with values_factory
    values_factory: Callable[[], Any] | None = None
    functions: FunctionRegistry | Mapping[str, Any] | None = None
    resources: ResourceLimiter | None = None
    clock: Callable[[], datetime] = _utcnow
    shutdown: asyncio.Event = field(default_factory=asyncio.Event)
    grace_period_end: asyncio.Event | None = None  # set 3 s after shutdown by the owner; else computed here
    run_count: int = 1  # after the increment of this run's initialisation
    run_max: int = 100
    task_tags: dict[str, str] = field(default_factory=dict)
    identity_factory: Callable[[str, Step], Any] | None = None
    # callbacks
    commit: CommitFn | None = None
    mark_running: CommitFn | None = None  # must be durable before it returns
    emit_step_update: Callable[[str, str], None] | None = None
    set_task_tags: Callable[[dict[str, str]], None] | None = None
    # Set by the persistence once the resolution was taken over while the run went on (a forced pause, a
    # cancel, another run): the state it was taken by. The run then starts nothing more.
    taken_over: Callable[[], str | None] | None = None


@dataclass
class RunOutcome:
    state: str  # resolution state
    task_state: str | None  # None = unchanged (ERROR / CRASHED below run_max)
    steps: dict[str, Step]
    steps_done: int
    next_retry: datetime | None = None
    last_stop: datetime | None = None
    result: dict[str, Any] | None = None  # the task result, when DONE
    tags: dict[str, str] = field(default_factory=dict)
    values: Any = None


def _guarded(listener: Callable[[str, str], None]) -> Callable[[str, str], None]:
    """A failing notification must not break the run."""

    def call(name: str, state: str) -> None:
        try:
            listener(name, state)
        except Exception:
            log.exception("step update listener failed for %s -> %s", name, state)

    return call


class _Grace:
    """Sentinel put in the result queue when the shutdown grace period ends."""


def build_values(ctx: RunContext) -> Any:
    if ctx.values is not None:
        return ctx.values
    if ctx.values_factory is not None:
        values = ctx.values_factory()
    else:
        from utask.core.templating import Values

        values = Values()
    values.set_task_infos(dict(ctx.task_infos))
    values.set_input(dict(ctx.inputs))
    values.set_resolver_input(dict(ctx.resolver_inputs or {}))
    variables = _field(ctx.template, "variables") or []
    values.set_variables([v if isinstance(v, Mapping) else _as_dict(v) for v in variables])
    values.set_config(dict(ctx.config))
    return values


def _as_dict(obj: Any) -> dict:
    from .steps import _obj_to_dict

    return _obj_to_dict(obj)


class _Run:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        steps = {
            name: (st if isinstance(st, Step) else Step.from_json(st, name=name)) for name, st in ctx.steps.items()
        }
        for name, st in steps.items():
            st.name = name
            st.skipped = False
        self.res = Resolution(steps)
        self.values = build_values(ctx)
        self.res.values = self.values
        for st in steps.values():
            self.res.publish(st)
        self.res.dirty = {}
        self.res.listener = _guarded(ctx.emit_step_update) if ctx.emit_step_update is not None else None
        functions = ctx.functions
        self.functions = functions if isinstance(functions, FunctionRegistry) else FunctionRegistry(functions or {})
        base_configs = ctx.base_configurations
        if base_configs is None:
            base_configs = _field(ctx.template, "base_configurations") or {}
        self.env = ExecutionEnv(
            values=self.values,
            functions=self.functions,
            executor=ctx.executor,
            base_configurations=dict(base_configs),
            limiter=ctx.resources,
            shutdown=ctx.shutdown,
            identity_factory=ctx.identity_factory,
            identity_base={
                "task_id": str(ctx.task_infos.get("task_id", "")),
                "resolution_id": str(ctx.task_infos.get("resolution_id", "")),
                "template_name": str(_field(ctx.template, "name", "") or ""),
                "requester": str(ctx.task_infos.get("requester_username", "") or ""),
                "resolver": str(ctx.task_infos.get("resolver_username", "") or ""),
            },
        )
        self.executed: set[str] = set()
        self.contracted: set[str] = set()
        self.retry_now: dict[str, None] = {}
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.outstanding = 0
        self.launches: list[Step] = []
        self.tasks: set[asyncio.Task] = set()
        self.tags = dict(ctx.task_tags)
        self.tags_changed = False
        self.steps_done = 0
        self.grace_over = False

    # -- helpers --------------------------------------------------------------------------------
    def _chain(self, st: Step):
        return self.functions.chain(st.action.get("type", ""), self.ctx.executor.has)

    def _setter(self, modified: dict[str, None]):
        res = self.res

        def set_state(name: str, state: str, message: str) -> None:
            if name in res.steps:
                res.set_state_and_error(name, state, message)
                modified[name] = None
                if state == states.RETRY_NOW:
                    self.retry_now[name] = None

        return set_state

    def _conditions(self, st: Step, modified: dict[str, None]) -> list[dict] | None:
        try:
            return conditions_of(st.conditions, self._chain(st))
        except NoRunner as exc:
            self._setter(modified)(st.name, states.SERVER_ERROR, str(exc))
            return None

    # -- eligibility and starting (µTask's runAvailableSteps) -------------------------------------
    def _candidates(self, modified: dict[str, None] | None, expanded: list[str]) -> list[str]:
        res = self.res
        if modified:
            cands: dict[str, None] = {}
            for name in modified:
                deps = res.dependents.get(name)
                if deps:
                    cands.update(deps)
        else:
            cands = dict.fromkeys(res.steps)
        # Executed steps set RETRY_NOW run again within this run.
        if self.retry_now:
            for name in list(self.retry_now):
                st = res.steps.get(name)
                if st is None or st.state != states.RETRY_NOW:
                    del self.retry_now[name]
                elif name in self.executed:
                    cands[name] = None
                    self.executed.discard(name)
                    del self.retry_now[name]
        for name in expanded:
            cands[name] = None
        return list(cands)

    def _start_available(self, modified: dict[str, None] | None, expanded: list[str]) -> None:
        res = self.res
        while True:
            available = res.eligible(self._candidates(modified, expanded), self.executed)
            if self.ctx.shutdown.is_set() or self._taken_over():
                return
            prerun_modified: dict[str, None] = {}
            new_children: list[str] = []
            any_expanded = False
            for st in available:
                if st.foreach:
                    if st.state in (states.TODO, states.TO_RETRY):
                        conds = self._conditions(st, prerun_modified)
                        if conds and run_skip_conditions(conds, st, self.values, self._setter(prerun_modified)):
                            st.skipped = True
                            self.executed.add(st.name)
                    if st.state == states.TODO:
                        any_expanded = True
                        new_children += expand(res, st, self.contracted)
                    elif st.state == states.TO_RETRY:
                        if st.children_steps:
                            contract(res, st, self.contracted)
                            st.output = None
                        else:
                            any_expanded = True
                            new_children += expand(res, st, self.contracted)
                    elif st.state == states.EXPANDED:
                        contract(res, st, self.contracted)
                        res.set_state(st.name, states.DONE)
                    if st.state not in (states.TODO, states.TO_RETRY, states.EXPANDED):
                        self.executed.add(st.name)
                    res.mark_dirty(st.name)
                    self.outstanding += 1
                    self.queue.put_nowait((st, True))
                else:
                    if st.state != states.AFTERRUN_ERROR:
                        res.set_state(st.name, states.RUNNING)
                        conds = self._conditions(st, prerun_modified)
                        if conds and run_skip_conditions(conds, st, self.values, self._setter(prerun_modified)):
                            st.skipped = True
                            self.executed.add(st.name)
                    self.outstanding += 1
                    self.launches.append(st.copy())
            if not prerun_modified and not any_expanded:
                return
            res.prune(prerun_modified)
            modified, expanded = prerun_modified, new_children

    # -- results --------------------------------------------------------------------------------
    def _handle(self, st: Step, is_parent: bool) -> None:
        res = self.res
        st.last_run = self.ctx.clock()
        if st.name in self.contracted and not is_parent:
            return  # late result of a child whose parent already collected it
        if st.tags:
            for k, v in st.tags.items():
                if v == "":
                    self.tags.pop(k, None)
                else:
                    self.tags[k] = v
            self.tags_changed = True
        old_state = res.replace_step(st)
        res.completed.add(st.name)
        res.publish(st)
        modified: dict[str, None] = {st.name: None}
        if not st.skipped and not st.foreach and st.state in states.AFTER_RUN_STATES:
            conds = self._conditions(st, modified)
            if conds:
                run_check_conditions(conds, st, self.values, self._setter(modified))
        res.prune(modified)
        if not st.foreach:
            self.executed.add(st.name)
        current = res.steps.get(st.name)
        if current is not None and current.state != old_state and res.listener is not None:
            res.listener(st.name, current.state)
        if st.is_final() and not st.is_child():
            self.steps_done += 1
        self._start_available(modified, [])

    async def _attempt(self, att: Attempt) -> None:
        st = att.st
        try:
            st = await finish(self.env, att)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never lose a result: the loop counts on it
            log.exception("step %s: execution failed", st.name)
            st.state = states.SERVER_ERROR
            st.error = str(exc) or type(exc).__name__
        self.queue.put_nowait((st, False))

    def _launch(self) -> None:
        launches, self.launches = self.launches, []
        for st in launches:
            try:
                att = prepare(self.env, st, self._chain(st))
            except NoRunner as exc:
                st.state = states.FATAL_ERROR
                st.error = str(exc)
                att = None
            if att is None:
                self.queue.put_nowait((st, False))
                continue
            task = asyncio.ensure_future(self._attempt(att))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _task_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"steps_done": self.steps_done}
        if self.tags_changed:
            fields["tags"] = dict(self.tags)
        return fields

    async def _flush(self) -> None:
        """Persist what changed, durably first when a non-idempotent action is about to start.

        Idempotent executions start before the commit is awaited (a crash re-runs them anyway, §5.12),
        so the write overlaps the execution; results arriving meanwhile are committed together next time.
        """
        if self.tags_changed and self.ctx.set_task_tags is not None:
            self.ctx.set_task_tags(dict(self.tags))
        changes = self.res.take_changes()
        durable = any(
            not st.idempotent and not st.skipped and st.state == states.RUNNING for st in self.launches
        )
        hook = self.ctx.mark_running if durable and self.ctx.mark_running is not None else self.ctx.commit
        if not durable:
            self._launch()
        if hook is not None and (changes or self.tags_changed):
            if durable:
                durable = await self._mark_running(hook, changes)
            else:
                try:
                    await hook(changes, {}, self._task_fields())
                except Exception:  # µTask logs and ignores commit failures inside the loop
                    log.exception("commit failed inside the run loop")
        self.tags_changed = False
        if self._taken_over() and self.launches:  # nothing new starts once the resolution is someone else's
            self.outstanding -= len(self.launches)
            self.launches = []
        if durable:
            self._launch()

    async def _mark_running(self, hook: CommitFn, changes: StepChanges) -> bool:
        """A non-idempotent action starts only once its RUNNING state is durable (a crash then leaves a
        trace a human checks instead of a second execution): the commit is retried (1 s, x2, at most 30 s)
        until it succeeds; at shutdown, nothing starts. Returns whether the launches may go."""
        delay = 1.0
        while True:
            try:
                await hook(changes, {}, self._task_fields())
                return True
            except Exception:  # noqa: BLE001 - the database may come back
                log.exception("commit before a non-idempotent step failed, retrying in %.0f s", delay)
            if self.ctx.shutdown.is_set():
                self.outstanding -= len(self.launches)
                self.launches = []
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ctx.shutdown.wait(), delay)
            delay = min(delay * 2, 30.0)

    def _taken_over(self) -> str | None:
        return self.ctx.taken_over() if self.ctx.taken_over is not None else None

    async def _drain(self) -> None:
        queue = self.queue
        while self.outstanding > 0:
            item = await queue.get()
            while True:
                if item is _Grace:
                    self.grace_over = True
                    return
                self.outstanding -= 1
                self._handle(*item)
                if queue.empty():
                    break
                item = queue.get_nowait()
            await self._flush()

    async def _grace_watch(self) -> None:
        if self.ctx.grace_period_end is not None:
            await self.ctx.grace_period_end.wait()
        else:
            await self.ctx.shutdown.wait()
            await asyncio.sleep(GRACE_PERIOD)
        self.queue.put_nowait(_Grace)

    # -- the run --------------------------------------------------------------------------------
    async def run(self) -> RunOutcome:
        watcher = asyncio.ensure_future(self._grace_watch())
        try:
            self._start_available(None, [])
            await self._flush()
            recheck_waiting = True
            while True:
                if not self.grace_over:
                    await self._drain()
                state, all_done = self._evaluate()
                if state == ResolutionState.WAITING and recheck_waiting:
                    recheck_waiting = False
                    for name, st in self.res.steps.items():
                        if st.state == states.WAITING and st.action.get("type") != BATCH_PLUGIN:
                            self.executed.discard(name)
                    self._start_available(None, [])
                    await self._flush()
                    continue
                break
        finally:
            watcher.cancel()
        return await self._finish(state, all_done)

    def _evaluate(self) -> tuple[str, bool]:
        in_shutdown = self.ctx.shutdown.is_set()
        found: set[str] = set()
        for st in self.res.steps.values():
            s = st.state
            if s == states.CLIENT_ERROR:
                found.add(ResolutionState.BLOCKED_BADREQUEST)
            elif s == states.FATAL_ERROR:
                found.add(ResolutionState.BLOCKED_FATAL)
            elif s in (states.SERVER_ERROR, states.TO_RETRY, states.AFTERRUN_ERROR):
                found.add(ResolutionState.ERROR)
            elif s == states.RUNNING:
                found.add(ResolutionState.CRASHED)
            elif s == states.WAITING:
                found.add(ResolutionState.WAITING)
            elif s == states.TODO:
                found.add(ResolutionState.CRASHED if in_shutdown else ResolutionState.BLOCKED_DEADLOCK)
        if not found:
            return ResolutionState.DONE, True
        for candidate in states.END_OF_RUN_PRIORITY:
            if candidate in found:
                return candidate, False
        return ResolutionState.DONE, True  # unreachable: every candidate is in the priority list

    async def _finish(self, state: str, all_done: bool) -> RunOutcome:
        ctx = self.ctx
        res = self.res
        self.steps_done = res.steps_done()
        task_state: str | None = states.TASK_STATE_AFTER_RUN.get(state)
        result = None
        retry_at = None
        if all_done:
            result_format = _field(ctx.template, "result_format")
            if result_format:
                try:
                    result = render_result_format(result_format, self.values)
                except Exception as exc:
                    log.warning("result_format rendering failed: %s", exc)
        if state in (ResolutionState.ERROR, ResolutionState.CRASHED):
            if ctx.run_count >= ctx.run_max:
                state = ResolutionState.BLOCKED_MAXRETRIES
                task_state = TaskState.BLOCKED
            else:
                retry_at = next_retry(res.steps.values(), ctx.clock())
        last_stop = ctx.clock()
        outcome = RunOutcome(
            state=state, task_state=task_state, steps=res.steps, steps_done=self.steps_done,
            next_retry=retry_at, last_stop=last_stop, result=result, tags=dict(self.tags), values=self.values,
        )
        resolution_fields: dict[str, Any] = {"state": state, "last_stop": last_stop}
        if retry_at is not None:
            resolution_fields["next_retry"] = retry_at
        task_fields: dict[str, Any] = {"steps_done": self.steps_done, "tags": dict(self.tags)}
        if task_state is not None:
            task_fields["state"] = task_state
        if all_done:
            task_fields["result"] = result
        if self.tags_changed and ctx.set_task_tags is not None:
            ctx.set_task_tags(dict(self.tags))
        changes = res.take_changes()
        if ctx.commit is not None:
            await _commit_forever(ctx.commit, changes, resolution_fields, task_fields, ctx.shutdown)
        taken = self._taken_over()
        if taken is not None:  # the final state is the one it was taken over by
            outcome.state, outcome.task_state, outcome.next_retry, outcome.result = taken, None, None, None
        return outcome


async def _commit_forever(commit: CommitFn, changes: StepChanges, resolution_fields: dict, task_fields: dict,
                          shutdown: asyncio.Event) -> None:
    """The final commit is retried with exponential backoff (1 s, ×2, at most 30 s), as in µTask."""
    delay = 1.0
    while True:
        try:
            await commit(changes, resolution_fields, task_fields)
            return
        except Exception:
            log.exception("final commit failed, retrying in %.0f s", delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


async def run_resolution(ctx: RunContext) -> RunOutcome:
    """Run a resolution until every reachable step is final (or the grace period ends)."""
    return await _Run(ctx).run()
