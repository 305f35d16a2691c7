"""The step panel shows a step's log lines (`logs` of GET /resolution/:id) in a "Logs" block: a real
`utask serve` with a plugin installed as a distribution, whose steps log and print in the real sandbox."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import sandbox_readable_dir
from tests.dashboard.conftest import sign_in, snap
from tests.dashboard.server_fixtures import Served, serve_process

PLUGIN = Path(__file__).parents[1] / "plugins" / "devx_plugins.py"
TEMPLATE = """
name: ui-step-logs
description: a step that logs and prints, one that is silent
title_format: Logs
auto_runnable: true
steps:
  talk:
    description: logs and prints
    action:
      type: devx
      configuration: {do: log}
  silent:
    dependencies: [talk]
    action:
      type: devx
      configuration: {do: log_many, count: 0}
"""


@pytest.fixture(scope="module")
def logs_server(fresh_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with sandbox_readable_dir("utask-step-logs-") as readable:  # the plugin, where the sandbox's uid reads it
        yield from _logs_server(fresh_database, tmp_path_factory.mktemp("step-logs"), readable / "site")


def _logs_server(fresh_database, work: Path, site: Path) -> Iterator[Served]:
    dist = site / "devx_plugins-1.0.0.dist-info"
    dist.mkdir(parents=True)
    shutil.copy(PLUGIN, site / "devx_plugins.py")
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: devx-plugins\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[utask.plugins]\ndevx = devx_plugins\n")
    template = work / "ui-step-logs.yaml"
    template.write_text(TEMPLATE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(site))  # the server's environment (serve_process copies ours)
        server = serve_process(fresh_database(), work / "server", templates=[template])
    try:
        yield server
    finally:
        server.stop()
        assert "Traceback" not in server.output(), server.output()[-5000:]


def _done_task(server: Served) -> dict:
    with server.client() as client:
        r = client.post("/task", json={"template_name": "ui-step-logs", "input": {}})
        assert r.status_code == 201, r.text
        task_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while (task := client.get(f"/task/{task_id}").json())["state"] != "DONE" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert task["state"] == "DONE", task
        steps = client.get(f"/resolution/{task['resolution']}").json()["steps"]
    assert steps["talk"]["logs"] == ["INFO first talk", "WARNING two\nlines", "OUTPUT printed line",
                                     "OUTPUT error line"]
    assert "logs" not in steps["silent"]
    return task


def test_the_step_panel_shows_the_logs_after_output_and_metadata(page: Page, logs_server: Served) -> None:
    task = _done_task(logs_server)
    sign_in(page, logs_server.url, "admin", f"#/task/{task['id']}")
    page.locator(".task-head h1").wait_for()
    page.locator('svg.step-graph .g-node[data-step="talk"]').click()
    panel = page.locator(".step-panel")
    expect(panel.locator("h2")).to_contain_text("talk")
    logs = panel.locator("pre.step-logs")
    expect(logs).to_have_text("INFO first talk\nWARNING two\nlines\nOUTPUT printed line\nOUTPUT error line")
    section = panel.locator("section.panel-section", has=page.locator("pre.step-logs"))
    expect(section.locator("h3")).to_have_text("Logs")
    titles = panel.locator("section.panel-section > h3").all_inner_texts()
    assert titles.index("Logs") == titles.index("Metadata") + 1 and titles.index("Output") < titles.index("Logs")
    snap(page, "step-logs")

    page.locator('svg.step-graph .g-node[data-step="silent"]').click()
    expect(panel.locator("h2")).to_contain_text("silent")
    expect(panel.locator("pre.step-logs")).to_have_count(0)
    expect(panel.locator("section.panel-section > h3", has_text="Logs")).to_have_count(0)
