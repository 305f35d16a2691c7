"""Task template, step, executor, condition, input, variable and function models.

Plain dataclasses: every field and default of the reference (§1.2, §2.1, §3, §5.1). Free-JSON fields
(`configuration`, `output.format`, `default`, `legal_values`, variable `value`, `json_schema`,
`base_configurations`, `result_format`) hold decoded JSON with numbers as `JSONNumber`, objects as
dicts whose keys are in Go's order (sorted, as Go re-marshals the YAML it read).

`to_json()` gives the Go JSON representation (key order and `omitempty` rules of the Go structs);
`utask.core.templates.jsonenc.dumps` serialises it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from utask_sdk.inputs import InputDefinition


class _GoJSON:
    """`utask.core.gojson.dumps(model)` writes the model's Go JSON (Go's MarshalJSON hook)."""

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - every model overrides it
        raise NotImplementedError

    def __go_json__(self) -> str:
        from utask.core.templates.jsonenc import dumps

        return dumps(self.to_json(), escape_html=False)


# `base_output` and `json_schema` distinguish "absent" from an explicit null in Go (RawMessage).
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET", "__bool__": lambda self: False})()

ZERO_TIME = "0001-01-01T00:00:00Z"

OUTPUT_STRATEGIES = ("none", "merge", "template")


@dataclass
class Output(_GoJSON):
    """Executor output spec: strategy `none` | `merge` | `template`, format any JSON."""

    strategy: str = "none"
    format: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "strategy": self.strategy}


@dataclass
class Executor(_GoJSON):
    """An action or pre-hook: a plugin (or function) type and its raw configuration."""

    type: str = ""
    configuration: Any = None
    base_configuration: str = ""
    output: Output | None = None
    base_output: Any = UNSET

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.base_configuration:
            out["base_configuration"] = self.base_configuration
        out["configuration"] = self.configuration
        out["output"] = self.output.to_json() if self.output is not None else None
        if self.base_output is not UNSET:
            out["base_output"] = self.base_output
        return out


@dataclass
class Assert(_GoJSON):
    value: str = ""
    operator: str = ""
    expected: str = ""
    list_separator: str = ""
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "operator": self.operator,
            "expected": self.expected,
            "list_separator": self.list_separator,
            "message": self.message,
        }


@dataclass
class Condition(_GoJSON):
    type: str = ""
    if_: list[Assert] | None = None
    then: dict[str, str] | None = None
    final: bool = False
    foreach: str = ""
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "if": [a.to_json() for a in self.if_] if self.if_ is not None else None,
            "then": self.then,
            "final": self.final,
            "foreach": self.foreach,
            "message": self.message,
        }


@dataclass
class Step(_GoJSON):
    """A template step. Runtime fields are kept only so validation can refuse them in templates."""

    name: str = ""
    description: str = ""
    idempotent: bool = False
    action: Executor = field(default_factory=Executor)
    pre_hook: Executor | None = None
    json_schema: Any = UNSET
    retry_pattern: str = ""
    max_retries: int = 0
    execution_delay: int = 0  # nanoseconds, like Go's time.Duration
    dependencies: list[str] | None = None
    custom_states: list[str] | None = None
    conditions: list[Condition] | None = None
    foreach: str = ""
    foreach_strategy: str = ""
    resources: list[str] | None = None
    # runtime-only fields (must not be set in a template)
    output: Any = None
    metadata: Any = None
    children: list[Any] | None = None
    error: str = ""
    state: str = ""
    try_count: int = 0
    last_run: str = ZERO_TIME
    children_steps: list[str] | None = None
    children_steps_map: dict[str, bool] | None = None
    item: Any = None
    tags: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "idempotent": self.idempotent,
            "action": self.action.to_json(),
        }
        if self.pre_hook is not None:
            out["pre_hook"] = self.pre_hook.to_json()
        if self.json_schema is not UNSET:
            out["json_schema"] = self.json_schema
        if self.output is not None:
            out["output"] = self.output
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.children:
            out["children"] = self.children
        if self.error:
            out["error"] = self.error
        if self.state:
            out["state"] = self.state
        if self.retry_pattern:
            out["retry_pattern"] = self.retry_pattern
        if self.try_count:
            out["try_count"] = self.try_count
        if self.max_retries:
            out["max_retries"] = self.max_retries
        out["last_run"] = self.last_run
        if self.execution_delay:
            out["execution_delay"] = self.execution_delay
        if self.dependencies:
            out["dependencies"] = self.dependencies
        if self.custom_states:
            out["custom_states"] = self.custom_states
        if self.conditions:
            out["conditions"] = [c.to_json() for c in self.conditions]
        if self.foreach:
            out["foreach"] = self.foreach
        out["foreach_strategy"] = self.foreach_strategy
        if self.children_steps:
            out["children_steps"] = self.children_steps
        if self.children_steps_map:
            out["children_steps_map"] = self.children_steps_map
        if self.item is not None:
            out["item"] = self.item
        out["resources"] = self.resources
        out["tags"] = self.tags
        return out


@dataclass
class Input(InputDefinition, _GoJSON):
    """A requester or resolver input definition (§2.1): the SDK's, which plugins share (its `to_json`)."""


