"""Publishing loaded task templates into the database, as µTask does at start-up (reference §1.1).

Each template of the files is upserted (a template keeps its row id, which tasks reference); every
template in the database but absent from the files is deleted, or archived (hidden + blocked) when tasks
still reference it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb
from utask.core.gojson import dumps
from utask.core.storage.queries import templates as q

from .store import Store

log = logging.getLogger("utask.templates")


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dumps)


def template_row(tpl: Any) -> dict[str, Any]:
    """A TaskTemplate as the columns of `task_template` (µTask's JSON of each part)."""
    data = tpl.to_json()
    return {
        "name": tpl.name, "description": tpl.description, "long_description": tpl.long_description,
        "doc_link": tpl.doc_link, "inputs": _jsonb(data.get("inputs") or []),
        "resolver_inputs": _jsonb(data.get("resolver_inputs") or []),
        "steps": _jsonb(data.get("steps") or {}), "variables": _jsonb(data.get("variables")),
        "allowed_resolver_groups": _jsonb(tpl.allowed_resolver_groups),
        "allowed_resolver_usernames": _jsonb(tpl.allowed_resolver_usernames),
        "allow_all_resolver_usernames": tpl.allow_all_resolver_usernames, "auto_runnable": tpl.auto_runnable,
        "blocked": tpl.blocked, "hidden": tpl.hidden, "result_format": _jsonb(tpl.result_format),
        "title_format": tpl.title_format, "retry_max": tpl.retry_max,
        "allow_task_start_over": tpl.allow_task_start_over,
        "base_configurations": _jsonb(tpl.base_configurations or {}), "tags": _jsonb(tpl.tags),
    }


@dataclass
class PublishReport:
    ids: dict[str, int] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)


async def upsert_templates(store: Store, templates: Iterable[Any]) -> dict[str, int]:
    """Insert or update templates by name; returns name → row id. Leaves other templates alone."""
    ids: dict[str, int] = {}
    async with store.tx() as tx:
        for tpl in templates:
            row = await tx.fetchone(q.UPSERT_TEMPLATE, template_row(tpl))
            ids[tpl.name] = row["id"]
    return ids


async def publish_templates(store: Store, templates: Iterable[Any]) -> PublishReport:
    """Make the database's templates exactly those given (§1.1), in one transaction."""
    report = PublishReport()
    templates = list(templates)
    names = [t.name for t in templates]
    async with store.tx() as tx:
        for tpl in templates:
            row = await tx.fetchone(q.UPSERT_TEMPLATE, template_row(tpl))
            report.ids[tpl.name] = row["id"]
        report.deleted = [r["name"] for r in await tx.fetchall(q.DELETE_UNLISTED_UNUSED, {"names": names})]
        report.archived = [r["name"] for r in await tx.fetchall(q.ARCHIVE_UNLISTED_USED, {"names": names})]
    for name in report.deleted:
        log.info("template %r removed: its file is gone", name)
    for name in report.archived:
        log.info("template %r archived (hidden, blocked): its file is gone but tasks still use it", name)
    return report
