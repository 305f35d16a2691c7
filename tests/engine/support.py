"""Test support for the engine: an in-process echo executor (reference §10.1 semantics), a minimal
values stand-in for pure-logic tests, and a harness that runs a template's resolution run after run
keeping the state a database would keep.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from utask.core.engine import (
    ResolutionState,
    ResourceLimiter,
    RunContext,
    RunOutcome,
    Step,
    check_can_run,
    recover_crashed,
    run_resolution,
    steps_from_template,
)
from utask.core.engine.schema import normalise_schema

HERE = os.path.dirname(__file__)
TEMPLATES = os.path.join(HERE, "templates")
FUNCTIONS = os.path.join(HERE, "functions")


# -- executors ------------------------------------------------------------------------------------
@dataclass
class Failure:
    kind: str
    message: str


@dataclass
class Result:
    output: Any = None
    metadata: Any = None
    tags: dict | None = None
    error: Failure | None = None


def _merge_echo(base: Any, config: Any) -> dict:
    """Decode base then config over it: fields override, the `metadata` map merges key by key."""
    out: dict = {}
    for layer in (base, config):
        if not isinstance(layer, dict):
            continue
        for key, value in layer.items():
            if key == "metadata" and isinstance(value, dict) and isinstance(out.get("metadata"), dict):
                out["metadata"] = {**out["metadata"], **value}
            else:
                out[key] = value
    return out


class EchoExecutor:
    """In-process echo with the reference semantics (§10.1), for unit tests of the state machine."""

    def __init__(self, extra_types: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, Any, Any]] = []
        self.extra = extra_types or {}

    def has(self, action_type: str) -> bool:
        return action_type == "echo" or action_type in self.extra

    async def resources(self, action_type: str, base_config: Any, config: Any) -> list[str]:
        return []

    def context_template(self, action_type: str, step_name: str) -> dict | None:
        return None

    async def execute(self, action_type: str, base_config: Any, config: Any, context: Any, identity: Any) -> Result:
        self.calls.append((action_type, base_config, config))
        if action_type in self.extra:
            return await self.extra[action_type](base_config, config)
        cfg = _merge_echo(base_config, config)
        output = cfg.get("output")
        if cfg.get("unmarshal"):
            if not isinstance(output, str):
                return Result(error=Failure("server", f"cannot unmarshal: invalid data type ({type(output).__name__})"))
            try:
                output = yaml.safe_load(output)
            except yaml.YAMLError as exc:
                return Result(error=Failure("server", f"failed to unmarshal output: {exc}"))
        metadata = cfg.get("metadata")
        message = cfg.get("error_message") or ""
        if message:
            kind = "client" if cfg.get("error_type") == "client" else "server"
            return Result(output=output, metadata=metadata, error=Failure(kind, message))
        return Result(output=output, metadata=metadata)


# -- a values stand-in for pure-logic tests ----------------------------------------------------------
_PATH = re.compile(r"\{\{\s*\.([A-Za-z0-9_.]+)\s*\}\}")


class MiniValues:
    """Only `{{ .a.b.c }}` lookups; enough for eligibility, pruning and condition tests without templating."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {"step": {}, "input": {}, "config": {}}

    def set_input(self, d): self.data["input"] = d
    def set_resolver_input(self, d): self.data["resolver_input"] = d
    def set_config(self, d): self.data["config"] = d
    def set_task_infos(self, d): self.data["task"] = d
    def set_variables(self, v): self.data["var"] = v
    def set_function_args(self, d): self.data["function_args"] = d
    def set_pre_hook(self, output, metadata): self.data["pre_hook"] = {"output": output, "metadata": metadata}

    def set_step(self, name, output=None, metadata=None, children=None, error="", state="", try_count=None,
                 max_retries=None):
        entry = {"output": output if output is not None else {}, "metadata": metadata if metadata is not None else {},
                 "children": children if children is not None else {}, "error": error, "state": state}
        if try_count is not None:
            entry["try_count"] = try_count
            entry["max_retries"] = max_retries
        self.data["step"][name] = entry

    def clone(self) -> MiniValues:
        other = MiniValues()
        other.data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.data.items()}
        return other

    def _lookup(self, path: str, step, item) -> str:
        parts = path.split(".")
        if parts[0] == "iterator":
            node: Any = item if item is not None else {}
            if item is None:
                return "<no value>"
        elif parts[:2] == ["step", "this"] and step is not None:
            node = {"this": self.data["step"].get(step, {})}
            node = {"step": node}
        else:
            node = self.data
        for part in parts if parts[0] != "iterator" else parts[1:]:
            if not isinstance(node, dict) or part not in node:
                return "<no value>"
            node = node[part]
        return str(node)

    def render(self, source: str, step=None, item=None) -> str:
        return _PATH.sub(lambda m: self._lookup(m.group(1), step, item), source)

    def render_json(self, obj, step=None, item=None):
        if isinstance(obj, dict):
            return {k: (self.render(v, step, item) if type(v) is str else self.render_json(v, step, item))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.render(v, step, item) if type(v) is str else self.render_json(v, step, item) for v in obj]
        return obj


