"""The templates list (#/templates), a template's page (#/template/<name>) and the functions (#/functions)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.dashboard.conftest import ARTIFACTS, sign_in, snap


def test_templates_list_search_and_hidden(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "admin", "#/templates")
    table = page.locator("#tpl-table")
    expect(table.locator("tr[data-name='ui-form-kinds']")).to_be_visible()
    expect(table.locator("tr[data-name='hello-world']")).to_be_visible()
    # admins also list hidden templates, marked as such
    expect(table.locator("tr[data-name='ui-form-hidden']")).to_contain_text("hidden")
    expect(table.locator("tr[data-name='ui-form-blocked']")).to_contain_text("blocked")
    expect(table.locator("tr[data-name='ui-form-kinds']")).to_contain_text("team=dashboard")
    expect(page).to_have_title(re.compile("^Templates"))
    snap(page, "templates-list")

    page.get_by_label("Search templates").fill("every kind")
    expect(table.locator("tbody tr:visible")).to_have_count(1)
    expect(table.locator("tr[data-name='ui-form-kinds']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=every(\+|%20)kind"))
    # a tag is searchable too
    page.get_by_label("Search templates").fill("team=dashboard")
    expect(table.locator("tr[data-name='ui-form-kinds']")).to_be_visible()
    page.get_by_label("Search templates").fill("no-such-template-xyz")
    expect(table.locator("tbody tr:visible")).to_have_count(0)
    expect(page.get_by_text("No template matches “no-such-template-xyz”.")).to_be_visible()

    # the search survives a reload (it is in the hash)
    page.get_by_label("Search templates").fill("hello")
    page.reload()
    expect(page.get_by_label("Search templates")).to_have_value("hello")
    expect(table.locator("tr[data-name='hello-world']")).to_be_visible()
    expect(table.locator("tr[data-name='ui-form-kinds']")).to_be_hidden()


def test_hidden_templates_not_listed_for_users(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "alice", "#/templates")
    table = page.locator("#tpl-table")
    expect(table.locator("tr[data-name='ui-form-kinds']")).to_be_visible()
    expect(table.locator("tr[data-name='ui-form-hidden']")).to_have_count(0)


def test_template_detail_and_create_button(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "alice", "#/templates")
    page.locator("#tpl-table").get_by_role("link", name="ui-form-kinds", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/template/ui-form-kinds$"))
    expect(page.get_by_role("heading", name="ui-form-kinds", level=1)).to_be_visible()
    expect(page).to_have_title(re.compile("^ui-form-kinds"))
    main = page.locator("main")
    expect(main).to_contain_text("Every kind of input, for the dashboard's task creation form")
    expect(main).to_contain_text("The inputs cover every control of the form.")  # long description
    doc = page.get_by_role("link", name=re.compile("Documentation"))
    expect(doc).to_have_attribute("href", "https://example.org/docs/ui-form-kinds")

    inputs = page.locator(".inputs-table").first
    for name in ("hostname", "secret", "replicas", "dry_run", "notify", "environment", "zones", "features",
                 "owner", "note"):
        expect(inputs.locator(f"tr[data-input='{name}']")).to_have_count(1)
    expect(inputs.locator("tr[data-input='hostname']")).to_contain_text("^[a-z][a-z0-9-]*$")
    expect(inputs.locator("tr[data-input='replicas']")).to_contain_text("number")
    expect(inputs.locator("tr[data-input='zones']")).to_contain_text("string list")
    expect(inputs.locator("tr[data-input='environment']")).to_contain_text("staging")
    # an input with a default need not be given: said once ("default X"), not "has a default / default X"
    expect(inputs.locator("tr[data-input='owner'] td.col-required")).to_have_text("optional, default ops-team")
    expect(inputs.locator("tr[data-input='hostname'] td.col-required")).to_have_text("required")
    expect(inputs.locator("tr[data-input='note'] td.col-required")).to_have_text("optional")
    expect(inputs.locator("tr[data-input='dry_run'] td.col-required")).to_have_text("default false")
    expect(inputs).not_to_contain_text("has a default")
    expect(main).to_contain_text("No resolver inputs.")
    expect(page.locator(".var-list")).to_contain_text("greeting")
    expect(page.locator(".var-list")).to_contain_text("doubled")
    expect(main).to_contain_text("whoever creates it")

    # the step graph: five steps, their dependencies as edges, the action type on each node
    graph = page.locator(".tpl-graph svg")
    expect(graph.locator(".g-node")).to_have_count(5)
    expect(graph.locator(".g-edge")).to_have_count(5)
    expect(graph.locator(".g-node[data-step='close']")).to_contain_text("echo")
    expect(graph.locator(".g-edge[data-from='deploy'][data-to='report']")).to_have_count(1)
    steps = page.locator(".steps-table")
    expect(steps.locator("tr[data-step='report']")).to_contain_text("deploy:ANY")
    # selecting a node finds its row
    graph.locator(".g-node[data-step='verify']").click()
    expect(steps.locator("tr[data-step='verify']")).to_have_class(re.compile("selected"))
    snap(page, "template-detail")

    page.get_by_role("link", name="Create a task").click()
    expect(page).to_have_url(re.compile(r"#/new\?template=ui-form-kinds$"))
    expect(page.get_by_role("heading", name=re.compile("New task: ui-form-kinds"))).to_be_visible()


def test_template_detail_of_resolver_template(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "admin", "#/template/ui-form-manual")
    resolver_inputs = page.locator(".inputs-table").nth(1)
    expect(resolver_inputs.locator("tr[data-input='reason']")).to_contain_text("optional")
    expect(page.locator("main")).to_contain_text("when a resolver starts it")
    expect(page.locator("dl.facts")).to_contain_text("resolver")


def test_blocked_and_unknown_template(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "admin", "#/template/ui-form-blocked")
    expect(page.get_by_text("Create a task")).to_have_attribute("aria-disabled", "true")
    page.console.allow(r"status of 404")
    page.goto(f"{dashboard_server}/ui/dashboard/#/template/no-such-template")
    expect(page.locator(".error-view")).to_contain_text("Not found")
    expect(page.locator(".error-view")).to_contain_text("no-such-template")


def test_edge_labels_of_a_crowded_template_never_overlap(page, dashboard_server: str) -> None:
    """Five labelled edges, three into `merge` ("DONE,AMBER,RED", "ANY", "ANY") and two into `report`: the labels
    are spread along their edges, never drawn on top of each other nor over a node."""
    from tests.dashboard.test_task_details import assert_labels_apart

    sign_in(page, dashboard_server, "admin", "#/template/ui-graph-labels")
    graph = page.locator(".tpl-graph svg")
    expect(graph.locator(".g-node")).to_have_count(5)
    expect(graph.locator(".g-edge-label")).to_have_count(5)
    expect(graph.locator(".g-edge-label[data-from='check'][data-to='merge']")).to_have_text(re.compile("DONE,AMBER,RED"))
    assert_labels_apart(page, ".tpl-graph svg")
    page.locator(".tpl-graph").screenshot(path=str(ARTIFACTS / "template-graph-labels.png"))


def test_templates_on_a_phone(phone_page, dashboard_server: str) -> None:
    sign_in(phone_page, dashboard_server, "admin", "#/templates")
    expect(phone_page.locator("#tpl-table tr[data-name='ui-form-kinds']")).to_be_visible()
    snap(phone_page, "templates-list-phone")
    phone_page.goto(f"{dashboard_server}/ui/dashboard/#/template/ui-form-kinds")
    expect(phone_page.locator(".tpl-graph svg .g-node")).to_have_count(5)
    snap(phone_page, "template-detail-phone")
    assert_fits_the_screen(phone_page)
    phone_page.goto(f"{dashboard_server}/ui/dashboard/#/functions?name=ui%3A%3Aform%3A%3Agreet")
    expect(phone_page.locator("details.fn[open]")).to_contain_text("GREETED")
    snap(phone_page, "functions-phone")
    assert_fits_the_screen(phone_page)


WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('main *')]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
    && !e.closest('.graph-wrap, .table-wrap, pre'))
  .map((e) => `${e.tagName}.${e.className}`).slice(0, 10)"""


