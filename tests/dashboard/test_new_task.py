"""Creating a task from the dashboard (#/new): the template picker, the form generated from the template's
inputs (every input kind of `ui-form-kinds`), every problem the browser sees marked at once before sending,
the server's validation messages next to their fields, long input names on a phone (`ui-form-long`)."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import api_as, sign_in, snap

TEMPLATE = "ui-form-kinds"


def count_tasks(api: httpx.Client, template: str = TEMPLATE) -> int:
    r = api.get("/task", params={"type": "all", "template": template, "page_size": 1000})
    r.raise_for_status()
    return len(r.json())


def fill_valid(page, hostname: str = "web-01") -> None:
    """Every required input of ui-form-kinds, plus a few optional ones."""
    page.get_by_label("hostname").fill(hostname)
    page.get_by_label("secret").fill("s3cret")
    page.get_by_label("replicas").fill("3")
    page.get_by_label("environment").select_option("staging")
    page.get_by_label("zones, item 1").fill("eu-west-1a")


def test_pick_a_template(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "alice", "#/new")
    expect(page).to_have_title(re.compile("^New task"))
    picks = page.locator(".pick-list")
    expect(picks.locator("li[data-name='ui-form-kinds']")).to_contain_text("Every kind of input")
    expect(picks.locator("li[data-name='ui-form-kinds'] a.doc-link")).to_have_attribute(
        "href", "https://example.org/docs/ui-form-kinds")
    # hidden templates are not offered to users; blocked ones are shown but cannot be picked
    expect(picks.locator("li[data-name='ui-form-hidden']")).to_have_count(0)
    expect(picks.locator("li[data-name='ui-form-blocked'] .pick-main")).to_have_attribute("aria-disabled", "true")
    expect(picks.locator("li[data-name='ui-form-blocked'] a.pick-main")).to_have_count(0)
    snap(page, "new-task-picker")

    page.get_by_label("Search templates").fill("every kind")
    expect(picks.locator("li:visible")).to_have_count(1)
    page.get_by_label("Search templates").fill("zzz-nothing")
    expect(page.get_by_text("No template matches “zzz-nothing”.")).to_be_visible()
    page.get_by_label("Search templates").fill("kinds")
    picks.get_by_role("link", name=re.compile("ui-form-kinds")).click()
    expect(page).to_have_url(re.compile(r"#/new\?template=ui-form-kinds$"))
    expect(page.get_by_role("heading", name="New task: ui-form-kinds")).to_be_visible()
    # the back button returns to the picker
    page.go_back()
    expect(page.get_by_label("Search templates")).to_be_visible()


def test_create_a_task_with_every_input_kind(page, dashboard_server: str, api: httpx.Client) -> None:
    sign_in(page, dashboard_server, "alice", f"#/new?template={TEMPLATE}")
    expect(page.get_by_role("heading", name=f"New task: {TEMPLATE}")).to_be_visible()
    expect(page).to_have_title(re.compile("^New task"))

    # the generated controls: one per kind
    expect(page.get_by_label("hostname")).to_have_attribute("type", "text")
    expect(page.locator("[data-input='hostname'] .hint")).to_contain_text("^[a-z][a-z0-9-]*$")
    expect(page.get_by_label("secret")).to_have_attribute("type", "password")
    expect(page.get_by_label("replicas")).to_have_attribute("type", "number")
    expect(page.get_by_label("dry_run")).to_have_attribute("type", "checkbox")
    expect(page.get_by_label("dry_run")).not_to_be_checked()  # default false
    expect(page.get_by_label("notify")).to_have_value("")  # optional bool without default: unset
    expect(page.get_by_label("owner")).to_have_value("ops-team")  # default pre-filled
    expect(page.locator("[data-input='owner'] label")).to_contain_text("(optional)")
    expect(page.locator("[data-input='hostname'] label .req")).to_have_count(1)
    expect(page.locator("fieldset[data-input='features'] input[type=checkbox]")).to_have_count(3)
    snap(page, "new-task-form")

    fill_valid(page)
    page.get_by_label("dry_run").check()
    page.get_by_label("notify").select_option("false")
    page.get_by_role("button", name="+ Add an item").click()
    expect(page.get_by_label("zones, item 2")).to_be_focused()
    page.get_by_label("zones, item 2").fill("eu-west-1b")
    page.get_by_role("button", name="+ Add an item").click()
    page.get_by_label("zones, item 3").fill("to-remove")
    page.get_by_role("button", name="Remove zones item 3").click()
    page.get_by_label("logs").check()
    page.get_by_label("traces").check()
    page.locator("details.options > summary").click()
    page.get_by_label("Watchers", exact=True).fill("bob")
    page.get_by_role("button", name="+ Add a tag").click()
    page.get_by_label("Tag 1 key").fill("ticket")
    page.get_by_label("Tag 1 value").fill("T-42")
    page.get_by_label("Comment").fill("created from the dashboard")
    snap(page, "new-task-form-filled")
    page.get_by_role("button", name="Create the task").click()

    expect(page).to_have_url(re.compile(r"#/task/[0-9a-f-]{36}$"))
    task_id = page.url.rsplit("/", 1)[1]
    task = api.get(f"/task/{task_id}").json()
    assert task["template_name"] == TEMPLATE
    assert task["requester_username"] == "alice"
    assert task["input"] == {
        "hostname": "web-01", "secret": "s3cret", "replicas": 3, "dry_run": True, "notify": False,
        "environment": "staging", "zones": ["eu-west-1a", "eu-west-1b"], "features": ["logs", "traces"],
        "owner": "ops-team",
    }
    assert isinstance(task["input"]["replicas"], int) and isinstance(task["input"]["dry_run"], bool)
    assert task["watcher_usernames"] == ["bob"]
    assert task["tags"]["ticket"] == "T-42"
    assert task["tags"]["team"] == "dashboard"
    assert task["tags"]["kind"] == "staging"
    assert [c["content"] for c in task.get("comments", [])] == ["created from the dashboard"]
    assert task["title"] == "Deploy web-01 to staging"


def test_the_servers_message_goes_next_to_its_field(page, dashboard_server: str, api: httpx.Client) -> None:
    before = count_tasks(api)
    sign_in(page, dashboard_server, "alice", f"#/new?template={TEMPLATE}")
    fill_valid(page, hostname="Bad Host!")
    page.console.allow(r"status of 400")  # the browser logs the refused POST itself
    page.get_by_role("button", name="Create the task").click()

    error = page.locator("#in-0-error")  # hostname is the first input
    expect(error).to_contain_text("Invalid input 'hostname': 'Bad Host!' doesnt comply with regex")
    expect(page.get_by_label("hostname")).to_have_attribute("aria-invalid", "")
    expect(page.get_by_label("hostname")).to_be_focused()
    expect(page.locator("#form-alert")).to_contain_text("The task was not created")
    # nothing else is marked
    expect(page.locator(".field-error:not(:empty)")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"#/new\?template="))
    snap(page, "new-task-regex-error")
    assert count_tasks(api) == before

    # a missing input: the message names it, it goes under that field; the previous error is cleared
    page.get_by_label("hostname").fill("web-02")
    page.get_by_label("replicas").fill("")
    page.get_by_role("button", name="Create the task").click()
    expect(page.locator("[data-input='replicas'] .field-error")).to_have_text("Missing input 'replicas'")
    expect(page.locator("#in-0-error")).to_have_text("")
    expect(page.locator(".field-error:not(:empty)")).to_have_count(1)
    assert count_tasks(api) == before

    # a refusal that names no input goes to the form-level alert
    page.get_by_label("replicas").fill("2")
    page.locator("details.options > summary").click()
    page.get_by_label("Comment").fill("no")  # comments need 3 characters
    page.get_by_role("button", name="Create the task").click()
    expect(page.locator("#opt-comment-error")).to_contain_text("Failed to create comment")
    expect(page.locator("#form-alert")).to_contain_text("Failed to create comment")
    assert count_tasks(api) == before

    # fixed: created
    page.get_by_label("Comment").fill("")
    page.get_by_role("button", name="Create the task").click()
    expect(page).to_have_url(re.compile(r"#/task/[0-9a-f-]{36}$"))
    assert count_tasks(api) == before + 1


def test_blocked_and_unknown_templates(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "admin", "#/new?template=ui-form-blocked")
    expect(page.get_by_text("This template is blocked")).to_be_visible()
    expect(page.get_by_role("button", name="Create the task")).to_be_disabled()
    page.console.allow(r"status of 404")
    page.goto(f"{dashboard_server}/ui/dashboard/#/new?template=no-such-template")
    expect(page.locator(".error-view")).to_contain_text("Not found")
    expect(page.get_by_role("link", name="Choose another template")).to_be_visible()


def test_keyboard_only(page, dashboard_server: str, api: httpx.Client) -> None:
    """hello-world from the keyboard: the first field has the focus, Tab goes through, Enter submits."""
    sign_in(page, dashboard_server, "bob", "#/new?template=hello-world")
    name = page.get_by_label("name")
    expect(name).to_be_focused()
    expect(name).to_have_value("world")
    page.keyboard.press("Control+A")
    page.keyboard.type("Keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_label("shout")).to_be_focused()
    page.keyboard.press("Space")  # unticks the default true
    page.get_by_label("name").press("Enter")
    expect(page).to_have_url(re.compile(r"#/task/[0-9a-f-]{36}$"))
    task_id = page.url.rsplit("/", 1)[1]
    with api_as(dashboard_server, "bob") as bob:
        assert bob.get(f"/task/{task_id}").json()["input"] == {"name": "Keyboard", "shout": False}


def test_new_task_on_a_phone(phone_page, dashboard_server: str) -> None:
    sign_in(phone_page, dashboard_server, "alice", f"#/new?template={TEMPLATE}")
    expect(phone_page.get_by_label("hostname")).to_be_visible()
    phone_page.locator("details.options > summary").click()
    phone_page.get_by_role("button", name="+ Add a tag").click()
    snap(phone_page, "new-task-form-phone")
    wide = phone_page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, wide
    phone_page.goto(f"{dashboard_server}/ui/dashboard/#/new")
    expect(phone_page.locator(".pick-list li").first).to_be_visible()
    snap(phone_page, "new-task-picker-phone")
    wide = phone_page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, wide


def test_prefilled_from_the_url_and_delayed(page, dashboard_server: str, api: httpx.Client) -> None:
    """`input.<name>=` pre-fills (text for strings, JSON otherwise); "Start after" sends a delay."""
    zones = quote('["eu-1","eu-2"]', safe="")
    sign_in(page, dashboard_server, "admin", f"#/new?template={TEMPLATE}&input.hostname=web-09&input.replicas=5"
            f"&input.dry_run=true&input.environment=prod&input.zones={zones}&input.features=%5B%22metrics%22%5D")
    expect(page.get_by_label("hostname")).to_have_value("web-09")
    expect(page.get_by_label("replicas")).to_have_value("5")
    expect(page.get_by_label("dry_run")).to_be_checked()
    expect(page.get_by_label("environment")).to_have_value("2")  # the third legal value
    expect(page.get_by_label("zones, item 2")).to_have_value("eu-2")
    expect(page.get_by_label("metrics")).to_be_checked()
    page.get_by_label("secret").fill("x")
    page.locator("details.options > summary").click()
    page.get_by_label("Start after").fill("2099-01-01T10:00")
    page.get_by_role("button", name="Create the task").click()
    expect(page).to_have_url(re.compile(r"#/task/[0-9a-f-]{36}$"))
    task = api.get(f"/task/{page.url.rsplit('/', 1)[1]}").json()
    assert task["state"] == "DELAYED"
    # The task page calls its start time what it is (not a retry).
    facts = page.locator(".task-head .facts")
    expect(facts.locator("dt", has_text="Starts at")).to_have_count(1)
    expect(facts).not_to_contain_text("Next retry")
    expect(facts.locator("dt:text('Starts at') + dd")).to_contain_text("2099")
    assert task["input"]["zones"] == ["eu-1", "eu-2"] and task["input"]["replicas"] == 5
    assert task["input"]["environment"] == "prod" and task["input"]["features"] == ["metrics"]


def test_every_problem_the_browser_sees_is_marked_at_once(page, dashboard_server: str, api: httpx.Client) -> None:
    """The server names one problem per answer; the form marks all it can see before sending anything: each
    required input left empty (no default, not optional), a number that is not one, a double quote in a free
    text — in the server's words, next to their fields."""
    before = count_tasks(api)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    sign_in(page, dashboard_server, "alice", f"#/new?template={TEMPLATE}")
    page.get_by_label("replicas").press_sequentially("1e")  # not a number
    page.get_by_label("note").fill('say "hi"')
    page.get_by_role("button", name="Create the task").click()

    expected = {
        "hostname": "Missing input 'hostname'",
        "secret": "Missing input 'secret'",
        "replicas": "Invalid value 'replicas': expected a number",
        "environment": "Missing input 'environment'",
        "zones": "Missing input 'zones'",
        "note": "Invalid input 'note': cannot contain double quotes",
    }
    for name, message in expected.items():
        expect(page.locator(f"[data-input='{name}'] .field-error")).to_have_text(message)
    expect(page.locator(".field-error:not(:empty)")).to_have_count(len(expected))
    # inputs with a default, optional ones and booleans are not marked
    for name in ("owner", "dry_run", "notify", "features"):
        expect(page.locator(f"[data-input='{name}'] .field-error")).to_have_text("")
    expect(page.get_by_label("hostname")).to_be_focused()
    expect(page.locator("#form-alert")).to_contain_text("check the fields marked below")
    snap(page, "new-task-all-errors")
    assert not posts, posts
    assert count_tasks(api) == before

    # Fixed one by one, the marks go; the server still judges what the browser can't (the regex).
    fill_valid(page, hostname="Bad Host!")
    page.get_by_label("note").fill("say hi")
    page.console.allow(r"status of 400")
    page.get_by_role("button", name="Create the task").click()
    expect(page.locator("#in-0-error")).to_contain_text("doesnt comply with regex")
    expect(page.locator(".field-error:not(:empty)")).to_have_count(1)
    page.get_by_label("hostname").fill("web-05")
    page.get_by_role("button", name="Create the task").click()
    expect(page).to_have_url(re.compile(r"#/task/[0-9a-f-]{36}$"))
    assert count_tasks(api) == before + 1


def test_long_input_names_wrap_on_a_phone(phone_page, dashboard_server: str) -> None:
    """A 63-character snake_case input name breaks inside the label: the page keeps the phone's width and the
    Create button is not covered."""
    page = phone_page
    sign_in(page, dashboard_server, "alice", "#/new?template=ui-form-long")
    long_name = "very_long_input_name_that_keeps_going_and_going_to_test_wrappin"
    expect(page.get_by_label(long_name)).to_be_visible()

    def nothing_overflows() -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        wide = page.eval_on_selector_all(
            "main *", "els => els.filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)"
                      ".map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))")
        assert not wide, wide

    nothing_overflows()
    button = page.get_by_role("button", name="Create the task")
    button.scroll_into_view_if_needed()
    button.click(trial=True)  # visible, enabled and not covered by anything
    centre = button.evaluate("b => { const r = b.getBoundingClientRect();"
                             " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === b; }")
    assert centre
    snap(page, "new-task-long-names-phone")
    button.click()  # the long name's required error wraps too
    expect(page.locator(".field-error:not(:empty)")).to_have_text(f"Missing input '{long_name}'")
    nothing_overflows()
    snap(page, "new-task-long-names-phone-error")
