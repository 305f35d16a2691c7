"""The dashboard in a real browser: `utask serve` as a subprocess, Debian's Chromium driven by Playwright.

One server for the whole dashboard suite (templates from `tests/dashboard/templates` plus hello-world),
a fresh browser context per test, and every browser console error or uncaught page error fails the test.
Screenshots go to `test-artifacts/dashboard/` (or `$UTASK_TEST_ARTIFACTS/dashboard/`): look at them.

Users (basic auth): admin/1234 (administrator); resolver/3456, alice/5678 and bob/9012 are plain users
(templates make `resolver` a resolver with `allowed_resolver_usernames: [resolver]`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.foundation.conftest import HELLO_WORLD, UTASK_BIN, clean_environ, free_port, utask_env
from tests.foundation.test_cli import wait_for_ping

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ARTIFACTS = Path(os.environ.get("UTASK_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "dashboard"
USERS = {"admin": "1234", "resolver": "3456", "alice": "5678", "bob": "9012"}
APP_NAME = "Acme µTask"  # utask-cfg `application_name`: the header and the tab titles use it
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    found = os.environ.get("UTASK_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is needed by the dashboard tests: `apt-get install chromium` (make test and "
                    ".ci/run install it when apt-get is available), or set UTASK_TEST_CHROMIUM")
    return found


@pytest.fixture(scope="session")
def dashboard_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`utask serve` on its own database with the dashboard test templates; yields its base URL."""
    import psycopg
    from psycopg import sql

    name = f"utask_ui_{os.getpid()}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(database_url, dbname=name)

    work = tmp_path_factory.mktemp("dashboard")
    templates = work / "templates"
    templates.mkdir()
    shutil.copy(HELLO_WORLD, templates / HELLO_WORLD.name)
    for t in sorted((HERE / "templates").glob("*.yaml")):
        shutil.copy(t, templates / t.name)
    functions = work / "functions"  # `utask serve`'s default --functions-path, relative to its cwd
    functions.mkdir()
    for fn in sorted((HERE / "functions").glob("*.yaml")):
        shutil.copy(fn, functions / fn.name)
    port = free_port()
    env = clean_environ(**utask_env(url), SERVER_PORT=str(port))
    env["CFG_BASIC_AUTH"] = json.dumps(USERS)
    env["CFG_UTASK_CFG"] = json.dumps({"admin_usernames": ["admin"], "application_name": APP_NAME})
    log = (work / "server.log").open("w+")
    proc = subprocess.Popen([UTASK_BIN, "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_ping(proc, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.seek(0)
        output = log.read()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        assert "Traceback" not in output, output[-5000:]


@pytest.fixture
def api(dashboard_server: str) -> Iterator[httpx.Client]:
    """The REST API as admin (to prepare what a page shows)."""
    with httpx.Client(base_url=dashboard_server, auth=("admin", USERS["admin"]), timeout=15) as client:
        yield client


def api_as(dashboard_server: str, user: str) -> httpx.Client:
    return httpx.Client(base_url=dashboard_server, auth=(user, USERS[user]), timeout=15)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an asyncio loop
    running in the main thread while it is open, and `asyncio.run` in any later test would then fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # launch() gives every run a new empty profile of its own (the --user-data-dir of the env notes).
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


class Console:
    """Console errors and uncaught exceptions of a page; a test fails if any is left at the end."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        """Expected errors (e.g. the browser's own line for a 401/403 the page handles)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


def _page(browser, request, viewport: dict[str, int]) -> Iterator[Any]:
    """A page in its own browser context; the test fails on console errors it did not `page.console.allow`."""
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/Paris")
    page = context.new_page()
    console = Console()
    page.on("console", lambda m: console.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console.errors.append(f"pageerror: {e}"))
    page.set_default_timeout(15_000)
    page.console = console  # type: ignore[attr-defined]
    yield page
    context.close()
    left = console.unexpected()
    assert not left, f"browser console errors in {request.node.name}: {left}"


@pytest.fixture
def page(browser, request):
    """A fresh laptop-sized page (1366×900)."""
    yield from _page(browser, request, {"width": 1366, "height": 900})


@pytest.fixture
def phone_page(browser, request):
    """A fresh phone-sized page (390×844)."""
    yield from _page(browser, request, {"width": 390, "height": 844})


def sign_in(page, server: str, user: str = "admin", hash_: str = "#/tasks") -> None:
    """Open the dashboard at `hash_` and sign in through its form as `user`."""
    page.goto(f"{server}/ui/dashboard/{hash_}")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(USERS[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#whoami:not(:empty)")
    # (No 401 on the way: the shell asks GET /unsecured/session, so the console stays clean.)


def snap(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
