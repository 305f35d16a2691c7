"""Functions (§1.5): reusable actions loaded from `functions-path`, registered as action types.

A function's required arguments are the `{{ .function_args.<path> }}` handles found in the string
leaves of its `action.configuration`; a step using it must provide each path in its (raw)
configuration.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from utask.core.templates.decode import ConversionError, DecodeError, decode_function
from utask.core.templates.models import Condition, Executor, Function, Step
from utask.core.templates.yamlload import YAMLSyntaxError, load_yaml

FUNCTION_ARGS_RE = re.compile(r"\{\{\s*\.function_args\.([a-zA-Z.]+)\s*\}\}")


class FunctionLoadError(ValueError):
    """A function file could not be loaded (message as µTask's start-up error)."""

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file = file


def extract_arguments(config: Any) -> list[str]:
    """Every `.function_args` path used in the string leaves of a configuration."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k in v:
                walk(v[k])
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            found.extend(m.group(1) for m in FUNCTION_ARGS_RE.finditer(v))

    walk(config)
    return found


def _gjson_exists(config: Any, path: str) -> bool:
    """tidwall/gjson `GetBytes(config, path).Raw != ""` for dotted key paths."""
    node = config
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def init_function(fn: Function, configuration_present: bool = True) -> None:
    """Go's `Function.init`: the action configuration must decode as an object; extract its args.

    An absent configuration is an error in µTask (empty RawMessage), an explicit null is not.
    """
    config = fn.action.configuration
    if config is None and not configuration_present:
        raise FunctionLoadError("unexpected end of JSON input", fn.file_name)
    if config is not None and not isinstance(config, dict):
        kind = "array" if isinstance(config, list) else ("string" if isinstance(config, str) else "number")
        if isinstance(config, bool):
            kind = "bool"
        raise FunctionLoadError(
            f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}", fn.file_name
        )
    fn.args = extract_arguments(config)


def function_valid_config(fn: Function, config: Any) -> str | None:
    """Go's `Function.ValidConfig`: the first missing argument's message, or None."""
    for arg in fn.args:
        if not _gjson_exists(config, arg):
            return f'missing function_args "{arg}"'
    return None


@dataclass
class FunctionRegistry:
    """Functions by name (the names are action types)."""

    functions: dict[str, Function] = field(default_factory=dict)

    def get(self, name: str) -> Function | None:
        return self.functions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.functions

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.functions))

    def __len__(self) -> int:
        return len(self.functions)

    def add(self, fn: Function) -> None:
        previous = self.functions.get(fn.name)
        if previous is not None:
            raise FunctionLoadError(
                f'"{fn.file_name}": function already exists and was declared in "{previous.file_name}"',
                fn.file_name,
            )
        self.functions[fn.name] = fn


def function_chain(action_type: str, registry: FunctionRegistry) -> list[Function]:
    """The functions an action type goes through, outermost first (stops at a plugin or a cycle)."""
    chain: list[Function] = []
    seen: set[str] = set()
    while action_type in registry and action_type not in seen:
        seen.add(action_type)
        fn = registry.get(action_type)
        assert fn is not None
        chain.append(fn)
        action_type = fn.action.type
    return chain


def resolved_conditions(step: Step, registry: FunctionRegistry) -> list[Condition]:
    """Runtime conditions of a step (§5.7): innermost function's first, then outer ones, then the step's."""
    conditions = list(step.conditions or [])
    for fn in function_chain(step.action.type, registry):
        conditions = list(fn.conditions or []) + conditions
    return conditions


def resolved_custom_states(step: Step, registry: FunctionRegistry) -> list[str]:
    """The step's custom states plus those of every function it goes through (no duplicates)."""
    states = list(step.custom_states or [])
    for fn in function_chain(step.action.type, registry):
        states += [s for s in fn.custom_states or [] if s not in states]
    return states


def resolved_pre_hook(step: Step, registry: FunctionRegistry) -> Executor | None:
    """The pre-hook that runs: the innermost function's if any declares one, else the step's."""
    pre_hook = step.pre_hook
    for fn in function_chain(step.action.type, registry):
        if fn.pre_hook is not None:
            pre_hook = fn.pre_hook
    return pre_hook


def parse_function(text: str | bytes, file_name: str = "") -> Function:
    """One function file's content → an initialised Function (FunctionLoadError on failure)."""
    try:
        data = load_yaml(text)
        fn = decode_function(data)
    except YAMLSyntaxError as exc:
        raise FunctionLoadError(f"error converting YAML to JSON: {exc}", file_name) from None
    except ConversionError as exc:
        raise FunctionLoadError(str(exc), file_name) from None
    except DecodeError as exc:
        raise FunctionLoadError(f"error unmarshaling JSON: while decoding JSON: {exc}", file_name) from None
    fn.file_name = file_name
    action = data.get("action") if isinstance(data, dict) else None
    present = isinstance(action, dict) and any(str(k).lower() == "configuration" for k in action)
    init_function(fn, present)
    return fn


def function_files(directory: str) -> list[str]:
    """Function files under `directory`, recursively: `*.yaml` not starting with `.` (Go's ReadDir order)."""
    out: list[str] = []
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in entries:
        full = os.path.join(directory, name)
        if os.path.isdir(full):
            out.extend(function_files(full))
        elif name.endswith(".yaml") and not name.startswith("."):
            out.append(full)
    return out


def load_functions(*directories: str, registry: FunctionRegistry | None = None) -> FunctionRegistry:
    """Load every function of the directories (a missing directory is ignored, like µTask's warning)."""
    registry = registry if registry is not None else FunctionRegistry()
    for directory in directories:
        for path in function_files(directory):
            with open(path, "rb") as fh:
                content = fh.read()
            registry.add(parse_function(content, path))
    return registry
