"""One execution attempt of a step (reference §5.6–§5.9, §5.11, §5.13, §5.14).

`prepare` runs synchronously when the loop starts the step, so configuration rendering sees the values
as they were at that moment (µTask clones them at the same point); `finish` is the awaited part.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from utask.core.metrics import METRICS

from . import states
from .actions import ActionExecutor, failure_state, to_outcome
from .functions import FunctionDef, FunctionRegistry, NoRunner, pre_hook_of
from .resources import ResourceLimiter, resource_list
from .schema import validate_output
from .steps import DEFAULT_MAX_RETRIES, Step
from .values_access import publish_step, render_json, render_text

log = logging.getLogger(__name__)

ACQUIRE_FAILED = "failed to acquire resources"


@dataclass(slots=True)
class ExecutionEnv:
    """What an attempt needs from its run."""

    values: Any
    functions: FunctionRegistry
    executor: ActionExecutor
    base_configurations: dict[str, Any]
    limiter: ResourceLimiter | None
    shutdown: asyncio.Event
    identity_factory: Any = None  # (step name, step) -> identity passed to the executor
    identity_base: dict[str, str] | None = None  # task_id, resolution_id, template_name, requester, resolver


class ExecutionError(Exception):
    """Building the execution failed: the step becomes FATAL_ERROR with this text."""


@dataclass(slots=True)
class Execution:
    action_type: str
    base_config: Any
    config: Any
    context: Any
    outputs: list[dict] = field(default_factory=list)


def _annotate(prefix: str, exc: Exception) -> ExecutionError:
    return ExecutionError(f"{prefix}: {exc}")


def generate_execution(env: ExecutionEnv, st: Step, action: dict, values: Any) -> Execution:
    """Render base configuration, output formats and configuration through the function chain."""
    base = None
    base_name = action.get("base_configuration") or ""
    if base_name:
        if base_name not in env.base_configurations:
            raise ExecutionError(f"could not find base configuration '{base_name}'")
        try:
            base = render_json(values, env.base_configurations[base_name], st.name, st.item)
        except Exception as exc:
            raise _annotate("failed to template base configuration", exc) from exc
    outputs: list[dict] = []
    config = action.get("configuration")
    seen = 0
    while True:
        out = action.get("output")
        if out and out.get("strategy", "none") not in ("none", None, 0):
            if out["strategy"] == "merge":
                try:
                    fmt = render_json(values, out.get("format"), st.name, st.item)
                except Exception as exc:
                    raise _annotate("failed to template base output", exc) from exc
                if fmt is not None:
                    if not isinstance(fmt, dict):
                        raise ExecutionError("failed to template merge output: merge output not a map")
                    outputs.insert(0, {"strategy": "merge", "format": fmt})
            else:
                outputs.insert(0, out)
        try:
            config = render_json(values, config, st.name, st.item)
        except Exception as exc:
            raise _annotate("failed to template configuration", exc) from exc
        action_type = action.get("type", "")
        fn: FunctionDef | None = env.functions.get(action_type)
        if fn is None:
            if not env.executor.has(action_type):
                raise ExecutionError(str(NoRunner(action_type)))
            break
        seen += 1
        if seen > 64:
            raise ExecutionError(f"invalid cyclic import in function for \"{action_type}\"")
        if config is None:
            args: dict = {}
        elif isinstance(config, dict):
            args = config
        else:
            kind = "string" if isinstance(config, str) else "array" if isinstance(config, list) else "number"
            raise ExecutionError(
                f"failed to template configuration: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
            )
        values.set_function_args(args)
        action = fn.action
        config = action.get("configuration")
    context = None
    template = env.executor.context_template(action_type, st.name)
    if template is not None:
        try:
            text = json.dumps(template, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ExecutionError(f"failed to marshal context: {exc}") from exc
        try:
            rendered = render_text(values, text, st.name, st.item)
        except Exception as exc:
            raise ExecutionError(f"failed to template context: {exc}") from exc
        try:
            from utask.core.gojson import loads

            context = loads(rendered)
        except ValueError as exc:
            raise ExecutionError(f"failed to re-marshal context: {exc}") from exc
    return Execution(action_type, base, config, context, outputs)


def generate_output(st: Step, outputs: list[dict], values: Any) -> str | None:
    """Apply output strategies innermost first; returns an error text or None."""
    for out in outputs:
        if out["strategy"] == "merge":
            fmt = out.get("format")
            if not isinstance(fmt, dict):
                st.output = fmt
                return "invalid output merge data format"
            if st.output is None:
                st.output = dict(fmt)
                continue
            merged = dict(fmt)
            if isinstance(st.output, dict):
                merged.update(st.output)  # the plugin's keys win
            st.output = merged
        elif out["strategy"] == "template":
            publish_step(values, st, False)
            try:
                st.output = render_json(values, out.get("format"), st.name, st.item)
            except Exception as exc:
                return str(exc)
    return None


_PLAIN = (str, int, bool, type(None))


def _plainly_marshalable(value: Any, depth: int = 0) -> bool:
    """Fast path: JSON-decoded data (what plugins return) needs no trial encoding."""
    if isinstance(value, _PLAIN):
        return True
    if depth > 8:
        return False
    if isinstance(value, dict):
        return all(type(k) is str and _plainly_marshalable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plainly_marshalable(v, depth + 1) for v in value)
    return False


def _marshal_error(output: Any) -> str | None:
    if _plainly_marshalable(output):
        return None
    try:
        json.dumps(output, allow_nan=False)
    except ValueError as exc:
        return f"json: unsupported value: {exc}"
    except TypeError as exc:
        return f"json: unsupported type: {exc}"
    return None


@dataclass(slots=True)
class Attempt:
    """A started attempt: the awaited part lives in `finish`."""

    st: Step
    values: Any
    pre_hook: dict | None
    execution: Execution | None  # already rendered when there was nothing to wait for


def prepare(env: ExecutionEnv, st: Step, chain: tuple[FunctionDef, ...]) -> Attempt | None:
    """The synchronous start of §5.14; None means the step is already finished (send it back as is)."""
    if st.state == states.AFTERRUN_ERROR:
        return None
    if st.max_retries == 0:
        st.max_retries = DEFAULT_MAX_RETRIES
    if st.max_retries > 0 and st.try_count > st.max_retries:
        st.state = states.FATAL_ERROR
        st.error = f"Step reached max retries {st.max_retries}: {st.error}"
        return None
    if st.skipped:
        return None
    pre_hook = pre_hook_of(st.pre_hook, chain)
    needs_clone = (
        pre_hook is not None or st.execution_delay > 0 or bool(chain)
        or bool((st.action.get("output") or {}).get("strategy") == "template")
    )
    values = env.values.clone() if needs_clone else env.values
    if pre_hook is None and st.execution_delay <= 0:
        if env.shutdown.is_set():
            st.state = states.TO_RETRY
            return None
        try:
            execution = generate_execution(env, st, st.action, values)
        except ExecutionError as exc:
            st.state = states.FATAL_ERROR
            st.error = str(exc)
            return None
        return Attempt(st, values, None, execution)
    return Attempt(st, values, pre_hook, None)


async def _run_pre_hook(env: ExecutionEnv, att: Attempt) -> str | None:
    """Run the pre-hook; its result goes to `.pre_hook` of this attempt's values. Returns an error text."""
    st = att.st
    try:
        hook_values = env.values.clone()
        execution = generate_execution(env, st, att.pre_hook or {}, hook_values)
    except ExecutionError as exc:
        return f"prehook: {exc}"
    outcome, _ = await _execute(env, st, execution)
    if outcome.error_kind is not None:
        return f"prehook: {outcome.error_message}"
    att.values.set_pre_hook(outcome.output, outcome.metadata)
    return None


