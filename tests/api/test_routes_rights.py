"""Every route of reference §7.2 with its rights (§7.3, §8) and error texts (§7.4)."""

from __future__ import annotations

import psycopg

from .conftest import ADMIN, OTHER, REGULAR

OWNER = {"x-remote-user": "owner"}
RESOLVER_GROUP = {"x-remote-user": "grouped"}


def new_task(api, user=REGULAR, template="dummy-template", **body):
    body.setdefault("input", {"id": "x"})
    r = api.post("/task", user=user, json={"template_name": template, **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_task_read_rights(api):
    t = new_task(api, watcher_usernames=["watcher"], watcher_groups=["watchers"])
    tid = t["id"]
    assert api.get(f"/task/{tid}", user=REGULAR).status_code == 200  # requester
    assert api.get(f"/task/{tid}", user={"x-remote-user": "watcher"}).status_code == 200
    assert api.get(f"/task/{tid}", user=ADMIN).status_code == 200
    r = api.get(f"/task/{tid}", user=OTHER)
    assert r.status_code == 403 and r.json() == {"error": "Can't display task details"}
    # a template owner is a resolution manager
    o = new_task(api, template="owned-template", input={"id": "o"})
    assert api.get(f"/task/{o['id']}", user=OWNER).status_code == 200
    assert api.get(f"/task/{o['id']}", user=OTHER).status_code == 403


def test_create_task_resolver_lists_and_autorun(api):
    r = api.post("/task", user=REGULAR, json={"template_name": "owned-template", "input": {"id": "1"},
                                              "resolver_usernames": ["someone"]})
    assert r.status_code == 403
    assert r.json() == {"error": "resolver_usernames and resolver_groups can't be set by a regular user, you need to "
                                 "be owner of the template, or admin"}
    by_owner = new_task(api, user=OWNER, template="owned-template", input={"id": "2"}, resolver_usernames=["someone"])
    assert "resolution" in by_owner  # owner = resolution manager: auto-run
    assert by_owner["resolver_usernames"] == ["someone"]
    by_regular = new_task(api, user=REGULAR, template="owned-template", input={"id": "3"})
    assert "resolution" not in by_regular
    self_service = new_task(api, user=REGULAR, template="self-service", input={"id": "4"})
    assert "resolution" in self_service  # requester + allow_all_resolver_usernames
    assert api.wait_state(self_service["resolution"], {"DONE"})["state"] == "DONE"
    with_comment = new_task(api, comment="a first comment")
    assert [c["content"] for c in with_comment["comments"]] == ["a first comment"]


def test_list_types(api):
    t = new_task(api, user=REGULAR, template="owned-template", input={"id": "lt"})
    own = {x["id"] for x in api.get("/task", user=REGULAR).json()}
    assert t["id"] in own
    assert t["id"] not in {x["id"] for x in api.get("/task", user=OWNER).json()}
    assert t["id"] in {x["id"] for x in api.get("/task", user=OWNER, params={"type": "resolvable"}).json()}
    assert t["id"] in {x["id"] for x in api.get("/task", user=ADMIN, params={"type": "all"}).json()}
    assert t["id"] not in {x["id"] for x in api.get("/task", user=OTHER, params={"type": "all"}).json()}
    grouped = {x["id"] for x in api.get("/task", params={"type": "resolvable"},
                                        user={"x-remote-user": "nobody"}).json()}
    assert t["id"] not in grouped
    items = api.get("/task", user=ADMIN, params={"type": "all", "template": "owned-template"}).json()
    assert items and all(x["template_name"] == "owned-template" for x in items)


def test_update_task_rights_and_tags(api):
    t = new_task(api, tags={"team": "a"})
    tid = t["id"]
    r = api.put(f"/task/{tid}", user=OTHER, json={"input": {"id": "y"}})
    assert r.status_code == 403 and r.json() == {"error": "Can't update task"}
    r = api.put(f"/task/{tid}", user=REGULAR, json={"input": {"id": "y"}, "tags": {"_utask_parent_task_id": "p"}})
    assert r.status_code == 400
    assert r.json() == {"error": "tag _utask_parent_task_id is read-only and cannot be modified"}
    r = api.put(f"/task/{tid}", user=REGULAR, json={"input": {"id": "y"}, "watcher_usernames": ["w"]})
    assert r.status_code == 200
    body = r.json()
    assert body["input"] == {"id": "y"} and body["watcher_usernames"] == ["w"]
    assert "tags" not in body  # absent → null (µTask quirk kept)
    assert body["comments"][-1]["content"] == "manually edited task"
    r = api.put(f"/task/{tid}", user=REGULAR, json={"input": {}})
    assert r.status_code == 400
    # with a resolution, the requester alone may no longer edit; the owner needs a PAUSED resolution
    o = new_task(api, user=OWNER, template="owned-template", input={"id": "u"})
    api.wait_state(o["resolution"], {"DONE"})
    r = api.put(f"/task/{o['id']}", user=OWNER, json={"input": {"id": "v"}})
    assert r.status_code == 400
    assert r.json() == {"error": "Cannot update a task which resolution is not in state 'PAUSED'"}


def test_wontfix_and_delete(api):
    t = new_task(api)
    tid = t["id"]
    r = api.post(f"/task/{tid}/wontfix", user=OTHER)
    assert r.status_code == 403 and r.json() == {"error": "Can't set task's state to WONTFIX"}
    r = api.post(f"/task/{tid}/wontfix", user=REGULAR)
    assert r.status_code == 204 and r.content == b""
    r = api.post(f"/task/{tid}/wontfix", user=REGULAR)
    assert r.status_code == 400
    assert r.json() == {"error": "Can't set task's state to WONTFIX: task is in state WONTFIX"}
    r = api.post("/resolution", json={"task_id": tid})
    assert r.status_code == 400 and r.json() == {"error": "Failed to create Resolution: Task is in state WONTFIX"}
    r = api.delete(f"/task/{tid}", user=REGULAR)
    assert r.status_code == 401 and r.content == b""
    assert api.delete(f"/task/{tid}", user=ADMIN).status_code == 204
    assert api.get(f"/task/{tid}").status_code == 404


def test_comments(api):
    t = new_task(api, watcher_usernames=["watcher"])
    tid = t["id"]
    r = api.post(f"/task/{tid}/comment", user=OTHER, json={"content": "hello"})
    assert r.status_code == 403 and r.json() == {"error": "Can't create comment"}
    r = api.post(f"/task/{tid}/comment", user=REGULAR, json={"content": "hi"})
    assert r.status_code == 400
    assert r.json() == {"error": "Failed to create comment: task comment can't be shorter than 3 characters"}
    c = api.post(f"/task/{tid}/comment", user={"x-remote-user": "watcher"}, json={"content": "watching"}).json()
    assert c["username"] == "watcher" and c["content"] == "watching"
    assert set(c) == {"id", "username", "created", "updated", "content"}
    assert api.get(f"/task/{tid}/comment", user=OTHER).json() == {"error": "Can't list comment"}
    assert [x["id"] for x in api.get(f"/task/{tid}/comment", user=REGULAR).json()] == [c["id"]]
    assert api.get(f"/task/{tid}/comment/{c['id']}", user=REGULAR).json()["content"] == "watching"
    assert api.get(f"/task/{tid}/comment/{c['id']}", user=OTHER).json() == {"error": "Can't get comment"}
    r = api.put(f"/task/{tid}/comment/{c['id']}", user=REGULAR, json={"content": "edited"})
    assert r.status_code == 403 and r.json() == {"error": "Not allowed to update comment"}
    other_task = new_task(api, user={"x-remote-user": "watcher"})
    r = api.put(f"/task/{other_task['id']}/comment/{c['id']}", user={"x-remote-user": "watcher"},
                json={"content": "edited"})
    assert r.status_code == 400 and r.json() == {"error": "Comment and task don't match"}
    r = api.put(f"/task/{tid}/comment/{c['id']}", user={"x-remote-user": "watcher"}, json={"content": "edited"})
    assert r.status_code == 200 and r.json()["content"] == "edited"
    r = api.delete(f"/task/{tid}/comment/{c['id']}", user=REGULAR)
    assert r.status_code == 403 and r.json() == {"error": "Not allowed to delete comment"}
    assert api.delete(f"/task/{tid}/comment/{c['id']}", user=ADMIN).status_code == 204
    assert api.get(f"/task/{tid}/comment/{c['id']}", user=REGULAR).status_code == 404


def test_batches(api):
    r = api.post("/batch", user=REGULAR, json={"template_name": "dummy-template", "common_input": {},
                                               "inputs": [{"id": "b1"}, {"id": "b2"}], "tags": {"k": "v"}})
    assert r.status_code == 201, r.text
    batch = r.json()["id"]
    items = api.get("/task", user=REGULAR, params={"batch": batch}).json()
    assert sorted(x["title"] for x in items) == ["this task does nothing at all"] * 2
    assert all(x["batch"] == batch and x["tags"] == {"k": "v"} for x in items)
    r = api.post("/batch", user=REGULAR, json={"template_name": "dummy-template", "common_input": {"id": "c"},
                                               "inputs": [{"id": "b1"}]})
    assert r.status_code == 400 and r.json() == {"error": "Conflicting keys in input maps"}
    r = api.post("/batch", user=REGULAR, json={"template_name": "dummy-template", "inputs": [{"id": "ok"}, {}]})
    assert r.status_code == 400  # the second task fails: nothing is kept
    assert api.get("/task", params={"batch": "00000000-0000-0000-0000-000000000000"}).status_code == 404
    r = api.post("/batch", json={"template_name": "dummy-template", "inputs": [], "tags": {"_utask_parent_task_id": "x"}})
    assert r.status_code == 400


def test_resolution_rights_and_visibility(api):
    t = new_task(api, user=REGULAR, template="owned-template", input={"id": "r"})
    tid = t["id"]
    r = api.post("/resolution", user=OTHER, json={"task_id": tid})
    assert r.status_code == 403 and r.json() == {"error": "You are not allowed to resolve this task"}
    r = api.post("/resolution", user=RESOLVER_GROUP, json={"task_id": tid})
    assert r.status_code == 403  # `grouped` is not in the template's groups (no groups-auth here)
    r = api.post("/resolution", user=OWNER, json={"task_id": tid})
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["task_title"] == "" and res["resolver_username"] == "owner" and res["task_id"] == tid
    r = api.post("/resolution", user=OWNER, json={"task_id": tid})
    assert r.status_code == 409, r.text
    assert r.json() == {"error": 'Failed to create Resolution: pq: duplicate key value violates unique constraint '
                                 '"resolution_id_task_key"'}
    assert api.post("/resolution", user=OTHER, json={"task_id": tid}).status_code == 403
    rid = res["id"]
    assert api.wait_state(rid, {"DONE"})["state"] == "DONE"
    manager_view = api.get(f"/resolution/{rid}", user=OWNER).json()
    assert manager_view["steps"]["one"]["output"] == {"id": "r"}
    requester_view = api.get(f"/resolution/{rid}", user=REGULAR).json()
    assert requester_view["steps"]["one"]["output"] is None
    assert api.get(f"/resolution/{rid}", user=OTHER).json() == {"error": "Can't display resolution details"}
    step = api.get(f"/resolution/{rid}/step/one", user=REGULAR).json()
    assert step["output"] is None and step["state"] == "DONE"
    assert api.get(f"/resolution/{rid}/step/one", user=OWNER).json()["output"] == {"id": "r"}
    r = api.get(f"/resolution/{rid}/step/nope", user=OTHER)
    assert r.status_code == 404 and r.json() == {"error": 'given stepName "nope" for this resolution not found'}
    # The first run request right after creation raced the autorun collector: µTask would have run it.
    assert api.post(f"/resolution/{rid}/run", user=OWNER).status_code == 204
    r = api.post(f"/resolution/{rid}/run", user=OWNER)
    assert r.status_code == 400 and r.json() == {"error": "Can't run resolution: already done"}


def test_manual_actions(api):
    t = new_task(api, user=REGULAR, template="server-error", input={})
    r = api.post("/resolution", user=OWNER, json={"task_id": t["id"]})
    rid = r.json()["id"]
    assert api.wait_state(rid, {"BLOCKED_MAXRETRIES"})["state"] == "BLOCKED_MAXRETRIES"
    r = api.post(f"/resolution/{rid}/extend", user=REGULAR)
    assert r.status_code == 403 and r.json() == {"error": "Not allowed to extend resolution"}
    r = api.post(f"/resolution/{rid}/pause", user=REGULAR)
    assert r.status_code == 403 and r.json() == {"error": "You are not allowed to pause this task"}
    r = api.post(f"/resolution/{rid}/pause?force=true", user=OWNER)
    assert r.status_code == 403 and r.json() == {"error": "Not an admin user"}
    assert api.post(f"/resolution/{rid}/pause", user=OWNER).status_code == 204
    r = api.post(f"/resolution/{rid}/extend", user=OWNER)
    assert r.status_code == 400
    assert r.json() == {"error": "Cannot extend a resolution which is not in state 'BLOCKED_MAXRETRIES'"}
    # hot fixes of a PAUSED resolution
    r = api.put(f"/resolution/{rid}/step/failing/state", user=REGULAR, json={"state": "TODO"})
    assert r.status_code == 403 and r.json() == {"error": "Can't update resolution step state"}
    r = api.put(f"/resolution/{rid}/step/failing/state", user=OWNER, json={"state": "NOPE"})
    assert r.status_code == 400 and r.json() == {"error": 'invalid state provided: "NOPE" is not allowed'}
    assert api.put(f"/resolution/{rid}/step/failing/state", user=OWNER, json={"state": "TODO"}).status_code == 204
    comments = api.get(f"/task/{t['id']}/comment", user=ADMIN).json()
    assert comments[-1]["content"] == "manually updated resolution step failing state from SERVER_ERROR to TODO"
    assert api.put(f"/resolution/{rid}", user=OWNER, json={}).status_code == 401
    step = api.get(f"/resolution/{rid}/step/failing").json()
    step["description"] = "fixed by hand"
    assert api.put(f"/resolution/{rid}/step/failing", user=ADMIN, json=step).status_code == 204
    assert api.get(f"/resolution/{rid}/step/failing").json()["description"] == "fixed by hand"
    r = api.put(f"/resolution/{rid}", user=ADMIN, json={"steps": {"failing": {**step, "state": "WHAT"}}})
    assert r.status_code == 400 and r.json() == {"error": 'step "failing": invalid state provided: "WHAT" is not allowed'}
    r = api.put(f"/resolution/{rid}", user=ADMIN, json={"resolver_inputs": {"a": "b"}})
    assert r.status_code == 204
    r = api.post(f"/resolution/{rid}/cancel", user=REGULAR)
    assert r.status_code == 403 and r.json() == {"error": "You are not allowed to cancel this task"}
    assert api.post(f"/resolution/{rid}/cancel", user=OWNER).status_code == 204
    assert api.get(f"/task/{t['id']}").json()["state"] == "CANCELLED"
    r = api.post(f"/resolution/{rid}/cancel", user=OWNER)
    assert r.status_code == 400 and r.json() == {"error": "Can't cancel resolution: state CANCELLED"}
    r = api.post(f"/resolution/{rid}/pause", user=OWNER)
    assert r.status_code == 400 and r.json() == {"error": "Can't pause resolution while in state CANCELLED"}
    assert api.post(f"/resolution/{rid}/pause?force=true", user=ADMIN).status_code == 204
    r = api.put(f"/resolution/{rid}/step/nope", user=ADMIN, json=step)
    assert r.status_code == 404


def test_blocked_task_shows_client_errors(api):
    t = new_task(api, user=OWNER, template="client-error", input={})
    api.wait_state(t["resolution"], {"BLOCKED_BADREQUEST"})
    body = api.get(f"/task/{t['id']}", user=OWNER).json()
    assert body["state"] == "BLOCKED"
    assert body["errors"] == [{"step": "a broken step", "error": "bad input!"}]


def test_audit_trail(api):
    t = new_task(api, user=OWNER, template="owned-template", input={"id": "audited"})
    api.wait_state(t["resolution"], {"DONE"})
    trail = api.get(f"/task/{t['id']}/audit", user=OWNER).json()
    assert trail["verified"] is True and trail["problems"] == []
    kinds = [e["kind"] for e in trail["events"]]
    assert kinds[0] == "task_created" and "resolution_state" in kinds
    assert api.get(f"/task/{t['id']}/audit", user=OTHER).status_code == 403


def test_key_rotation(api):
    assert api.post("/key-rotate", user=REGULAR).status_code == 401
    r = api.post("/key-rotate", user=ADMIN)
    assert r.status_code == 200 and r.content == b""


def test_templates_routes(api):
    items = api.get("/template", user=REGULAR).json()
    dummy = next(x for x in items if x["name"] == "dummy-template")
    assert "steps" not in dummy and "title_format" not in dummy and dummy["inputs"][0]["name"] == "id"
    full = api.get("/template/dummy-template", user=REGULAR).json()
    assert "step" in full["steps"] and full["title_format"] == "this task does nothing at all"
    assert api.get("/template/hidden-template", user=REGULAR).status_code == 200


def test_callback_route(api):
    import uuid

    import psycopg

    t = new_task(api, user=OWNER, template="owned-template", input={"id": "cb"})
    api.wait_state(t["resolution"], {"DONE"})
    keyring = api.services.store.keyring
    cb_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
    schema = b'{"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}'
    with psycopg.connect(api.url, autocommit=True) as conn:
        task_id, res_id = conn.execute(
            "SELECT t.id, r.id FROM task t JOIN resolution r ON r.id_task = t.id WHERE t.public_id = %s",
            (t["id"],)).fetchone()
        conn.execute(
            """INSERT INTO callback (public_id, id_task, id_resolution, resolver_username, encrypted_schema,
                   encrypted_body, encrypted_secret) VALUES (%s, %s, %s, 'owner', %s, %s, %s)""",
            (cb_id, task_id, res_id, keyring.encrypt(schema, cb_id), keyring.encrypt(b"", cb_id),
             keyring.encrypt(secret.encode(), cb_id)))
    url = f"/unsecured/callback/{cb_id}"
    r = api.post(url, user=None, json={"ok": True})
    assert r.status_code == 400 and r.json()["error"].startswith("binding error on field 'CallbackSecret'")
    r = api.post(url + "?t=wrong", user=None, json={"ok": True})
    assert r.status_code == 404 and r.json() == {"error": "failed to load callback from public id: callback not found"}
    r = api.post(url + f"?t={secret}", user=None, json={"ok": True})
    assert r.status_code == 400 and r.json() == {"error": "related task is not in a valid state: DONE"}
    with psycopg.connect(api.url, autocommit=True) as conn:
        conn.execute("UPDATE task SET state = 'WAITING' WHERE id = %s", (task_id,))
    r = api.post(url + f"?t={secret}", user=None, json={"ok": "yes"})
    assert r.status_code == 400 and r.json()["error"].startswith("unable to validate body: ")
    r = api.post(url + f"?t={secret}", user=None, json={"ok": True})
    assert r.status_code == 200 and r.json() == {"message": "The callback has been resolved"}
    r = api.post(url + f"?t={secret}", user=None, json={"ok": True})
    assert r.status_code == 400 and r.json() == {"error": "callback has already been resolved"}
    with psycopg.connect(api.url, autocommit=True) as conn:
        body = conn.execute("SELECT encrypted_body FROM callback WHERE public_id = %s", (cb_id,)).fetchone()[0]
    assert keyring.decrypt(bytes(body), cb_id) == b'{"ok":true}'


def test_a_manual_action_while_a_run_commits_answers_uTasks_500(api):
    """µTask takes the row with NOWAIT and answers 500 with the database's text: so do we (without a
    traceback in the log, it is expected), whatever row our lock order meets first."""
    t = new_task(api, user=REGULAR, template="server-error", input={})
    rid = api.post("/resolution", user=OWNER, json={"task_id": t["id"]}).json()["id"]
    assert api.wait_state(rid, {"BLOCKED_MAXRETRIES"})["state"] == "BLOCKED_MAXRETRIES"
    with psycopg.connect(api.url) as conn:  # a run's commit holding the task row
        conn.execute('SELECT 1 FROM "task" WHERE public_id = %s FOR UPDATE', (t["id"],))
        for action in ("pause", "extend", "cancel"):
            r = api.post(f"/resolution/{rid}/{action}", user=OWNER)
            assert r.status_code == 500, (action, r.text)
            assert r.json() == {"error": 'Failed to load resolution from public id: pq: could not obtain lock on row '
                                         'in relation "resolution"'}
    assert api.post(f"/resolution/{rid}/pause", user=OWNER).status_code == 204  # free again
