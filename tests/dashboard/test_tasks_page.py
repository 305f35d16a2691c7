"""The task list (#/tasks): filters kept in the hash, paging one page at a time, live updates, the chart of
counts per state, visibility per user. Each test tags its tasks with a run id of its own and filters on it,
so the tasks of the other dashboard tests do not get in the way."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qs, quote, urlparse

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import ARTIFACTS, api_as, sign_in, snap

ROWS = ".task-table tbody tr"


def create(client: httpx.Client, run: str, template: str = "ui-form-manual", **inputs) -> dict:
    r = client.post("/task", json={"template_name": template, "input": inputs, "tags": {"run": run}})
    assert r.status_code == 201, r.text
    return r.json()


def wait_state(api: httpx.Client, task_id: str, state: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.get(f"/task/{task_id}").json()["state"] == state:
            return
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} not {state} after {timeout}s")


def tasks_url(server: str, **query: str) -> str:
    q = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return f"{server}/ui/dashboard/#/tasks?{q}"


def hash_query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).fragment.partition("?")[2])


def test_rows_and_filters(page, dashboard_server: str, api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:10]
    mine = [create(api, run, ticket="A-1"), create(api, run, ticket="A-2")]
    with api_as(dashboard_server, "alice") as alice:
        theirs = create(alice, run, ticket="B-1")
    hello = create(api, run, template="hello-world", name="Rows")
    wait_state(api, hello["id"], "DONE")

    sign_in(page, dashboard_server, "admin", f"#/tasks?type=all&tag=run%3D{run}")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(4)
    expect(page).to_have_title(re.compile("^Tasks"))
    # newest activity first: the hello-world task ran last
    expect(rows.first).to_have_attribute("data-id", hello["id"])
    row = page.locator(f"{ROWS}[data-id='{theirs['id']}']")
    expect(row.get_by_role("link", name="Manual task B-1")).to_have_attribute("href", f"#/task/{theirs['id']}")
    expect(row).to_contain_text("ui-form-manual")
    expect(row.locator(".badge")).to_have_text("TODO")
    expect(row).to_contain_text("alice")
    expect(row.locator(".progress")).to_have_attribute("aria-valuenow", "0")
    expect(row.locator(".progress")).to_contain_text("0/1")
    expect(row.locator("time")).to_contain_text(re.compile(r"(\d+ s ago|in \d+ s)"))
    assert row.locator("time").get_attribute("title")  # the exact date
    done = page.locator(f"{ROWS}[data-id='{hello['id']}']")
    expect(done.locator(".badge")).to_have_text("DONE")
    expect(done.locator(".progress")).to_contain_text("2/2")
    expect(page.get_by_label("Tags", exact=True)).to_have_value(f"run={run}")
    snap(page, "tasks-list")

    # state: kept in the hash, and the back button undoes it
    page.get_by_label("State", exact=True).select_option("TODO")
    expect(rows).to_have_count(3)
    assert hash_query(page)["state"] == ["TODO"]
    expect(page.get_by_label("State", exact=True)).to_be_focused()
    page.go_back()
    expect(rows).to_have_count(4)
    expect(page.get_by_label("State", exact=True)).to_have_value("")

    page.get_by_label("Template", exact=True).select_option("ui-form-manual")
    expect(rows).to_have_count(3)
    assert hash_query(page)["template"] == ["ui-form-manual"]
    # "own": admin's own tasks only (alice's is gone)
    page.get_by_label("Show", exact=True).select_option("own")
    expect(rows).to_have_count(2)
    assert {rows.nth(i).get_attribute("data-id") for i in range(2)} == {t["id"] for t in mine}
    # the list's "New task" button offers the filtered template
    expect(page.get_by_role("link", name="New task").last).to_have_attribute("href", "#/new?template=ui-form-manual")

    # dates: nothing was active before yesterday
    page.goto(tasks_url(dashboard_server, type="all", tag=f"run={run}", before="2001-01-01T00:00:00Z"))
    expect(page.get_by_text("No task matches these filters.")).to_be_visible()
    expect(page.get_by_role("link", name="Create a task")).to_be_visible()
    expect(page.get_by_label("Active before")).not_to_have_value("")
    page.get_by_role("link", name="Clear the filters").click()
    expect(page).to_have_url(re.compile(r"#/tasks\?type=all$"))


def test_a_user_sees_only_their_tasks(page, dashboard_server: str, api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:10]
    create(api, run, ticket="ADMIN")
    with api_as(dashboard_server, "alice") as alice:
        hers = create(alice, run, ticket="ALICE")
    sign_in(page, dashboard_server, "alice", f"#/tasks?tag=run%3D{run}")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", hers["id"])
    # "all" is offered to admins only
    options = page.locator("#flt-type option").all_inner_texts()
    assert options == ["Mine (requested or watched)", "I can resolve"], options
    # alice resolves nothing here
    page.get_by_label("Show", exact=True).select_option("resolvable")
    expect(page.get_by_text("No task matches these filters.")).to_be_visible()


def test_paging_one_page_at_a_time(page, dashboard_server: str, api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:10]
    ids = [create(api, run, ticket=f"P-{i}")["id"] for i in range(12)]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if re.search(r"/task\?", r.url) else None)
    sign_in(page, dashboard_server, "admin", f"#/tasks?type=all&tag=run%3D{run}&page_size=10")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(10)
    first = [rows.nth(i).get_attribute("data-id") for i in range(10)]
    assert first == ids[::-1][:10]  # newest first
    expect(page.locator(".pager")).to_contain_text("Page 1")
    expect(page.locator(".list-summary")).to_have_text("Tasks 1–10")

    page.get_by_role("link", name="Next →").click()
    expect(rows).to_have_count(2)
    expect(page.locator(".pager")).to_contain_text("Page 2")
    second = [rows.nth(i).get_attribute("data-id") for i in range(2)]
    assert set(first) | set(second) == set(ids)
    assert hash_query(page)["last"] == [first[-1]]
    expect(page.locator(".pager [aria-disabled='true']")).to_have_text("Next →")

    page.get_by_role("link", name="← Previous").click()
    expect(rows).to_have_count(10)
    expect(page.locator(".pager")).to_contain_text("Page 1")
    assert [rows.nth(i).get_attribute("data-id") for i in range(10)] == first

    page.get_by_label("Per page").select_option("20")
    expect(rows).to_have_count(12)
    assert "page_size" not in hash_query(page)  # 20 is the default

    # every list request asked for one page only
    assert requests
    for url in requests:
        q = parse_qs(urlparse(url).query)
        if urlparse(url).path.endswith("/task"):
            assert q["page_size"][0] in ("10", "20"), url

    # a page that starts after a task that no longer exists
    page.console.allow(r"status of 404")
    page.goto(tasks_url(dashboard_server, type="all", last=str(uuid.uuid4())))
    expect(page.get_by_text("This page no longer exists")).to_be_visible()


def test_live_update_and_chart(page, dashboard_server: str, api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:10]
    create(api, run, ticket="L-1")
    create(api, run, ticket="L-2")
    hello = create(api, run, template="hello-world", name="Live")
    wait_state(api, hello["id"], "DONE")
    sign_in(page, dashboard_server, "admin", f"#/tasks?type=all&tag=run%3D{run}")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(3)
    expect(page.locator(".live-status")).to_have_text("● Live")

    # the chart: counts of these filters per state
    chart = page.locator(".state-chart")
    expect(chart.locator("a[data-state='TODO']")).to_have_attribute("data-count", "2")
    expect(chart.locator("a[data-state='DONE']")).to_have_attribute("data-count", "1")
    expect(chart.locator("a[data-state='RUNNING']")).to_have_attribute("data-count", "0")

    # created elsewhere while the page is open: it shows up, and the counts follow
    new = create(api, run, ticket="L-3")
    expect(rows).to_have_count(4, timeout=10_000)
    expect(rows.first).to_have_attribute("data-id", new["id"])
    # (the stream sends fresh counts with the change: its count cache never answers with counts older than it)
    expect(chart.locator("a[data-state='TODO']")).to_have_attribute("data-count", "3", timeout=10_000)
    snap(page, "tasks-live")

    # a bar filters by its state; clicking it again shows every state
    chart.locator("a[data-state='DONE']").click()
    expect(rows).to_have_count(1)
    assert hash_query(page)["state"] == ["DONE"]
    expect(page.get_by_label("State", exact=True)).to_have_value("DONE")
    expect(page.locator(".state-chart a[data-state='DONE']")).to_have_class(re.compile("selected"))
    page.locator(".state-chart a[data-state='DONE']").click()
    expect(rows).to_have_count(4)
    assert "state" not in hash_query(page)

    # the keyboard reaches the bars
    bar = page.locator(".state-chart a[data-state='TODO']")
    bar.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(3)


def test_bad_tag_filter_stays_on_the_page(page, dashboard_server: str) -> None:
    sign_in(page, dashboard_server, "admin", "#/tasks")
    page.get_by_label("Tags", exact=True).fill("nokey")
    page.get_by_label("Tags", exact=True).press("Enter")
    expect(page.locator("#flt-tags-error")).to_contain_text("is not a key=value pair")
    expect(page).to_have_url(re.compile(r"#/tasks$"))


def test_tasks_on_a_phone(phone_page, dashboard_server: str, api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:10]
    for i in range(3):
        create(api, run, ticket=f"Phone-{i}")
    sign_in(phone_page, dashboard_server, "admin", f"#/tasks?type=all&tag=run%3D{run}")
    expect(phone_page.locator(ROWS)).to_have_count(3)
    # the key columns stay visible: a stacked card per task
    expect(phone_page.locator(ROWS).first.get_by_role("link", name=re.compile("Manual task"))).to_be_visible()
    expect(phone_page.locator(ROWS).first.locator(".badge")).to_be_visible()
    snap(phone_page, "tasks-list-phone")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


SELECT_TEXT_FITS = """(sel) => {
  const text = sel.options[sel.selectedIndex].text;
  const style = getComputedStyle(sel);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = sel.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20; // the arrow
  return {text, need: ctx.measureText(text).width, room};
}"""

GAPS = """() => {
  const bottom = (card) => card.getBoundingClientRect().bottom - parseFloat(getComputedStyle(card).paddingBottom);
  const content = (card) => Math.max(...[...card.children].map((c) => c.getBoundingClientRect().bottom));
  const filters = document.querySelector('.filters');
  const chart = document.querySelector('.chart');
  return {filtersEmpty: bottom(filters) - content(filters), chartEmpty: bottom(chart) - content(chart),
          top: [filters.getBoundingClientRect().top, chart.getBoundingClientRect().top],
          height: [filters.getBoundingClientRect().height, chart.getBoundingClientRect().height]};
}"""


def test_filters_and_chart_read_well_on_a_laptop(page, dashboard_server: str) -> None:
    """At 1280 px the "Show" choice is not cut ("Mine (requested or w…") and neither card leaves a big empty
    space beside the other (the chart is not much taller than the filters)."""
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, dashboard_server, "admin", "#/tasks")
    expect(page.locator(".state-chart")).to_be_visible()
    show = page.get_by_label("Show", exact=True)
    for value in ("own", "resolvable", "all"):
        show.select_option(value)
        fits = page.get_by_label("Show", exact=True).evaluate(SELECT_TEXT_FITS)
        assert fits["need"] <= fits["room"], fits
    expect(page.locator(".state-chart")).to_be_visible()
    for select in ("State", "Template"):
        fits = page.get_by_label(select, exact=True).evaluate(SELECT_TEXT_FITS)
        assert fits["need"] <= fits["room"], (select, fits)
    gaps = page.evaluate(GAPS)
    assert abs(gaps["top"][0] - gaps["top"][1]) < 1, gaps
    assert abs(gaps["height"][0] - gaps["height"][1]) < 1, gaps  # side by side, as tall as each other
    assert gaps["filtersEmpty"] < 60 and gaps["chartEmpty"] < 60, gaps  # and neither mostly empty
    page.screenshot(path=str(ARTIFACTS / "tasks-laptop-1280.png"))