# -- templates ------------------------------------------------------------------------------------
def load_template(name: str) -> Any:
    """Our own test templates, decoded by the template loader (Go's YAML semantics, tabs as in µTask's tests)."""
    from utask.core.templates.decode import decode_template
    from utask.core.templates.yamlload import load_yaml

    with open(os.path.join(TEMPLATES, name), "rb") as fh:
        text = fh.read().replace(b"\t", b"  ")
    tpl = decode_template(load_yaml(text))
    tpl.normalize()
    return tpl


def _echo_validate(base: Any, config: Any) -> None:
    merged = _merge_echo(base, config)
    if merged.get("error_type") not in (None, "", "client", "server"):
        raise ValueError("Wrong error type: expecting 'client' or 'server'")


def validate(template: Any, functions: Any = None) -> None:
    """Template validation as task creation does it (normalises the template in place)."""
    from utask.core.templates.catalogs import StaticCatalog
    from utask.core.templates.validate import validate_template

    catalog = StaticCatalog(["echo"], validators={"echo": _echo_validate})
    validate_template(template, actions=catalog, functions=functions if functions is not None else load_functions())


def load_functions() -> Any:
    from utask.core.templates.functions import load_functions as load

    return load(FUNCTIONS)


def normalise_steps(steps: dict[str, Step]) -> None:
    """The json_schema normalisation (§5.10) validation performs at load."""
    for st in steps.values():
        if st.json_schema is not None:
            st.json_schema = normalise_schema(st.json_schema)


def apply_input_defaults(template: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    from utask.core.templates.inputs import validate_inputs_values

    return validate_inputs_values(template.inputs or [], dict(inputs))


@dataclass
class Harness:
    """What the database keeps between runs of one resolution, and a way to run it."""

    template: Any
    executor: Any
    inputs: dict[str, Any] = field(default_factory=dict)
    resolver_inputs: dict[str, Any] = field(default_factory=dict)
    functions: Any = None
    values_factory: Any = None
    limiter: ResourceLimiter | None = None
    steps: dict[str, Step] = field(default_factory=dict)
    state: str = ResolutionState.TODO
    run_count: int = 0
    run_max: int = 100
    next_retry: datetime | None = None
    task_state: str = "TODO"
    tags: dict[str, str] = field(default_factory=dict)
    commits: list[tuple[dict, dict, dict]] = field(default_factory=list)
    durable: list[tuple[dict, dict, dict]] = field(default_factory=list)
    updates: list[tuple[str, str]] = field(default_factory=list)
    last: RunOutcome | None = None

    @classmethod
    def create(cls, template_file: str, inputs: dict | None = None, executor: Any = None, **kw: Any) -> Harness:
        tpl = load_template(template_file)
        validate(tpl, kw.get("functions"))
        steps = steps_from_template(tpl.steps or {})
        normalise_steps(steps)
        retry_max = tpl.retry_max
        h = cls(template=tpl, executor=executor or EchoExecutor(), **kw)
        h.steps = steps
        h.inputs = apply_input_defaults(tpl, inputs or {})
        h.run_max = retry_max if retry_max is not None else 100
        if h.functions is None:
            h.functions = load_functions()
        return h

    async def commit(self, changes, resolution_fields, task_fields) -> None:
        self.commits.append(({k: (v.to_json() if v is not None else None) for k, v in changes.items()},
                             resolution_fields, task_fields))

    async def mark_running(self, changes, resolution_fields, task_fields) -> None:
        self.durable.append(({k: (v.state if v is not None else None) for k, v in changes.items()},
                             resolution_fields, task_fields))
        await self.commit(changes, resolution_fields, task_fields)

    async def run(self, shutdown: asyncio.Event | None = None) -> RunOutcome | None:
        check_can_run(self.state)
        if self.state == ResolutionState.CRASHED:
            _, blocked = recover_crashed(self.steps)
            if blocked:
                self.state = ResolutionState.BLOCKED_TOCHECK
                self.task_state = "BLOCKED"
                return None
        self.state = ResolutionState.RUNNING
        self.run_count += 1
        ctx = RunContext(
            steps=self.steps,
            executor=self.executor,
            template=self.template,
            task_infos={"task_id": "task-1", "created": datetime(2024, 1, 2, tzinfo=UTC),
                        "requester_username": ""},
            inputs=self.inputs,
            resolver_inputs=self.resolver_inputs,
            values_factory=self.values_factory,
            functions=self.functions,
            resources=self.limiter,
            run_count=self.run_count,
            run_max=self.run_max,
            task_tags=self.tags,
            commit=self.commit,
            mark_running=self.mark_running,
            emit_step_update=lambda name, state: self.updates.append((name, state)),
            shutdown=shutdown or asyncio.Event(),
        )
        out = await run_resolution(ctx)
        self.steps = out.steps
        self.state = out.state
        if out.next_retry is not None:
            self.next_retry = out.next_retry
        if out.task_state is not None:
            self.task_state = out.task_state
        self.tags = out.tags
        self.last = out
        return out

    def state_of(self, name: str) -> str:
        return self.steps[name].state


class executor_for:
    """`async with executor_for(kind) as ex:` — the in-process echo, or the real one through the plugin host."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._stop = None

    async def __aenter__(self):
        if self.kind == "inprocess":
            return EchoExecutor()
        from tests.engine.sandboxed import start_sandboxed_echo

        executor, self._stop = await start_sandboxed_echo()
        return executor

    async def __aexit__(self, *exc) -> None:
        if self._stop is not None:
            await self._stop()
