"""The task page (#/task/<id>) in Chromium: the live step graph, the step panel, the actions a user's rights
allow (with confirmations), resolver inputs, comments, the audit trail, and the 403/404/lost-connection views.

Templates: tests/dashboard/templates/ui-task-*.yaml (`resolver` is their template resolver).
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import ARTIFACTS, api_as, sign_in, snap

FINISHED = {"DONE", "BLOCKED", "CANCELLED", "WONTFIX", "WAITING"}


def create_task(client: httpx.Client, template: str, input_: dict | None = None, **extra) -> dict:
    r = client.post("/task", json={"template_name": template, "input": input_ or {}, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def wait_task(client: httpx.Client, task_id: str, states: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/task/{task_id}").json()
        if task["state"] in states or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def open_task(page: Page, server: str, user: str, task_id: str) -> None:
    sign_in(page, server, user, f"#/task/{task_id}")
    page.locator(".task-head h1").wait_for()


def node(page: Page, step: str):
    return page.locator(f'svg.step-graph .g-node[data-step="{step}"]')


def top_snap(page: Page, name: str) -> None:
    """Screenshot from the top (a click may have scrolled the page; the sticky bar would float mid-picture)."""
    page.evaluate("window.scrollTo(0, 0)")
    snap(page, name)


def test_the_graph_goes_live_to_done_and_the_panel_shows_outputs(page: Page, dashboard_server: str, api) -> None:
    sign_in(page, dashboard_server, "admin")
    task = create_task(api, "ui-task-chain", {"who": "Ada"})
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    page.goto(f"{dashboard_server}/ui/dashboard/#/task/{task['id']}")
    page.locator(".task-head h1").wait_for()
    expect(page.locator(".task-head h1")).to_have_text("Chain for Ada")

    # The slow step (execution_delay 2.5 s) is seen RUNNING, then everything reaches its final state live.
    expect(node(page, "slow")).to_have_attribute("data-state", "RUNNING", timeout=15_000)
    node(page, "report").click()  # selected while still TODO: the selection survives the updates
    expect(page.locator(".step-panel h2")).to_contain_text("report")
    top_snap(page, "task-running")
    expect(node(page, "cleanup")).to_have_attribute("data-state", "DONE", timeout=30_000)
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "DONE")
    assert page.evaluate("window.__sameDocument") is True

    # Every dependency form is drawn: plain, a custom state (GREEN), ANY; the foreach parent has its children.
    expect(node(page, "classify")).to_have_attribute("data-state", "GREEN")
    edge = page.locator('path.g-edge[data-from="classify"][data-to="report"]')
    expect(edge).to_have_attribute("data-states", "GREEN")
    expect(edge).to_have_class(re.compile(r"\bmet\b"))
    expect(page.locator('path.g-edge[data-from="report"][data-to="cleanup"]')).to_have_class(re.compile(r"\bany\b"))
    expect(node(page, "fan")).to_contain_text("3/3 done")
    expect(page.locator('.graph-legend li[data-state="GREEN"]')).to_be_visible()
    expect(node(page, "slow").locator(".g-sub")).to_have_text("echo · DONE")

    # The selection survived; the panel shows the step's output and configuration.
    expect(node(page, "report")).to_have_class(re.compile(r"\bselected\b"))
    panel = page.locator(".step-panel")
    expect(panel.locator(".step-output")).to_contain_text('"who": "Ada"')
    expect(panel.locator(".step-configuration")).to_contain_text("{{.step.prepare.output.who}}")
    expect(panel).to_contain_text("Tries")
    node(page, "fan").click()
    expect(panel.locator(".children-table tbody tr")).to_have_count(3)
    expect(panel.locator(".children-table")).to_contain_text('"green"')

    # Header: template link, progress, result.
    expect(page.locator(".task-head a[href='#/template/ui-task-chain']")).to_be_visible()
    expect(page.locator(".task-head .progress-text")).to_have_text("6 / 6 steps done")
    expect(page.locator(".task-result")).to_contain_text('"report": "DONE"')
    node(page, "report").click()
    top_snap(page, "task-done")

    done = api.get(f"/task/{task['id']}").json()
    assert done["state"] == "DONE"


def test_polling_takes_over_without_the_event_stream(page: Page, dashboard_server: str, api) -> None:
    page.route(re.compile(r".*/task/[^/]+/events$"), lambda route: route.fulfill(status=404, body='{"error": "nope"}'))
    page.console.allow(r"404")
    sign_in(page, dashboard_server, "admin")
    task = create_task(api, "ui-task-chain", {"who": "Grace"})
    page.goto(f"{dashboard_server}/ui/dashboard/#/task/{task['id']}")
    expect(page.locator(".task-head .live")).to_have_text("Auto-refresh every 2 s")
    expect(node(page, "cleanup")).to_have_attribute("data-state", "DONE", timeout=30_000)
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "DONE")


def test_a_blocked_task_is_cancelled_after_confirmation(page: Page, dashboard_server: str, api) -> None:
    task = create_task(api, "ui-task-blocked")
    assert wait_task(api, task["id"], FINISHED)["state"] == "BLOCKED"
    open_task(page, dashboard_server, "resolver", task["id"])  # template resolver: may cancel

    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "BLOCKED")
    expect(page.locator(".blocked-errors")).to_contain_text("the remote service refused the request (on purpose)")
    expect(node(page, "broken")).to_have_attribute("data-state", "CLIENT_ERROR")
    expect(node(page, "each")).to_have_attribute("data-state", "EXPANDED")
    expect(node(page, "each")).to_contain_text("2/3 done")
    # The failing step is selected at once, its error in the panel.
    expect(page.locator(".step-panel .step-error")).to_contain_text("refused the request")
    # A foreach child is reached from its parent's panel.
    node(page, "each").click()
    page.locator('.children-table tr[data-child="each-1"] button').click()
    expect(page.locator(".step-panel h2")).to_contain_text("each-1")
    expect(page.locator(".step-panel")).to_contain_text("server beta refused the change")
    node(page, "broken").click()
    top_snap(page, "task-blocked")

    # Changing one's mind keeps the task as it is.
    actions = page.locator(".task-actions")
    actions.get_by_role("button", name="Cancel").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep it as is").click()
    expect(dialog).to_have_count(0)
    assert api.get(f"/task/{task['id']}").json()["state"] == "BLOCKED"

    actions.get_by_role("button", name="Cancel").click()
    page.locator("dialog.confirm-dialog").get_by_role("button", name="Cancel the task").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "CANCELLED")
    expect(actions.get_by_role("button", name="Cancel")).to_have_count(0)
    # From CANCELLED only a start over is possible, and not for a resolver: the template does not allow it.
    expect(actions.get_by_role("button", name="Start over")).to_have_count(0)
    assert api.get(f"/task/{task['id']}").json()["state"] == "CANCELLED"


def test_actions_follow_rights_and_the_server_judges(page: Page, dashboard_server: str, api) -> None:
    """alice (requester, not a resolver) sees no resolution action; the admin resolves, pauses, edits a step state."""
    with api_as(dashboard_server, "alice") as alice:
        task = create_task(alice, "ui-task-blocked")
    assert "resolution" not in task and task["state"] == "TODO"  # alice may not run it

    open_task(page, dashboard_server, "alice", task["id"])
    actions = page.locator(".task-actions")
    expect(actions.get_by_role("button", name="Won't fix")).to_be_visible()  # the requester may
    for name in ("Run", "Pause", "Cancel", "Start over"):
        expect(actions.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.locator(".resolve-card")).to_contain_text("Only its resolvers (resolver)")
    expect(page.locator("#resolve-form")).to_have_count(0)

    # The admin resolves it, it blocks; pause, then edit the failing step's state.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, dashboard_server, "admin", f"#/task/{task['id']}")
    page.locator("#resolve-form").get_by_role("button", name="Resolve").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "BLOCKED", timeout=20_000)
    actions.get_by_role("button", name="Pause").click()
    expect(page.locator(".task-head .facts")).to_contain_text("PAUSED")
    node(page, "broken").click()
    select = page.locator("#step-state-select")
    expect(select).to_be_enabled()
    select.select_option("PRUNE")
    page.get_by_role("button", name="Set state").click()
    expect(node(page, "broken")).to_have_attribute("data-state", "PRUNE")
    resolution_id = api.get(f"/task/{task['id']}").json()["resolution"]
    assert api.get(f"/resolution/{resolution_id}").json()["steps"]["broken"]["state"] == "PRUNE"

    # The server stays the judge: a refused action's message comes back in a toast.
    page.route(re.compile(r".*/resolution/[^/]+/run$"),
               lambda route: route.fulfill(status=403, content_type="application/json",
                                           body='{"error": "You are not allowed to resolve this task"}'))
    page.console.allow(r"403")
    actions.get_by_role("button", name="Run").click()
    expect(page.locator(".toast-error")).to_have_text("You are not allowed to resolve this task")


def test_start_over_and_wontfix(page: Page, dashboard_server: str, api) -> None:
    """An admin starts a blocked task over (a new resolution); a requester marks her TODO task WONTFIX."""
    task = create_task(api, "ui-task-blocked")
    assert wait_task(api, task["id"], FINISHED)["state"] == "BLOCKED"
    open_task(page, dashboard_server, "admin", task["id"])
    page.locator(".task-actions").get_by_role("button", name="Start over").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_contain_text("all its step results are deleted")
    dialog.get_by_role("button", name="Start over").click()
    expect(page.locator(".toast").last).to_contain_text("Started over")
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "BLOCKED", timeout=20_000)
    again = api.get(f"/task/{task['id']}").json()
    assert again["resolution"] != task["resolution"]

    with api_as(dashboard_server, "alice") as alice:
        todo = create_task(alice, "ui-task-resolver", {"target": "db-1"})
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, dashboard_server, "alice", f"#/task/{todo['id']}")
    expect(page.locator(".resolve-card")).to_contain_text("Waiting for a resolver")
    page.locator(".task-actions").get_by_role("button", name="Won't fix").click()
    page.locator("dialog.confirm-dialog").get_by_role("button", name="Won't fix").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "WONTFIX")
    expect(page.locator(".resolve-card")).to_have_count(0)
    assert api.get(f"/task/{todo['id']}").json()["state"] == "WONTFIX"


def test_resolver_inputs_form_starts_the_resolution(page: Page, dashboard_server: str, api) -> None:
    with api_as(dashboard_server, "alice") as alice:
        task = create_task(alice, "ui-task-resolver", {"target": "web-7"})
    assert "resolution" not in task  # resolver inputs: never auto-run
    open_task(page, dashboard_server, "resolver", task["id"])

    form = page.locator("#resolve-form")
    expect(form.get_by_label("reason")).to_be_visible()
    expect(form.get_by_label("level")).to_have_value("0")  # default "low" preselected
    expect(form.get_by_label("dry_run")).to_be_visible()
    page.console.allow(r"400")
    form.get_by_label("reason").fill("no")
    form.get_by_role("button", name="Start the resolution").click()
    expect(page.locator("#ri-reason-error")).to_contain_text("doesnt comply with regex")
    top_snap(page, "task-resolver-inputs")

    form.get_by_label("reason").fill("scheduled maintenance")
    form.get_by_label("level").select_option(label="high")
    form.get_by_label("count").fill("3")
    form.get_by_role("button", name="Start the resolution").click()
    expect(page.locator(".task-head .task-state")).to_have_attribute("data-state", "DONE", timeout=30_000)
    expect(node(page, "apply")).to_have_attribute("data-state", "DONE")
    done = api.get(f"/task/{task['id']}").json()
    assert done["result"] == {"reason": "scheduled maintenance"}
    res = api.get(f"/resolution/{done['resolution']}").json()
    assert res["resolver_username"] == "resolver"
    assert res["resolver_inputs"]["level"] == "high"
    assert res["resolver_inputs"]["count"] == 3


def test_not_allowed_and_not_found(page: Page, dashboard_server: str, api) -> None:
    with api_as(dashboard_server, "alice") as alice:
        task = create_task(alice, "hello-world", {"name": "Alice"})
    page.console.allow(r"403|404")
    open_task_error = page.locator(".error-view")
    sign_in(page, dashboard_server, "bob", f"#/task/{task['id']}")
    expect(open_task_error.locator("h2")).to_have_text("Not allowed")
    expect(open_task_error).to_contain_text("Can't display task details")
    expect(page).to_have_title(re.compile("^Not allowed"))
    snap(page, "task-not-allowed")
    with api_as(dashboard_server, "bob") as bob:
        assert bob.get(f"/task/{task['id']}").status_code == 403

    page.goto(f"{dashboard_server}/ui/dashboard/#/task/{uuid.uuid4()}")
    expect(open_task_error.locator("h2")).to_have_text("Not found")
    # A sentence for people; the API's own text ("sql: no rows in result set") only as a small detail.
    expect(open_task_error.locator("p").first).to_have_text("This task does not exist, or was deleted.")
    expect(open_task_error.locator(".error-detail")).to_contain_text("sql: no rows in result set")
    assert open_task_error.locator(".error-detail").evaluate("e => parseFloat(getComputedStyle(e.querySelector('small')).fontSize)") \
        < open_task_error.locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    page.goto(f"{dashboard_server}/ui/dashboard/#/task/not-a-task")
    expect(open_task_error.locator("h2")).to_have_text("Not found")
    snap(page, "task-not-found")


def test_comments_and_audit_trail(page: Page, dashboard_server: str, api) -> None:
    with api_as(dashboard_server, "alice") as alice:
        task = create_task(alice, "hello-world", {"name": "Alice"})
        assert wait_task(alice, task["id"], FINISHED)["state"] == "DONE"
    assert api.post(f"/task/{task['id']}/comment", json={"content": "admin was here"}).status_code == 201
    open_task(page, dashboard_server, "alice", task["id"])

    audit = page.locator(".audit-card")
    expect(audit.locator(".audit-verified")).to_have_attribute("data-verified", "true")
    expect(audit.locator(".audit-verified")).to_contain_text("verified")
    expect(audit.locator('.audit-event[data-kind="task_created"]')).to_contain_text("alice")
    expect(audit.locator('.audit-event[data-kind="step_state"]').first).to_be_visible()
    audit.locator("#audit-filter").select_option("task_state")
    expect(audit.locator(".audit-event").first).to_have_attribute("data-kind", "task_state")

    comments = page.locator(".comments-card")
    admin_comment = comments.locator(".comment", has_text="admin was here")
    expect(admin_comment).to_be_visible()
    expect(admin_comment.get_by_role("button", name="Edit")).to_have_count(0)  # not hers
    page.console.allow(r"400")
    comments.get_by_label("Add a comment").fill("hi")
    comments.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comment-new-error")).to_contain_text("at least 3 characters")
    comments.get_by_label("Add a comment").fill("Thanks, it worked")
    comments.get_by_role("button", name="Add comment").click()
    mine = comments.locator(".comment", has_text="Thanks, it worked")
    expect(mine).to_be_visible()
    mine.get_by_role("button", name="Edit").click()
    editor = comments.get_by_label("Edit the comment")
    expect(editor).to_be_focused()
    editor.fill("Thanks, it worked twice")
    expect(editor).to_have_value("Thanks, it worked twice")
    comments.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Comment updated.")).to_be_visible(timeout=15_000)
    expect(comments.locator(".comment", has_text="Thanks, it worked twice")).to_contain_text("edited", timeout=15_000)
    expect(audit.locator(".audit-event").first).to_be_visible()
    top_snap(page, "task-comments-audit")

    # A comment that arrives (live) while one is being edited shows once the edit ends, without a reload.
    mine = comments.locator(".comment", has_text="Thanks, it worked twice")
    mine.get_by_role("button", name="Edit").click()
    expect(comments.get_by_label("Edit the comment")).to_be_focused()
    assert api.post(f"/task/{task['id']}/comment", json={"content": "admin again"}).status_code == 201
    page.wait_for_timeout(1500)  # the live update comes while the edit holds the list
    expect(comments.locator(".comment", has_text="admin again")).to_have_count(0)
    comments.get_by_role("button", name="Cancel").click()
    expect(comments.locator(".comment", has_text="admin again")).to_be_visible(timeout=2000)

    listed = api.get(f"/task/{task['id']}/comment").json()
    assert [c["content"] for c in listed if c["username"] == "alice"] == ["Thanks, it worked twice"]

    comments.locator(".comment", has_text="twice").get_by_role("button", name="Delete").click()
    page.locator("dialog.confirm-dialog").get_by_role("button", name="Delete comment").click()
    expect(comments.locator(".comment", has_text="twice")).to_have_count(0)
    assert not [c for c in api.get(f"/task/{task['id']}/comment").json() if c["username"] == "alice"]


def test_connection_lost_then_deleted_keeps_the_data(page: Page, dashboard_server: str, api) -> None:
    task = create_task(api, "hello-world", {"name": "Lost"})
    wait_task(api, task["id"], FINISHED)
    open_task(page, dashboard_server, "admin", task["id"])
    expect(node(page, "greet")).to_have_attribute("data-state", "DONE")
    page.console.allow(r"ERR_INTERNET_DISCONNECTED|ERR_NETWORK|Failed to fetch|net::")
    page.context.set_offline(True)
    notice = page.locator(".page-notice")
    expect(notice).to_contain_text("Connection lost — retrying", timeout=20_000)
    expect(node(page, "greet")).to_have_attribute("data-state", "DONE")  # the last data stays
    page.context.set_offline(False)
    expect(notice).to_be_hidden(timeout=30_000)

    # Deleted meanwhile: said so, the last state stays on screen.
    assert api.delete(f"/task/{task['id']}").status_code == 204
    page.console.allow(r"404")
    expect(notice).to_contain_text("This task was deleted", timeout=20_000)
    expect(node(page, "greet")).to_have_attribute("data-state", "DONE")


def test_phone_list_view(phone_page: Page, dashboard_server: str, api) -> None:
    page = phone_page
    task = create_task(api, "ui-task-blocked")
    wait_task(api, task["id"], FINISHED)
    open_task(page, dashboard_server, "admin", task["id"])
    steps = page.locator(".step-list")
    expect(steps).to_be_visible()  # the list is the default on a narrow screen
    expect(page.locator(".graph-scroll")).to_be_hidden()
    steps.locator('.step-item[data-step="first"]').click()
    expect(page.locator(".step-panel h2")).to_contain_text("first")
    expect(page.locator(".step-panel .step-output")).to_contain_text("fine")
    top_snap(page, "task-phone")
    page.get_by_role("button", name="Graph").click()
    expect(page.locator(".graph-scroll svg")).to_be_visible()
    # the graph is scaled to the screen's width (no sideways scrolling to see it whole)
    page.wait_for_function("() => { const s = document.querySelector('.graph-scroll');"
                           " return s.scrollWidth <= s.clientWidth + 1 && s.getBoundingClientRect().right <= innerWidth; }",
                           timeout=5000)
    page.locator(".steps-card").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "task-phone-graph.png"))
    # Horizontal overflow of the whole page would make it unusable.
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