def assert_fits_the_screen(page) -> None:
    """Nothing sticks out on the right of a phone screen (scrollable boxes may scroll inside)."""
    wide = page.evaluate(WIDER_THAN_SCREEN)
    assert not wide, wide
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_functions(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "admin", "#/functions")
    fn = page.locator("details.fn[data-name='ui::form::greet']")
    expect(fn).to_be_visible()
    expect(page).to_have_title(re.compile("^Functions"))
    fn.locator("summary").click()
    expect(fn).to_contain_text("GREETED")
    expect(fn.locator("dl")).to_contain_text("who")  # its argument, from {{ .function_args.who }}
    expect(fn.locator("pre.json")).to_contain_text('"prefix": "Hello"')
    expect(page).to_have_url(re.compile(r"name=ui%3A%3Aform%3A%3Agreet"))
    snap(page, "functions")
    page.get_by_label("Search functions").fill("nothing-like-this")
    expect(fn).to_be_hidden()
    expect(page.get_by_text("No function matches")).to_be_visible()
    # a shared link opens the function
    page.goto(f"{dashboard_server}/ui/dashboard/#/functions?name=ui%3A%3Aform%3A%3Agreet")
    page.reload()
    expect(page.locator("details.fn[data-name='ui::form::greet']")).to_have_attribute("open", "")
