"""Templating-handle linting (§1.4).

µTask serialises the template to indented JSON and scans it line by line: in each `{{ ... }}` block
the first dotted path is checked against the steps, inputs, resolver inputs, task keys and the
steps' JSON schemas. The lines are produced here exactly as Go's `MarshalIndent(tpl, "", " ")`
lays them out, each with the JSON path it comes from (so `utask templates check` can say where).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from utask.core.templates.jsonenc import _scalar, _string
from utask.core.templates.jsonschema_lint import extract_property, try_variable_path
from utask.core.templates.models import UNSET, Step, TaskTemplate

TMPL_RE = re.compile(r"{{[^}\.]*(\.[A-Za-z0-9_\.]+)[^{]*}}")
TASK_INFO_KEYS = (
    "resolver_username",
    "created",
    "requester_username",
    "requester_groups",
    "task_id",
    "region",
    "resolution_id",
    "watcher_usernames",
    "watcher_groups",
)
THIS = "this"


@dataclass
class LintProblem:
    message: str  # without the "Invalid text-template handles within task template: " prefix
    path: str  # JSON path of the offending line, e.g. steps.stepTwo.action.configuration.output.foo
    handle: str  # the dotted path found in the block


def indented_lines(value: Any, indent: str = " ") -> list[tuple[str, str]]:
    """(line, json path) pairs of Go's MarshalIndent(value, "", indent) without HTML escaping."""
    out: list[tuple[str, str]] = []

    def walk(v: Any, prefix: str, level: int, path: str, comma: str) -> None:
        pad = indent * level
        if isinstance(v, dict) and v:
            out.append((pad + prefix + "{", path))
            items = list(v.items())
            for i, (k, sub) in enumerate(items):
                sub_path = f"{path}.{k}" if path else str(k)
                walk(sub, _string(str(k), False) + ": ", level + 1, sub_path, "," if i < len(items) - 1 else "")
            out.append((pad + "}" + comma, path))
        elif isinstance(v, list | tuple) and v:
            out.append((pad + prefix + "[", path))
            for i, sub in enumerate(v):
                walk(sub, "", level + 1, f"{path}[{i}]", "," if i < len(v) - 1 else "")
            out.append((pad + "]" + comma, path))
        elif isinstance(v, dict):
            out.append((pad + prefix + "{}" + comma, path))
        elif isinstance(v, list | tuple):
            out.append((pad + prefix + "[]" + comma, path))
        else:
            out.append((pad + prefix + _scalar(v, False) + comma, path))

    walk(value, "", 0, "", "")
    return out


MetadataSchemaFor = Callable[[Step], Any]


def lint_template(tpl: TaskTemplate, metadata_schema: MetadataSchemaFor | None = None) -> list[LintProblem]:
    """Every linting problem, in line order (µTask reports the first one)."""
    step_names = {THIS, *tpl.steps}
    input_names = {i.name for i in tpl.inputs}
    resolver_input_names = {i.name for i in tpl.resolver_inputs}
    schema_cache: dict[tuple[str, str], dict[str, list[str]] | None | str] = {}
    problems: list[LintProblem] = []

    def properties(kind: str, step_name: str) -> dict[str, list[str]] | None | str:
        key = (kind, step_name)
        if key not in schema_cache:
            st = tpl.steps[step_name]
            schema = st.json_schema if kind == "output" else (metadata_schema(st) if metadata_schema else None)
            if schema is None or schema is UNSET:
                schema_cache[key] = None
            else:
                try:
                    schema_cache[key] = extract_property(step_name, schema) or {}
                except ValueError as exc:  # reserved utaskRootKey property
                    schema_cache[key] = str(exc)
        return schema_cache[key]

    for line, path in indented_lines(tpl.to_json()):
        for m in TMPL_RE.finditer(line):
            handle = m.group(1)
            parts = handle.split(".")
            if len(parts) < 3:
                continue
            root, key = parts[1], parts[2]
            msg = None
            if root == "step":
                if key not in step_names:
                    msg = f"step: Wrong step key: {key}"
                elif len(parts) > 3 and key != THIS and len(parts) >= 5 and parts[3] in ("output", "metadata"):
                    props = properties(parts[3], key)
                    prefix = (
                        f"Linting error: step {key}"
                        if parts[3] == "output"
                        else f'Linting error: step details for step "{key}"'
                    )
                    if isinstance(props, str):
                        msg = f"{prefix}: {props}"
                    elif props is not None:
                        err = try_variable_path(props, parts[4:])
                        if err:
                            msg = f"{prefix}: {err}"
            elif root == "input":
                if key not in input_names:
                    msg = f"Wrong input key: {key}"
            elif root == "resolver_input":
                if key not in resolver_input_names:
                    msg = f"Wrong input key: {key}"
            elif root == "task" and key not in TASK_INFO_KEYS:
                msg = f"Wrong task key: {key}"
            if msg is not None:
                problems.append(LintProblem(msg, path, handle))
    return problems