@dataclass
class Variable(_GoJSON):
    """A template variable: a JSON `value` or a JavaScript `expression` (§3)."""

    name: str = ""
    expression: str = ""
    expression_timeout: str = ""
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expression": self.expression,
            "expression_timeout": self.expression_timeout,
            "value": self.value,
        }


@dataclass
class TaskTemplate(_GoJSON):
    """A task template (§1.2). `name` is normalised (trimmed, lower-case) by the loader."""

    name: str = ""
    description: str = ""
    long_description: str | None = None
    doc_link: str | None = None
    title_format: str = ""
    result_format: dict[str, Any] | None = None
    allowed_resolver_groups: list[str] | None = None
    allowed_resolver_usernames: list[str] | None = None
    allow_all_resolver_usernames: bool = False
    auto_runnable: bool = False
    blocked: bool = False
    hidden: bool = False
    retry_max: int | None = None
    allow_task_start_over: bool = False
    inputs: list[Input] = field(default_factory=list)
    resolver_inputs: list[Input] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    tags: dict[str, str] | None = None
    steps: dict[str, Step] = field(default_factory=dict)
    base_configurations: dict[str, Any] | None = None

    DEFAULT_RETRY_MAX = 100

    def normalize(self) -> None:
        self.name = normalize_name(self.name)

    def is_auto_runnable(self) -> bool:
        """A resolution is auto-created at task creation (`auto_runnable` and no resolver inputs)."""
        return self.auto_runnable and not self.resolver_inputs

    def effective_retry_max(self) -> int:
        return self.DEFAULT_RETRY_MAX if self.retry_max is None else self.retry_max

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.long_description is not None:
            out["long_description"] = self.long_description
        if self.doc_link is not None:
            out["doc_link"] = self.doc_link
        if self.title_format:
            out["title_format"] = self.title_format
        if self.result_format:
            out["result_format"] = self.result_format
        out["allowed_resolver_groups"] = self.allowed_resolver_groups
        out["allowed_resolver_usernames"] = self.allowed_resolver_usernames
        out["allow_all_resolver_usernames"] = self.allow_all_resolver_usernames
        out["auto_runnable"] = self.auto_runnable
        out["blocked"] = self.blocked
        out["hidden"] = self.hidden
        if self.retry_max is not None:
            out["retry_max"] = self.retry_max
        out["allow_task_start_over"] = self.allow_task_start_over
        if self.inputs:
            out["inputs"] = [i.to_json() for i in self.inputs]
        if self.resolver_inputs:
            out["resolver_inputs"] = [i.to_json() for i in self.resolver_inputs]
        if self.variables:
            out["variables"] = [v.to_json() for v in self.variables]
        if self.tags:
            out["tags"] = dict(sorted(self.tags.items()))
        if self.steps:
            out["steps"] = {name: self.steps[name].to_json() for name in sorted(self.steps)}
        out["base_configurations"] = self.base_configurations
        return out


@dataclass
class Function(_GoJSON):
    """A reusable action (§1.5), registered as an action type named after it."""

    name: str = ""
    action: Executor = field(default_factory=Executor)
    pre_hook: Executor | None = None
    conditions: list[Condition] | None = None
    custom_states: list[str] | None = None
    file_name: str = ""
    args: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "action": self.action.to_json()}
        if self.pre_hook is not None:
            out["pre_hook"] = self.pre_hook.to_json()
        if self.conditions:
            out["conditions"] = [c.to_json() for c in self.conditions]
        if self.custom_states:
            out["custom_states"] = self.custom_states
        return out


def normalize_name(name: str) -> str:
    """µTask's `NormalizeName`: trim surrounding spaces, lower-case."""
    return name.strip().lower()
