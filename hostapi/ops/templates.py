"""Templates and functions as the REST API shows them, and the upsert that publishes loaded templates."""

from __future__ import annotations

from typing import Any

from utask.core.engine.service import decode_template
from utask.core.engine.store import Store
from utask.core.storage.queries import api_templates as q

from .. import views
from ..http.errors import NotFound


async def list_templates(store: Store, *, with_hidden: bool, page_size: int, last: str | None) -> list[dict]:
    """GET /template: by internal id after `last` (unknown → 404); hidden ones for admins only."""
    async with store.tx() as tx:
        if last is not None and await tx.fetchone(q.TEMPLATE_ID_BY_NAME, {"name": last}) is None:
            raise NotFound(f'Failed to load template "{last}" from name: sql: no rows in result set')
        rows = await tx.fetchall(q.LIST_TEMPLATES, {"with_hidden": with_hidden, "last": last, "limit": page_size})
    return [views.template_json(decode_template(dict(r)), full=False) for r in rows]


async def get_template(store: Store, name: str) -> dict:
    async with store.tx() as tx:
        row = await store.load_template(tx, name=name)
    return views.template_json(decode_template(row))


def _function_names(registry: Any) -> list[str]:
    """Names from the template loader's registry (`functions`) or the engine's (`_raw`)."""
    if registry is None:
        return []
    for attr in ("functions", "_raw"):
        names = getattr(registry, attr, None)
        if isinstance(names, dict):
            return sorted(names)
    return sorted(registry)


def _function_json(registry: Any, name: str) -> dict | None:
    raw = None
    for attr in ("functions", "_raw"):
        table = getattr(registry, attr, None)
        if isinstance(table, dict) and name in table:
            raw = table[name]
            break
    if raw is not None and hasattr(raw, "to_json"):
        return views.function_json(raw)
    fn = registry.get(name) if registry is not None else None
    if fn is None:
        return None
    if hasattr(fn, "to_json"):
        return views.function_json(fn)
    if isinstance(fn, dict):
        return dict(fn)
    # the engine's FunctionDef: µTask's function JSON, empty parts left out
    out: dict[str, Any] = {"name": fn.name, "action": fn.action}
    if fn.pre_hook:
        out["pre_hook"] = fn.pre_hook
    if fn.conditions:
        out["conditions"] = list(fn.conditions)
    if fn.custom_states:
        out["custom_states"] = list(fn.custom_states)
    return out


def list_functions(registry: Any, *, page_size: int, last: str | None) -> list[dict]:
    """GET /function, QUIRK kept: an unknown `last` starts the listing at the last function."""
    names = _function_names(registry)
    start = 0
    if last:
        start = len(names) - 1 if names else 0
        for i, name in enumerate(names):
            if name == last:
                start = i + 1
                break
    return [f for f in (_function_json(registry, n) for n in names[start:start + page_size]) if f is not None]


def get_function(registry: Any, name: str) -> dict:
    fn = _function_json(registry, name) if registry is not None else None
    if fn is None:
        raise NotFound("function not found")
    return fn


async def upsert_templates(store: Store, templates: list[Any]) -> dict[str, int]:
    """Publish parsed templates (µTask does it at start-up); returns name → row id."""
    from utask.core.engine.template_sync import upsert_templates as upsert
    from utask.core.templates.cache import DECODED_TEMPLATES

    ids = await upsert(store, templates)
    # The xmin check would catch the change anyway; dropping the entries frees the old objects now.
    DECODED_TEMPLATES.forget(store.url)
    return ids
