"""The dashboard shell loads in Chromium, asks for sign-in, and signs in with the API's credentials; the shell's
own parts: the skip link, the application name in the titles, "Keep me signed in" across tabs, and the page
shown (and retried) while the server can't be reached."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.dashboard.conftest import APP_NAME, USERS, sign_in, snap


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

    # It also names the application (utask-cfg `application_name`, as GET /meta does) for the sign-in page.
    anonymous = {"authenticated": False, "application_name": APP_NAME}
    assert httpx.get(f"{dashboard_server}/unsecured/session").json() == anonymous
    wrong = httpx.get(f"{dashboard_server}/unsecured/session", auth=("admin", "wrong"))
    assert wrong.status_code == 200 and wrong.json() == anonymous
    assert "www-authenticate" not in wrong.headers
    right = httpx.get(f"{dashboard_server}/unsecured/session", auth=("alice", USERS["alice"]))
    assert right.json() == {"authenticated": True, "username": "alice", "application_name": APP_NAME}


def test_titles_use_the_application_name(page, dashboard_server: str) -> None:
    page.goto(f"{dashboard_server}/ui/dashboard/")
    expect(page.get_by_role("heading", name=f"Sign in to {APP_NAME}")).to_be_visible()
    expect(page).to_have_title(f"Sign in · {APP_NAME}")
    sign_in(page, dashboard_server, "alice")
    expect(page.locator("#brand")).to_have_text(APP_NAME)
    expect(page).to_have_title(f"Tasks · {APP_NAME}")
    page.goto(f"{dashboard_server}/ui/dashboard/#/templates")
    expect(page).to_have_title(f"Templates · {APP_NAME}")
    assert "· µTask" not in page.title()


def test_the_skip_link_focuses_the_content_without_leaving_the_page(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "alice", "#/templates")
    expect(page.locator("#tpl-table")).to_be_visible()
    skip = page.locator("a.skip")
    skip.focus()
    expect(skip).to_be_in_viewport()  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/templates$"))
    expect(page.locator("#tpl-table")).to_be_visible()  # still the same page, not "Not found"
    expect(page.locator(".error-view")).to_have_count(0)
    # The next Tab goes on from the content (the search box), not from the top bar.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search templates")).to_be_focused()
    # Even typed as an address, #main is no page: the current page stays, the content gets the focus.
    page.evaluate("window.location.hash = '#main'")
    expect(page.locator("main#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/templates$"))
    expect(page.locator(".error-view")).to_have_count(0)


def _sign_in_form(page, user: str, remember: bool) -> None:
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(USERS[user])
    box = page.get_by_label("Keep me signed in on this browser")
    expect(box).not_to_be_checked()  # off by default
    if remember:
        box.check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#whoami:not(:empty)")


def test_keep_me_signed_in_shares_the_sign_in_with_new_tabs(page, dashboard_server: str) -> None:
    page.goto(f"{dashboard_server}/ui/dashboard/#/tasks")
    _sign_in_form(page, "alice", remember=True)
    assert page.evaluate("localStorage.getItem('utask.authorization')")
    assert page.evaluate("sessionStorage.getItem('utask.authorization')") is None

    # A second tab of the same browser is signed in at once.
    second = page.context.new_page()
    second.on("console", lambda m: page.console.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    second.on("pageerror", lambda e: page.console.errors.append(f"pageerror: {e}"))
    second.goto(f"{dashboard_server}/ui/dashboard/#/templates")
    expect(second.locator("#whoami")).to_have_text("alice")
    expect(second.locator("#tpl-table")).to_be_visible()
    expect(second.locator("#login-title")).to_have_count(0)
    snap(second, "signed-in-second-tab")

    # Signing out in one tab clears both storages: the other tab goes back to the sign-in form.
    second.get_by_role("button", name="Sign out").click()
    expect(second.get_by_text("Signed out.")).to_be_visible()
    assert second.evaluate("[localStorage.getItem('utask.authorization'), sessionStorage.getItem('utask.authorization')]") \
        == [None, None]
    expect(page.locator("#login-title")).to_be_visible()
    page.reload()
    expect(page.locator("#login-title")).to_be_visible()
    second.close()


def test_without_keep_me_signed_in_a_new_tab_asks_again(page, dashboard_server: str) -> None:
    page.goto(f"{dashboard_server}/ui/dashboard/#/tasks")
    _sign_in_form(page, "bob", remember=False)
    assert page.evaluate("localStorage.getItem('utask.authorization')") is None
    second = page.context.new_page()
    second.on("console", lambda m: page.console.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    second.goto(f"{dashboard_server}/ui/dashboard/#/tasks")
    expect(second.locator("#login-title")).to_be_visible()
    page.reload()  # the first tab keeps its own sign-in
    expect(page.locator("#whoami")).to_have_text("bob")
    second.close()


def test_a_lost_connection_shows_a_retrying_page_that_recovers_by_itself(page, dashboard_server: str) -> None:
    """Navigating while the server can't be reached (every request refused, the page modules too): a clear page
    with a Retry button instead of "Failed to fetch dynamically imported module", and it loads by itself
    once the server answers again; the top bar's badge goes away too."""
    sign_in(page, dashboard_server, "admin", "#/tasks")
    expect(page.locator("table.task-table, .list-box .empty").first).to_be_visible()
    page.console.allow(r"net::ERR_CONNECTION_REFUSED|Failed to load resource")
    down = re.compile(r"^" + re.escape(dashboard_server))
    page.route(down, lambda route: route.abort("connectionrefused"))

    page.locator("nav a[data-nav='functions']").click()  # a page module not loaded yet
    lost = page.locator('.error-view[data-status="0"]')
    expect(lost.locator("h2")).to_have_text("Connection lost — retrying…")
    expect(lost.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("dynamically imported module")
    expect(page.locator("#connection")).to_have_text("Connection lost — retrying…")
    expect(page).to_have_title(re.compile("^Connection lost"))
    snap(page, "connection-lost-page")
    # Retry while still down: the same page again.
    lost.get_by_role("button", name="Retry").click()
    expect(lost.locator("h2")).to_have_text("Connection lost — retrying…")

    page.unroute(down)  # the server is back: the page loads by itself, the badge goes away
    expect(page.get_by_label("Search functions")).to_be_visible(timeout=15_000)
    expect(page.locator("#connection")).to_have_text("")
    expect(page).to_have_url(re.compile(r"#/functions$"))

    # The Retry button does not wait for the next automatic try.
    page.route(down, lambda route: route.abort("connectionrefused"))
    page.locator("nav a[data-nav='templates']").click()
    expect(lost.get_by_role("button", name="Retry")).to_be_visible()
    page.unroute(down)
    lost.get_by_role("button", name="Retry").click()
    expect(page.locator("#tpl-table")).to_be_visible(timeout=3_000)
    expect(page.locator("#connection")).to_have_text("")