async def _execute(env: ExecutionEnv, st: Step, execution: Execution):
    """Acquire resources and execute; returns (outcome, acquired)."""
    labels: list[str] = []
    try:
        plugin_resources = await env.executor.resources(execution.action_type, execution.base_config, execution.config)
    except Exception as exc:  # a plugin failing to list resources is a transient error
        log.warning("resources of %s: %s", st.name, exc)
        plugin_resources = []
    if plugin_resources or st.resources:
        labels = resource_list(plugin_resources, st.resources)
    if labels and env.limiter is not None and not await env.limiter.acquire_all(labels, env.shutdown):
        from .actions import Outcome

        return Outcome(output="{}", metadata="", tags={}, error_kind="retry", error_message=ACQUIRE_FAILED), False
    try:
        if env.identity_factory is not None:
            identity = env.identity_factory(st.name, st)
        else:
            identity = {**(env.identity_base or {}), "step_name": st.name}
        try:
            result = await env.executor.execute(
                execution.action_type, execution.base_config, execution.config, execution.context, identity
            )
            outcome = to_outcome(result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the host failing is a server error of the step
            from .actions import Outcome

            outcome = Outcome(error_kind="server", error_message=str(exc) or type(exc).__name__, logs=[])
    finally:
        if labels and env.limiter is not None:
            env.limiter.release_all(labels)
    return outcome, True


async def finish(env: ExecutionEnv, att: Attempt) -> Step:
    st = att.st
    if att.execution is None:
        hook_task = asyncio.ensure_future(_run_pre_hook(env, att)) if att.pre_hook is not None else None
        if st.execution_delay > 0:
            await asyncio.sleep(st.execution_delay / 1e9)
        if hook_task is not None:
            hook_error = await hook_task
            if hook_error is not None:
                st.state = states.FATAL_ERROR
                st.error = hook_error
                return st
        if env.shutdown.is_set():
            st.state = states.TO_RETRY
            return st
        try:
            att.execution = generate_execution(env, st, st.action, att.values)
        except ExecutionError as exc:
            st.state = states.FATAL_ERROR
            st.error = str(exc)
            return st
    if env.shutdown.is_set():
        st.state = states.TO_RETRY
        return st
    outcome, _ = await _execute(env, st, att.execution)
    st.output, st.metadata, st.tags = outcome.output, outcome.metadata, outcome.tags
    if outcome.logs is not None:  # the last execution's lines (none: nothing ran, e.g. resources refused)
        st.logs = outcome.logs
    output_error = generate_output(st, att.execution.outputs, att.values)
    if output_error is not None:
        st.state = states.FATAL_ERROR
        st.error = "unable to format output: " + output_error
    else:
        if outcome.error_kind is not None:
            st.state = failure_state(outcome.error_kind)
            st.error = outcome.error_message
        elif st.json_schema is not None:
            message = validate_output(st.name, st.json_schema, st.output)
            if message is not None:
                st.error = message
                st.state = states.FATAL_ERROR
        marshal_error = _marshal_error(st.output)
        if marshal_error is not None:
            st.error = "plugin output can't be json.Marshal: " + marshal_error
            st.state = states.FATAL_ERROR
            st.output = str(st.output)
        if st.state == states.RUNNING:
            st.state = states.DONE
            st.error = ""
    METRICS.step_executions.labels(plugin=att.execution.action_type, state=st.state).inc()
    st.try_count += 1
    return st
