"""`utask serve` as an operator runs it, with notifications: the composition root builds the notifier from
utask-cfg, hands the backend names to the notify plugin and the notifier to the engine and host calls."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import httpx
import pytest

from tests.foundation.conftest import UTASK_BIN, clean_environ, run_cli, utask_env
from tests.foundation.test_cli import wait_for_ping

from .receiver import Receiver

TEMPLATE = """
name: notify-serve
description: notifies
title_format: "served"
auto_runnable: true
steps:
  tell:
    action:
      type: notify
      configuration:
        message: "step says hi"
        fields: {k: v}
        backends: [%s]
"""


def serve_env(database_url: str, rec: Receiver, port: int | None = None) -> dict[str, str]:
    cfg = {"admin_usernames": ["admin"], "base_url": "http://u", "notify_config": {
        "hook": {"type": "webhook", "config": {"webhook_url": rec.url("/serve")}}}}
    env = utask_env(database_url, CFG_UTASK_CFG=json.dumps(cfg))
    if port is not None:
        env["SERVER_PORT"] = str(port)
    return env


@pytest.fixture(scope="module")
def rec():
    r = Receiver()
    yield r
    r.close()


def test_serve_sends_notifications_and_the_notify_step_delivers(fresh_database, port, tmp_path, rec):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "notify-serve.yaml").write_text(TEMPLATE % "hook")
    env = clean_environ(**serve_env(fresh_database(), rec, port))
    proc = subprocess.Popen([UTASK_BIN, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_ping(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=("admin", "1234"), timeout=10) as client:
            created = client.post("/task", json={"template_name": "notify-serve", "input": {}})
            assert created.status_code == 201, created.text
            tid = created.json()["id"]
            deadline = time.monotonic() + 30
            while client.get(f"/task/{tid}").json()["state"] != "DONE" and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    got = [r.json for r in rec.wait("/serve", 6, timeout=5)]
    mine = [m for m in got if m.get("task_id") == tid]
    assert [m["state"] for m in mine if m["notification_type"] == "task_state_update"] == ["TODO", "RUNNING", "DONE"]
    assert {"message": "step says hi", "notification_type": "", "k": "v"} in got
    assert mine[0]["url"] == f"http://u/ui/dashboard/#/task/{tid}"


def test_serve_refuses_unknown_backend_and_bad_config(fresh_database, tmp_path, rec):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "notify-serve.yaml").write_text(TEMPLATE % "pager")
    url = fresh_database()
    env = serve_env(url, rec)
    env["TEMPLATES"] = str(tmp_path / "templates")
    done = run_cli("serve", env=env, timeout=60)
    assert done.returncode != 0
    assert "can't find backend name: pager. Available backends: hook" in done.stderr
    env["CFG_UTASK_CFG"] = json.dumps({"admin_usernames": ["admin"], "notify_config": {
        "og": {"type": "opsgenie", "config": {"zone": "moon"}}}})
    done = run_cli("serve", env=env, timeout=60)
    assert done.returncode != 0
    assert 'failed to instantiate opsgenie notification sender: opsgenie zone "moon" not found' in done.stderr
    assert "Traceback" not in done.stderr
