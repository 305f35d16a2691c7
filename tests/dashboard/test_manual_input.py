"""The manual-input form of the task page: a waiting `input` step (builtin-plugins/input) answered in the
browser by the user it names, every missing answer marked at once before anything is sent, the server's
validation message next to the field, and a user it does not name told why he can't answer (the API refuses
him with 403 too). The form's message is templated: everyone who reads it reads the engine's rendering (the
WAITING step's metadata), never the template's text.

Template: tests/dashboard/templates/ui-task-input.yaml (asks alice; the task's watchers are alice and bob).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import api_as, sign_in
from tests.dashboard.test_task_page import FINISHED, create_task, node, open_task, top_snap, wait_task


@pytest.fixture
def waiting_task(api) -> dict:
    task = create_task(api, "ui-task-input", {"item": "the report"}, watcher_usernames=["alice", "bob"])
    task = wait_task(api, task["id"], FINISHED)
    assert task["state"] == "WAITING", task
    return task


def test_the_named_user_answers_and_the_task_goes_on(page: Page, dashboard_server: str, api,
                                                    waiting_task: dict) -> None:
    task = waiting_task
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_task(page, dashboard_server, "alice", task["id"])  # a watcher named by the step: the rendered form
    card = page.locator('.input-card[data-step="ask"]')
    expect(card.locator(".input-message")).to_have_text("Please review the report and score it")
    expect(card).not_to_contain_text("{{")
    expect(node(page, "ask")).to_have_attribute("data-state", "WAITING")
    for name in ("score", "verdict", "ticket", "urgent", "note"):
        expect(card.get_by_label(name)).to_be_visible()

    # Nothing filled: every required answer is marked at once (the server would name only the first).
    card.get_by_role("button", name="Send the answer").click()
    for name in ("score", "verdict", "ticket"):
        expect(page.locator(f"#mi-ask-{name}-error")).to_have_text(f"Missing input '{name}'")
    for name in ("urgent", "note"):  # optional
        expect(page.locator(f"#mi-ask-{name}-error")).to_have_text("")
    expect(card.locator("#mi-ask-score")).to_be_focused()
    expect(card.locator(".field-error[role=alert]").last).to_contain_text("check the fields marked above")
    assert not posts, posts
    top_snap(page, "task-manual-input-all-missing")

    # The server validates: its message lands next to the field it names.
    page.console.allow(r"400")
    card.locator("#mi-ask-score").fill("7")
    card.locator("#mi-ask-verdict").select_option(label="good")
    card.locator("#mi-ask-ticket").fill("abc")
    card.get_by_role("button", name="Send the answer").click()
    expect(page.locator("#mi-ask-ticket-error")).to_contain_text("doesnt comply with regex")
    expect(card.locator("#mi-ask-ticket")).to_have_attribute("aria-invalid", "")
    top_snap(page, "task-manual-input")

    card.locator("#mi-ask-ticket").fill("REV-42")
    card.locator("#mi-ask-urgent").select_option("true")
    card.get_by_role("button", name="Send the answer").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "DONE", timeout=30_000)
    expect(node(page, "after")).to_have_attribute("data-state", "DONE")
    expect(page.locator(".input-card")).to_have_count(0)

    done = api.get(f"/task/{task['id']}").json()
    assert done["state"] == "DONE"
    assert done["result"] == {"verdict": "good"}
    step = api.get(f"/resolution/{done['resolution']}/step/ask").json()
    assert step["output"] == {"score": 7, "verdict": "good", "ticket": "REV-42", "urgent": True}
    assert step["metadata"]["answered_by"] == "alice"


def test_a_user_not_named_is_told_why_and_refused(page: Page, dashboard_server: str, waiting_task: dict) -> None:
    task = waiting_task
    open_task(page, dashboard_server, "bob", task["id"])
    card = page.locator('.input-card[data-step="ask"]')
    expect(card.locator(".why-not")).to_contain_text("You can't answer this form: only alice")
    expect(card.locator(".why-not")).to_contain_text("signed in as bob")
    # bob may read the task but not the form: the server does not give him its rendering, and the template's
    # text ("Please review {{.input.item}}…") is not what the form says.
    expect(card).not_to_contain_text("{{")
    expect(card).not_to_contain_text("Please review")
    expect(card.locator(".input-message")).to_contain_text("only the people it asks, the task's resolvers and admins")
    expect(card.locator("form")).to_have_count(0)
    expect(card.get_by_role("button", name="Send the answer")).to_have_count(0)
    card.get_by_text("Questions asked").click()
    expect(card).to_contain_text("Ticket reference")
    top_snap(page, "task-manual-input-refused")

    with api_as(dashboard_server, "bob") as bob:
        r = bob.post(f"/resolution/{task['resolution']}/step/ask/input", json={"values": {"score": 1}})
    assert r.status_code == 403
    assert r.json()["error"] == "You are not allowed to answer this input step"


def test_the_template_resolver_answers_with_the_rendered_form(page: Page, dashboard_server: str,
                                                              waiting_task: dict, api) -> None:
    """A resolution manager is allowed too, and reads the form the engine rendered (step metadata)."""
    task = waiting_task
    sign_in(page, dashboard_server, "resolver", f"#/task/{task['id']}")
    card = page.locator('.input-card[data-step="ask"]')
    expect(card.locator(".input-message")).to_have_text("Please review the report and score it")
    expect(card.locator("#mi-ask-score")).to_be_visible()
    # The WAITING step's "waiting for a manual input" is a message, not an error.
    node(page, "ask").click()
    expect(page.locator(".step-panel .step-message")).to_have_text("Message: step is waiting for a manual input")
    expect(page.locator(".step-panel .step-error")).to_have_count(0)
    card.locator("#mi-ask-score").fill("2")
    card.locator("#mi-ask-verdict").select_option(label="bad")
    card.locator("#mi-ask-ticket").fill("REV-7")
    card.get_by_role("button", name="Send the answer").click()
    # "bad" is turned into the step's custom state by its check condition; nothing depends on REJECTED.
    expect(node(page, "ask")).to_have_attribute("data-state", "REJECTED", timeout=30_000)
    expect(page.locator('.graph-legend li[data-state="REJECTED"]')).to_be_visible()
    top_snap(page, "task-manual-input-rejected")
    assert wait_task(api, task["id"], {"DONE", "BLOCKED"})["state"] in {"DONE", "BLOCKED"}
