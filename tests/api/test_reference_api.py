"""µTask's api/api_test.go (reference §15.2), ported."""

from __future__ import annotations

import time

from .conftest import ADMIN, REGULAR, start_api


def test_utils_in_maintenance_mode(api_db):
    server, stop = start_api(api_db, maintenance=True)
    try:
        assert server.get("/metrics", user=None).status_code == 200
        assert server.get("/unsecured/mon/ping", user=None).status_code == 200
        r = server.get("/", user=REGULAR, follow_redirects=False)
        assert r.status_code == 301 and r.headers["location"] == "/meta"
        assert server.get("/meta", user=REGULAR).status_code == 200
        r = server.post("/task", user=ADMIN, content=b"")
        assert r.status_code == 405 and r.json() == {"error": "Maintenance mode activated"}
        assert server.post("/key-rotate", user=ADMIN).status_code == 200
        r = server.post("/key-rotate", user=REGULAR)
        assert r.status_code == 401 and r.content == b""
    finally:
        stop()


def test_password_input(api):
    assert api.get("/template/input-password", user=REGULAR).status_code == 200
    assert api.get("/template/input-password", user=None).status_code == 401
    r = api.post("/task", user=REGULAR, json={"template_name": "input-password", "input": {"verysecret": "abracadabra"}})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = api.post(f"/task/{task_id}/comment", user=REGULAR, json={"content": "I'm a pickle rick"})
    assert r.status_code == 201, r.text
    assert api.get(f"/task/{task_id}", user=REGULAR).json()["input"]["verysecret"] == "**__SECRET__**"
    assert api.get(f"/task/{task_id}", user=ADMIN).json()["input"]["verysecret"] == "abracadabra"
    r = api.put(f"/task/{task_id}", user=REGULAR, json={"input": {"verysecret": "**__SECRET__**"}})
    assert r.status_code == 200, r.text
    assert api.get(f"/task/{task_id}", user=ADMIN).json()["input"]["verysecret"] == "abracadabra"
    r = api.put(f"/task/{task_id}", user=REGULAR, json={"input": {"verysecret": "expectopatronum"}})
    assert r.status_code == 200, r.text
    assert api.get(f"/task/{task_id}", user=ADMIN).json()["input"]["verysecret"] == "expectopatronum"
    r = api.post("/resolution", user=ADMIN, json={"task_id": task_id})
    assert r.status_code == 201, r.text
    res_id = r.json()["id"]
    r = api.post(f"/resolution/{res_id}/run", user=ADMIN)
    assert r.status_code == 204, r.text
    assert api.wait_state(res_id, {"DONE"})["state"] == "DONE"
    body = api.get(f"/task/{task_id}", user=REGULAR).json()
    assert body["state"] == "DONE"
    assert body["result"]["revealed"] == "expectopatronum"
    assert api.get("/unsecured/stats", user=None).status_code == 200


def test_resolution_edit_json_and_yaml_bodies(api):
    r = api.post("/task", user=REGULAR, json={"template_name": "dummy-template", "input": {"id": "foo"}})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = api.put(f"/task/{task_id}", user=REGULAR, json={"input": {"id": "bar-json"}})
    assert r.status_code == 200, r.text
    assert api.get(f"/task/{task_id}").json()["input"]["id"] == "bar-json"
    r = api.put(f"/task/{task_id}", user=REGULAR, content=b"input:\n  id: bar-yaml")
    assert r.status_code == 200, r.text
    assert api.get(f"/task/{task_id}").json()["input"]["id"] == "bar-yaml"
    # a refused input: µTask's Task.Update annotates the validation error
    r = api.put(f"/task/{task_id}", user=REGULAR, json={"input": {}})
    assert r.status_code == 400 and r.json() == {"error": "Failed to update task: Missing input 'id'"}, r.text


def test_start_over(api):
    r = api.post("/task", user=REGULAR, json={"template_name": "resolver-input-template", "input": {"id": "yesssss!"}})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = api.post("/resolution", json={"task_id": task_id})
    assert r.status_code == 400 and r.json() == {"error": "Failed to create Resolution: Missing input 'ri1'"}
    r = api.post("/resolution", json={"task_id": task_id, "start_over": True})
    assert r.status_code == 400
    assert r.json() == {"error": "can't start over a task that hasn't been resolved at least once"}
    r = api.post("/resolution", json={"task_id": task_id, "resolver_inputs": {"ri1": "foo"}})
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    assert api.post(f"/resolution/{first}/run").status_code == 204
    assert api.wait_state(first, {"BLOCKED_BADREQUEST"})["state"] == "BLOCKED_BADREQUEST"
    r = api.post("/resolution", json={"task_id": task_id, "resolver_inputs": {"ri1": "bar"}, "start_over": True})
    assert r.status_code == 201, r.text
    second = r.json()["id"]
    assert api.post(f"/resolution/{second}/run").status_code == 204
    assert api.wait_state(second, {"DONE"})["state"] == "DONE"
    assert api.get(f"/resolution/{first}").status_code == 404
    r = api.post("/resolution", json={"task_id": task_id, "resolver_inputs": {"ri1": "bar"}, "start_over": True})
    assert r.status_code == 400
    assert r.json() == {"error": 'can\'t start over a task that isn\'t in status "PAUSED", "BLOCKED_BADREQUEST" or "CANCELLED"'}


def test_pagination_before_after(api):
    created = []
    for i in range(20):
        r = api.post("/task", user=REGULAR, json={"template_name": "dummy-template", "input": {"id": f"page-{i}"}})
        assert r.status_code == 201
        created.append(r.json())
        time.sleep(0.01)
    r = api.get("/task?page_size=20", user=REGULAR)
    items = r.json()
    assert len(items) == 20
    assert r.headers["X-Paging-PageSize"] == "20"
    assert items[0]["id"] == created[-1]["id"]
    mid = items[10]["last_activity"]
    before = api.get("/task", user=REGULAR, params={"page_size": 20, "before": mid}).json()
    assert before and all(t["last_activity"] < mid for t in before)
    after = api.get("/task", user=REGULAR, params={"page_size": 20, "after": mid}).json()
    assert len(after) == 10 and all(t["last_activity"] > mid for t in after)


def test_blocked_hidden_templates(api):
    admin = {t["name"] for t in api.get("/template", user=ADMIN).json()}
    regular = {t["name"] for t in api.get("/template", user=REGULAR).json()}
    assert {"hidden-template", "blocked-and-hidden"} <= admin
    assert not {"hidden-template", "blocked-and-hidden"} & regular
    for name in ("blocked-template", "blocked-and-hidden"):
        for user in (ADMIN, REGULAR):
            r = api.post("/task", user=user, json={"template_name": name})
            assert r.status_code == 400 and r.json() == {"error": "Template not available (blocked)"}
