"""The task page's details in Chromium: the step panel's message box (red for errors only), the states offered
to the step-state editor and what it says when it can't be used, a running step, the graph's edge labels and
foreach counts, and the resolver-input and start-over forms (every problem the browser sees marked at once).

Templates: tests/dashboard/templates/ui-task-*.yaml, ui-graph-labels.yaml (`resolver` is their template resolver).
"""

from __future__ import annotations

from itertools import combinations

from playwright.sync_api import Page, expect

from tests.dashboard.conftest import ARTIFACTS, api_as
from tests.dashboard.test_task_page import FINISHED, create_task, node, open_task, top_snap, wait_task

ERROR_RED = "rgb(253, 236, 236)"  # .step-error's background
NOT_STATES = ("ANY", "EXPANDED", "RETRY_NOW", "AFTERRUN_ERROR", "RUNNING", "CRASHED")
SETTABLE = ["TODO", "DONE", "PRUNE", "TO_RETRY", "WAITING", "CLIENT_ERROR", "SERVER_ERROR", "FATAL_ERROR"]


def boxes(page: Page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, "els => els.map(e => { const b = e.getBoundingClientRect();"
                                               " return {x: b.x, y: b.y, w: b.width, h: b.height}; })")


def intersect(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def assert_labels_apart(page: Page, scope: str) -> None:
    """No two edge labels overlap, and none covers a node."""
    labels = boxes(page, f"{scope} .g-edge-label rect")
    assert len(labels) == 5, labels  # check:DONE,AMBER,RED, probe:ANY, fan:ANY → merge; check:AMBER,RED, merge:ANY → report
    for a, b in combinations(labels, 2):
        assert not intersect(a, b), (a, b)
    for label in labels:
        for n in boxes(page, f"{scope} .g-node .g-box"):
            assert not intersect(label, n), (label, n)


def test_the_message_box_is_red_for_errors_only_and_the_state_editor_offers_states(page: Page, dashboard_server: str,
                                                                                   api) -> None:
    task = create_task(api, "ui-task-blocked")
    assert wait_task(api, task["id"], FINISHED)["state"] == "BLOCKED"
    open_task(page, dashboard_server, "admin", task["id"])
    panel = page.locator(".step-panel")

    # A CLIENT_ERROR step: its error, in red, called an error.
    expect(panel.locator("h2")).to_contain_text("broken")
    error = panel.locator(".step-error")
    expect(error).to_contain_text("Error: the remote service refused the request (on purpose)")
    assert error.evaluate("e => getComputedStyle(e).backgroundColor") == ERROR_RED
    expect(panel.locator(".step-message")).to_have_count(0)
    expect(panel.locator(".state-editor-hint")).to_contain_text("pause the resolution first")

    # Paused: the editor offers the states a step can be given (no ANY, EXPANDED, RETRY_NOW…), plus its own.
    page.locator(".task-actions").get_by_role("button", name="Pause").click()
    select = page.locator("#step-state-select")
    expect(select).to_be_enabled()
    offered = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert offered == SETTABLE, offered
    for not_a_state in NOT_STATES:
        assert not_a_state not in offered
    # A foreach parent shows its current state (EXPANDED) without offering it.
    node(page, "each").click()
    expect(panel.locator("h2")).to_contain_text("each")
    expect(select.locator("option:checked")).to_have_text("EXPANDED (current)")
    expect(select.locator("option:checked")).to_be_disabled()

    # The admin sets the failed step DONE: its text stays, but as a neutral message.
    node(page, "broken").click()
    select.select_option("DONE")
    page.get_by_role("button", name="Set state").click()
    expect(node(page, "broken")).to_have_attribute("data-state", "DONE")
    message = panel.locator(".step-message")
    expect(message).to_contain_text("Message: the remote service refused the request (on purpose)")
    expect(panel.locator(".step-error")).to_have_count(0)
    assert message.evaluate("e => getComputedStyle(e).backgroundColor") != ERROR_RED
    top_snap(page, "task-panel-message-after-done")

    # Cancelled: the panel says nothing can be changed any more, and what can be done instead.
    page.locator(".task-actions").get_by_role("button", name="Cancel").click()
    page.locator("dialog.confirm-dialog").get_by_role("button", name="Cancel the task").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "CANCELLED")
    hint = panel.locator(".state-editor-hint")
    expect(hint).to_contain_text("This resolution is CANCELLED: its steps can no longer be changed.")
    expect(hint).to_contain_text("start it over")
    expect(hint).not_to_contain_text("pause the resolution first")


def test_a_custom_state_message_is_no_error_and_a_done_resolution_says_so(page: Page, dashboard_server: str,
                                                                          api) -> None:
    task = create_task(api, "ui-task-chain", {"who": "Messages"})
    assert wait_task(api, task["id"], {"DONE"})["state"] == "DONE"
    open_task(page, dashboard_server, "admin", task["id"])
    node(page, "classify").click()  # GREEN, by a check condition whose message is "all good"
    panel = page.locator(".step-panel")
    expect(panel.locator(".step-message")).to_have_text("Message: all good")
    expect(panel.locator(".step-error")).to_have_count(0)
    hint = panel.locator(".state-editor-hint")
    expect(hint).to_have_text("This resolution is DONE: its steps can no longer be changed.")


