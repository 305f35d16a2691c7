"""`utask serve` as an operator runs it: a real process, a real database, the sandboxed echo plugin.

A task created through the REST API runs to DONE through the whole chain (API → task service → storage
← engine → plugin host → sandboxed worker), its result is rendered, and its audit trail verifies.
"""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

from tests.foundation.conftest import UTASK_BIN, clean_environ, utask_env
from tests.foundation.test_cli import wait_for_ping

ADMIN = ("admin", "1234")


@pytest.fixture
def server(fresh_database, port, workdir):
    env = clean_environ(**utask_env(fresh_database()), SERVER_PORT=str(port))
    proc = subprocess.Popen([UTASK_BIN, "serve"], env=env, cwd=workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_ping(proc, port)
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def wait_task(client: httpx.Client, task_id: str, states: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/task/{task_id}").json()
        if task["state"] in states or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def test_a_task_runs_to_done_through_the_sandboxed_plugin(server: str) -> None:
    with httpx.Client(base_url=server, auth=ADMIN, timeout=10) as client:
        created = client.post("/task", json={"template_name": "hello-world", "input": {"name": "Ada"}})
        assert created.status_code == 201, created.text
        task = wait_task(client, created.json()["id"], {"DONE", "BLOCKED"})
        assert task["state"] == "DONE", task
        assert task["result"] == {"greeting": "Hello Ada!", "shout": "DONE"}
        assert (task["steps_done"], task["steps_total"]) == (2, 2)

        resolution = client.get(f"/resolution/{task['resolution']}").json()
        assert resolution["state"] == "DONE"
        assert resolution["steps"]["greet"]["output"] == {"message": "Hello Ada!"}

        audit = client.get(f"/task/{task['id']}/audit").json()
        assert audit["verified"] is True
        kinds = [e["kind"] for e in audit["events"]]
        assert kinds[0] == "task_created" and len(kinds) > 3

        # a bad input is refused with µTask's text and creates nothing
        bad = client.post("/task", json={"template_name": "hello-world", "input": {"name": 'say "hi"'}})
        assert bad.status_code == 400
        assert "doesnt comply with regex" in bad.json()["error"]

        assert "utask_task_state" in httpx.get(f"{server}/metrics").text


def test_anonymous_callers_are_refused(server: str) -> None:
    r = httpx.get(f"{server}/task")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Authorization Required"'


def test_metrics_count_step_executions_and_runs(server: str) -> None:
    """The engine feeds /metrics: step executions by plugin and state, run durations, completion times."""
    with httpx.Client(base_url=server, auth=ADMIN, timeout=10) as client:
        created = client.post("/task", json={"template_name": "hello-world", "input": {"name": "Bob"}})
        assert wait_task(client, created.json()["id"], {"DONE"})["state"] == "DONE"
    text = httpx.get(f"{server}/metrics").text
    assert 'utask_step_executions_total{plugin="echo",state="DONE"} 2.0' in text
    assert 'utask_run_duration_seconds_count{template="hello-world"} 1.0' in text
    assert 'utask_complete_times_count{template="hello-world"} 1.0' in text
