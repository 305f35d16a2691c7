"""§11.1 events of tasks run through the real engine and plugin host, received by a real local webhook."""

from __future__ import annotations

import base64
import json

from tests.api.conftest import REGULAR

from .conftest import BASE_URL, PREFIX


def url(task_id: str) -> str:
    return f"{BASE_URL}{PREFIX}/ui/dashboard/#/task/{task_id}"


def test_task_run_sends_state_and_step_updates(server, receiver):
    task = server.create_task("notify-echo", {"who": "carol"})
    tid, rid = task["id"], task["resolution"]
    server.wait_resolution(rid, {"DONE"})
    server.flush()
    got = [r.json for r in receiver.at("/hook", tid)]
    msg = f"#task #id:{tid}\necho for carol"
    states = [(m["notification_type"], m["state"], m.get("step_state")) for m in got]
    # Per backend, in order: created, run start, the step's states, end of run.
    assert states[0] == ("task_state_update", "TODO", None)
    assert states[1] == ("task_state_update", "RUNNING", None)
    assert states[-1] == ("task_state_update", "DONE", None)
    assert ("task_step_update", "RUNNING", "DONE") in states
    assert got[0] == {
        "message": msg, "notification_type": "task_state_update", "task_id": tid, "title": "echo for carol",
        "state": "TODO", "template": "notify-echo", "requester": "admin", "steps": "0/1",
        "potential_resolvers": "alice bob", "tags": '{"team":"blue"}', "url": url(tid),
    }
    assert got[1] == {
        "message": msg, "notification_type": "task_state_update", "task_id": tid, "title": "echo for carol",
        "state": "RUNNING", "template": "notify-echo", "requester": "admin", "resolver": "admin", "steps": "0/1",
        "resolution_id": rid, "tags": '{"team":"blue"}', "url": url(tid),
    }
    step = next(m for m in got if m.get("step_state") == "DONE")
    assert step == {
        "message": msg, "notification_type": "task_step_update", "task_id": tid, "title": "echo for carol",
        "state": "RUNNING", "template": "notify-echo", "requester": "admin", "resolver": "admin",
        "steps": "0/1", "resolution_id": rid, "tags": '{"team":"blue"}', "step_name": "say", "step_state": "DONE",
        "url": url(tid),
    }
    assert got[-1]["steps"] == "1/1" and got[-1]["resolution_id"] == rid
    # Webhook delivery details: basic auth from the `notify-webhook-credentials` item, custom headers, JSON.
    req = receiver.at("/hook", tid)[0]
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
    assert req.headers["x-test"] == "yes"
    assert json.loads(req.raw) == got[0]
    # Slack is silent for every type; `failures` only hears of BLOCKED tasks.
    assert receiver.at("/slack", tid) == [] and receiver.at("/failures", tid) == []


def test_failure_strategies_through_the_engine(server, receiver):
    task = server.create_task("notify-fail")
    server.wait_resolution(task["resolution"], {"BLOCKED_BADREQUEST"})
    server.flush()
    got = [r.json for r in receiver.at("/failures", task["id"])]
    # default task_state_update failure_only → only the BLOCKED task; the template rule for step updates
    # (failure_or_done, on the *step* state) → the DONE step (RUNNING and CLIENT_ERROR are neither).
    assert [(m["notification_type"], m["state"], m.get("step_name"), m.get("step_state")) for m in got] == [
        ("task_step_update", "RUNNING", "ok", "DONE"), ("task_state_update", "BLOCKED", None, None)]


def test_validation_and_wontfix(server, receiver):
    r = server.post("/task", REGULAR, json={"template_name": "notify-manual", "input": {}})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    server.flush()
    got = [m.json for m in receiver.at("/hook", tid)]
    assert [m["notification_type"] for m in got] == ["task_state_update", "task_validation"]
    assert got[1] == {
        "message": f"#task #id:{tid}\nmanual task", "notification_type": "task_validation", "task_id": tid,
        "title": "manual task", "state": "TODO", "template": "notify-manual", "requester": "regular",
        "potential_resolvers": "alice", "tags": "{}", "url": url(tid),
    }
    r = server.post(f"/task/{tid}/wontfix", REGULAR)
    assert r.status_code == 204, r.text
    server.flush()
    got = [m.json for m in receiver.at("/hook", tid)]
    assert got[-1]["notification_type"] == "task_state_update" and got[-1]["state"] == "WONTFIX"
    assert receiver.at("/failures", tid) == []


def test_delayed_then_cancelled(server, receiver):
    r = server.post("/task", json={"template_name": "notify-echo", "input": {"who": "dan"}, "delay": "1h"})
    assert r.status_code == 201, r.text
    task = r.json()
    tid = task["id"]
    r = server.post(f"/resolution/{task['resolution']}/cancel")
    assert r.status_code == 204, r.text
    server.flush()
    got = [m.json for m in receiver.at("/hook", tid)]
    assert [(m["notification_type"], m["state"]) for m in got] == [
        ("task_state_update", "DELAYED"), ("task_state_update", "CANCELLED")]
    assert got[1]["resolution_id"] == task["resolution"] and got[1]["resolver"] == "admin"


def test_notify_plugin_delivers(server, receiver):
    task = server.create_task("notify-plugin")
    tid = task["id"]
    res = server.wait_resolution(task["resolution"], {"DONE"})
    assert res["steps"]["toChat"].get("output") is None and res["steps"]["toChat"].get("metadata") is None
    server.flush()
    # The Slack backend is silent for every event type, yet the plugin's messages (strategy `always`) arrive.
    chat = [r.json for r in receiver.at("/slack")]
    texts = [b["blocks"][0]["text"]["text"] for b in chat]
    assert f"hello from {tid}" in texts and "to everyone" in texts
    body = chat[texts.index(f"hello from {tid}")]
    assert body["blocks"][1]["fields"] == [{"type": "mrkdwn", "text": "*Env:*\nprod"},
                                           {"type": "mrkdwn", "text": "*Who:*\nadmin"}]
    assert body["blocks"][3] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "🚀 Sent from chat"}]}
    # `backends` empty: every backend, whatever its strategies (failures is failure_only).
    for path in ("/hook", "/failures"):
        plain = [r.json for r in receiver.at(path) if r.json.get("message") == "to everyone"]
        assert plain == [{"message": "to everyone", "notification_type": ""}]
    assert not any(r.json.get("message") == f"hello from {tid}" for r in receiver.at("/hook"))


def test_notify_plugin_refuses_unknown_backend_at_load(server):
    import pytest
    from utask.core.plugins.model import PluginConfigError

    with pytest.raises(PluginConfigError) as err:
        server.call(server.host.validate, "notify", None, {"message": "x", "backends": ["chat", "nope"]})
    assert "can't find backend name: nope. Available backends: chat, failures, hook" in str(err.value)
    server.call(server.host.validate, "notify", None, {"message": "x", "backends": ["hook"]})


def test_manual_step_state_change_is_announced(server, receiver):
    task = server.create_task("notify-fail")
    rid = task["resolution"]
    server.wait_resolution(rid, {"BLOCKED_BADREQUEST"})
    assert server.post(f"/resolution/{rid}/pause").status_code == 204
    r = server.put(f"/resolution/{rid}/step/boom/state", json={"state": "TODO"})
    assert r.status_code == 204, r.text
    server.flush()
    got = [r.json for r in receiver.at("/hook", task["id"])]
    manual = [m for m in got if m["notification_type"] == "task_step_update" and m["step_name"] == "boom"]
    assert manual[-1]["step_state"] == "TODO"
    assert manual[-1]["resolution_id"] == rid
