"""Foreach expansion and contraction (reference §5.5)."""

from __future__ import annotations

import json
from typing import Any

from . import states
from .conditions import FOREACH_CHILDREN, SKIP
from .resolution import Resolution
from .steps import FOREACH_SEQUENCE, Step
from .values_access import render_text


def _go_json_error(text: str, exc: json.JSONDecodeError) -> str:
    """Approximate Go's encoding/json syntax error texts."""
    if exc.pos >= len(text.rstrip()):
        return "unexpected EOF"
    return f"invalid character '{text[exc.pos]}' looking for beginning of value"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        from utask.core.gojson import JSONNumber

        return "number" if isinstance(value, JSONNumber) else "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _decode_first_value(text: str) -> Any:
    """Go's json.Decoder.Decode: the first JSON value of the text, numbers exact, trailing text ignored."""
    from utask.core.gojson import JSONNumber

    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise ValueError("EOF")
    decoder = json.JSONDecoder(parse_int=JSONNumber, parse_float=JSONNumber)
    try:
        value, _ = decoder.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise ValueError(_go_json_error(stripped, exc)) from exc
    return value


def parse_items(values: Any, expression: str) -> list[Any]:
    """Render the foreach expression (no step context) and parse it as a JSON array, numbers exact."""
    items = _decode_first_value(render_text(values, expression))
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError(f"json: cannot unmarshal {_kind(items)} into Go value of type []interface {{}}")
    return items


def expand(res: Resolution, parent: Step, contracted: set[str]) -> list[str]:
    """Create the children of an eligible foreach parent; returns their names (empty on error)."""
    try:
        items = parse_items(res.values, parent.foreach)
    except Exception as exc:  # templating or JSON errors
        parent.error = str(exc)
        res.set_state(parent.name, states.FATAL_ERROR)
        return []
    child_conditions = [
        c for c in parent.conditions if not (c.get("type") == SKIP and c.get("foreach") != FOREACH_CHILDREN)
    ]
    names: list[str] = []
    previous = ""
    sequence = parent.foreach_strategy == FOREACH_SEQUENCE
    for i, item in enumerate(items):
        name = f"{parent.name}-{i}"
        child = Step(name, action=parent.action)
        child.description = f"{i} - {parent.description}"
        child.idempotent = parent.idempotent
        child.json_schema = parent.json_schema
        child.retry_pattern = parent.retry_pattern
        child.max_retries = parent.max_retries
        deps = list(parent.dependencies)
        if sequence and previous:
            deps.append(previous)
        child.dependencies = deps
        child.custom_states = list(parent.custom_states)
        child.conditions = child_conditions
        child.resources = list(parent.resources or [])
        child.item = item
        res.add_step(child)
        if res.values is not None:
            res.publish(child)
        contracted.discard(name)
        names.append(name)
        if sequence:
            previous = name
    res.set_dependencies(parent, parent.dependencies + [f"{n}:ANY" for n in names])
    res.set_children(parent, names)
    res.set_state(parent.name, states.EXPANDED)
    return names


def contract(res: Resolution, parent: Step, contracted: set[str]) -> None:
    """Collect the children's results into `children` and delete the child steps."""
    collected: list[dict] = []
    children = parent.children_steps or []
    child_set = parent.children_steps_map or {}
    for name in children:
        contracted.add(name)
        child = res.steps.get(name)
        if child is None:
            continue
        if child.state != states.PRUNE:
            entry: dict[str, Any] = {}
            if child.output is not None:
                entry["output"] = child.output
            metadata = dict(child.metadata) if isinstance(child.metadata, dict) else {}
            metadata["iterator"] = child.item
            entry["metadata"] = metadata
            entry["state"] = child.state
            collected.append(entry)
        res.remove_step(name)
    parent.error = ""
    parent.children = collected
    res.set_dependencies(parent, [d for d in parent.dependencies if d.partition(":")[0] not in child_set])
    res.set_children(parent, None)
    res.mark_dirty(parent.name)
