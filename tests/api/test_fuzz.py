"""Schemathesis fuzzing of the whole API from its own OpenAPI document: no 5xx, no crash.

The server runs for real (uvicorn on a free local port, in a thread) so schemathesis talks HTTP to it, as
a client would; bounded to a few examples per operation (the whole test stays well under a minute).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from .conftest import load_templates, make_settings  # noqa: E402

EXAMPLES_PER_OPERATION = 12
BUDGET_SECONDS = 45.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, url: str) -> None:
        import uvicorn
        from utask.core.engine.service import TaskService
        from utask.core.engine.store import Store
        from utask.hostapi.api import Services, build_api
        from utask.hostapi.app import ServeOptions, create_app

        settings = make_settings(url)
        self.store = Store(url, settings.keyring, pool_size=4)
        app = create_app(settings, None, ServeOptions())
        # No engine: fuzzing exercises the API, runs only get initialised.
        build_api(app, Services(settings=settings, store=self.store, tasks=TaskService(self.store), pretty_json=False))
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                    access_log=False, lifespan="off",
                                                    timeout_keep_alive=1, timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def test_fuzz_no_server_errors(api_db):
    from hypothesis import HealthCheck, given, settings
    from utask.hostapi.ops.templates import upsert_templates

    with _Server(api_db) as base:
        asyncio.run(_upsert(api_db, upsert_templates))
        schema = schemathesis.openapi.from_url(f"{base}/unsecured/spec.json")
        failures: list[str] = []
        statuses: dict[int, int] = {}
        started = time.monotonic()
        operations = [r.ok() for r in schema.get_all_operations()]
        assert len(operations) >= 25
        # Event streams (text/event-stream) never end by themselves: tests/dashboard/test_events.py covers them.
        operations = [op for op in operations if not op.path.endswith("/events")]
        for operation in operations:
            if time.monotonic() - started > BUDGET_SECONDS:
                break

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def run(case: Any) -> None:
                response = case.call(base_url=base, headers={"x-remote-user": "admin"}, timeout=10)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    failures.append(f"{case.operation.method.upper()} {case.formatted_path} -> "
                                    f"{response.status_code} {response.text[:200]}")

            run()
        assert not failures, "\n".join(failures[:20])
        assert sum(statuses.values()) >= 100, statuses
        print("fuzz statuses:", dict(sorted(statuses.items())))


async def _upsert(url: str, upsert: Any) -> None:
    from utask.core.engine.store import Store

    store = Store(url, make_settings(url).keyring, pool_size=1)
    try:
        await upsert(store, load_templates())
    finally:
        await store.close()