def test_a_running_step_says_it_is_running(page: Page, dashboard_server: str, api) -> None:
    task = create_task(api, "ui-task-slow")
    open_task(page, dashboard_server, "admin", task["id"])
    expect(node(page, "wait")).to_have_attribute("data-state", "RUNNING", timeout=15_000)
    node(page, "wait").click()
    panel = page.locator(".step-panel")
    expect(panel.locator("dl.facts")).to_contain_text("running now")
    expect(panel.locator("dl.facts")).not_to_contain_text("never")
    expect(panel.locator(".state-editor-hint")).to_contain_text("The resolution is running")
    top_snap(page, "task-panel-running")
    expect(node(page, "wait")).to_have_attribute("data-state", "DONE", timeout=30_000)
    expect(panel.locator("dl.facts")).not_to_contain_text("running now")


def test_edge_labels_never_overlap_and_the_foreach_count_fits(page: Page, dashboard_server: str, api) -> None:
    task = create_task(api, "ui-graph-labels")
    assert wait_task(api, task["id"], {"DONE"})["state"] == "DONE"
    open_task(page, dashboard_server, "admin", task["id"])
    expect(node(page, "merge")).to_have_attribute("data-state", "DONE")
    expect(node(page, "fan")).to_contain_text("30/30 done")
    page.get_by_role("button", name="Fit").click()
    assert_labels_apart(page, "svg.step-graph")
    # The foreach parent's count stays inside its node, right of its squares.
    box = boxes(page, '.g-node[data-step="fan"] .g-box')[0]
    count = boxes(page, '.g-node[data-step="fan"] .g-count')[0]
    squares = boxes(page, '.g-node[data-step="fan"] .g-children rect')
    assert squares and len(squares) < 30
    assert count["x"] + count["w"] <= box["x"] + box["w"] - 2, (count, box)
    assert max(s["x"] + s["w"] for s in squares) <= count["x"], (squares[-1], count)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("svg.step-graph").screenshot(path=str(ARTIFACTS / "task-graph-labels.png"))


def test_resolver_and_start_over_forms_mark_every_problem_at_once(page: Page, dashboard_server: str, api) -> None:
    with api_as(dashboard_server, "alice") as alice:
        task = create_task(alice, "ui-task-startover", {"target": "db-9"})
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_task(page, dashboard_server, "resolver", task["id"])

    # Nothing filled: both required resolver inputs marked at once, in the server's words; nothing sent.
    form = page.locator("#resolve-form")
    form.get_by_role("button", name="Start the resolution").click()
    expect(page.locator("#ri-reason-error")).to_have_text("Missing input 'reason'")
    expect(page.locator("#ri-attempts-error")).to_have_text("Missing input 'attempts'")
    expect(page.locator("#ri-comment-error")).to_have_text("")
    expect(form.get_by_label("reason")).to_be_focused()
    expect(form.get_by_label("attempts")).to_have_attribute("aria-invalid", "")
    top_snap(page, "task-resolver-inputs-all-errors")
    # A number the browser can't read, and a double quote in a free text.
    form.get_by_label("reason").fill('the "usual"')
    form.get_by_label("attempts").press_sequentially("1e")
    form.get_by_role("button", name="Start the resolution").click()
    expect(page.locator("#ri-reason-error")).to_have_text("Invalid input 'reason': cannot contain double quotes")
    expect(page.locator("#ri-attempts-error")).to_have_text("Invalid value 'attempts': expected a number")
    assert not [u for u in posts if u.endswith("/resolution")], posts

    form.get_by_label("reason").fill("maintenance")
    form.get_by_label("attempts").fill("2")
    form.get_by_role("button", name="Start the resolution").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "BLOCKED", timeout=20_000)

    # Start over (the template allows it to its resolvers): the dialog's form checks itself the same way.
    page.locator(".task-actions").get_by_role("button", name="Start over").click()
    dialog = page.locator("dialog.confirm-dialog")
    dialog.get_by_role("button", name="Start over").click()
    expect(dialog.locator("#startover-reason-error")).to_have_text("Missing input 'reason'")
    expect(dialog.locator("#startover-attempts-error")).to_have_text("Missing input 'attempts'")
    expect(dialog.locator(".dialog-error")).to_have_text("Check the fields marked above.")
    expect(dialog).to_be_visible()
    top_snap(page, "task-start-over-all-errors")
    first = api.get(f"/task/{task['id']}").json()["resolution"]
    dialog.get_by_label("reason").fill("again")
    dialog.get_by_label("attempts").fill("3")
    dialog.get_by_role("button", name="Start over").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".toast").last).to_contain_text("Started over")
    again = api.get(f"/task/{task['id']}").json()
    assert again["resolution"] != first
    assert api.get(f"/resolution/{again['resolution']}").json()["resolver_inputs"]["attempts"] == 3
