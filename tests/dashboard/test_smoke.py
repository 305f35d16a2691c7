"""The dashboard shell loads in Chromium, asks for sign-in, and signs in with the API's credentials."""

from __future__ import annotations

from tests.dashboard.conftest import USERS, sign_in, snap


def test_sign_in_then_out(page, dashboard_server: str) -> None:
    page.goto(f"{dashboard_server}/ui/dashboard/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong username or password.").wait_for()
    snap(page, "sign-in-refused")
    page.get_by_label("Password").fill(USERS["admin"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#whoami:not(:empty)")
    assert "admin" in page.locator("#whoami").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("Signed out.").wait_for()


def test_sign_in_helper(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "alice")
    assert page.locator("#whoami").inner_text() == "alice"


def test_no_console_error_from_first_visit_to_signed_in(page, dashboard_server: str) -> None:
    """Neither the first, anonymous visit nor wrong credentials make the browser log a refused request."""
    requests: list[str] = []
    page.on("response", lambda r: requests.append(f"{r.status} {r.url}"))
    page.goto(f"{dashboard_server}/ui/dashboard/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong username or password.").wait_for()
    sign_in(page, dashboard_server, "bob")
    assert not [r for r in requests if r.startswith("401")], requests
    assert page.console.unexpected() == []


def test_session_probe_never_refuses(dashboard_server: str) -> None:
    import httpx

    assert httpx.get(f"{dashboard_server}/unsecured/session").json() == {"authenticated": False}
    wrong = httpx.get(f"{dashboard_server}/unsecured/session", auth=("admin", "wrong"))
    assert wrong.status_code == 200 and wrong.json() == {"authenticated": False}
    assert "www-authenticate" not in wrong.headers
    right = httpx.get(f"{dashboard_server}/unsecured/session", auth=("alice", USERS["alice"]))
    assert right.json() == {"authenticated": True, "username": "alice"}
