"""The engine's few calls into the templating values container (`utask.core.templating.Values`).

Kept in one place so the engine speaks µTask's vocabulary (a step name gives `.step.this`, a foreach
child's item gives `.iterator`) whatever the container's keyword conventions.
"""

from __future__ import annotations

from typing import Any


def _mentions_this(obj: Any) -> bool:
    """Can rendering `obj` reach `.step.this`? Only through the word `this`, or through a variable (`eval`)."""
    if isinstance(obj, str):
        return "this" in obj or "eval" in obj
    if isinstance(obj, dict):
        return any(_mentions_this(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_mentions_this(v) for v in obj)
    return False


def render_text(values: Any, source: str, step: str | None = None, item: Any = None) -> str:
    """Render one template string; `item` None means "not a foreach child" (no `.iterator`), as in µTask."""
    if step is not None and not _mentions_this(source):
        step = None  # the `this` alias is not used: spare the container building it
    if item is None:
        return values.render(source, step=step)
    return values.render(source, step=step, item=item)


def render_json(values: Any, obj: Any, step: str | None = None, item: Any = None) -> Any:
    """Render the string leaves of maps and lists (§4.5); other values are kept as they are."""
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if step is not None and not _mentions_this(obj):
        step = None  # the `this` alias is not used: spare the container building it
    if item is None:
        return values.render_json(obj, step=step)
    return values.render_json(obj, step=step, item=item)


def publish_step(values: Any, step: Any, with_counts: bool) -> None:
    """Expose a step under `.step.<name>`; try_count/max_retries only for steps completed in this run (QUIRK #15)."""
    values.set_step(
        step.name,
        output=step.output,
        metadata=step.metadata,
        children=step.children,
        error=step.error,
        state=step.state,
        try_count=step.try_count if with_counts else None,
        max_retries=step.max_retries if with_counts else None,
    )
