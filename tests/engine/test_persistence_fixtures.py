"""Shared fixtures and helpers of the persistence, collector, audit, service and multi-instance tests.

Imported by those modules (no tests here). Each test module gets its own freshly migrated database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from utask.core.crypto import KeyRing, generate_key_json
from utask.core.engine.service import Caller, EngineEnv, TaskService
from utask.core.engine.store import Store
from utask.core.storage import migrate

KEY_1 = generate_key_json(timestamp=1_600_000_000)
KEY_2 = generate_key_json(timestamp=1_700_000_000)

ADMIN = Caller("admin", ["admins"], is_admin=True)
OWNER = Caller("owner", [], is_admin=False)
USER = Caller("someone", [], is_admin=False)


@pytest.fixture(scope="module")
def db_url(fresh_database) -> Iterator[str]:
    url = fresh_database()
    migrate(url)
    yield url


@pytest.fixture(scope="module")
def keyring() -> KeyRing:
    return KeyRing.from_values([KEY_1])


def arun(coro: Any) -> Any:
    return asyncio.run(coro)


def insert_template(url: str, name: str | None = None, *, steps: dict | None = None, inputs: list | None = None,
                    resolver_inputs: list | None = None, auto_runnable: bool = True, blocked: bool = False,
                    owners: list[str] | None = None, allow_all: bool = False, retry_max: int | None = None,
                    title_format: str = "a title", tags: dict | None = None, result_format: dict | None = None,
                    allow_task_start_over: bool = False) -> str:
    """A task_template row as the template loader writes it (JSON columns)."""
    name = name or f"tpl-{uuid.uuid4().hex[:8]}"
    if steps is None:
        steps = {"one": {"action": {"type": "echo", "configuration": {"output": {"v": "1"}}}}}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO task_template (name, description, inputs, resolver_inputs, steps, variables,
                   allowed_resolver_usernames, allow_all_resolver_usernames, auto_runnable, blocked,
                   result_format, title_format, retry_max, allow_task_start_over, base_configurations, tags)
               VALUES (%s, 'test template', %s, %s, %s, 'null', %s, %s, %s, %s, %s, %s, %s, %s, '{}', %s)""",
            (name, json.dumps(inputs or []), json.dumps(resolver_inputs or []), json.dumps(steps),
             json.dumps(owners or ["owner"]), allow_all, auto_runnable, blocked,
             json.dumps(result_format or {}), title_format, retry_max, allow_task_start_over,
             json.dumps(tags)),
        )
    return name


def make_store(url: str, keyring: KeyRing, **kw: Any) -> Store:
    return Store(url, keyring, **kw)


def make_service(store: Store, engine: EngineEnv | None = None, **kw: Any) -> TaskService:
    return TaskService(store, engine=engine, **kw)


def sql(url: str, query: str, params: Any = None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def echo_engine(**kw: Any) -> EngineEnv:
    """The in-process echo executor and the minimal values of the engine's own tests."""
    from utask.core.engine import FunctionRegistry, ResourceLimiter

    from tests.engine.support import EchoExecutor, MiniValues

    try:
        from utask.core.templating import Values  # noqa: F401

        values_factory = None
    except ImportError:
        values_factory = MiniValues
    return EngineEnv(executor=kw.pop("executor", None) or EchoExecutor(), functions=FunctionRegistry({}),
                     resources=ResourceLimiter({}), values_factory=values_factory, **kw)
