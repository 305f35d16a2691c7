"""The dashboard shell loads in Chromium, asks for sign-in, and signs in with the API's credentials."""

from __future__ import annotations

from tests.dashboard.conftest import USERS, sign_in, snap


def test_sign_in_then_out(page, dashboard_server: str) -> None:
    page.goto(f"{dashboard_server}/ui/dashboard/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong")
    page.console.allow(r"401")  # the browser logs the refused request itself
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
