"""§15.1 TestResolveCallback and the unauthenticated callback route end to end (§10.12)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .conftest import BASE_URL


def _waiting_callback(server) -> tuple[dict, str, dict]:
    task = server.create_task("callbacktemplate")
    task["resolution"] = server.resolve(task["id"])  # not auto-runnable (§15 harness)
    res = server.wait_resolution(task["resolution"], {"WAITING"})
    assert res["steps"]["createCallback"]["state"] == "DONE"
    assert res["steps"]["waitCallback"]["state"] == "WAITING"
    assert res["steps"]["waitCallback"]["error"] == "task is waiting for a callback"
    return task, task["resolution"], res["steps"]["createCallback"]["output"]


def test_resolve_callback(server):
    task, resolution, created = _waiting_callback(server)
    assert set(created) == {"id", "url", "token", "schema"}
    # base_url + path_prefix normalised ("hooks/" → "/hooks") + /<id>?t=<token>
    assert created["url"] == f"{BASE_URL}/hooks/{created['id']}?t={created['token']}"
    schema = created["schema"]
    assert schema["required"] == ["success"] and schema["properties"] == {"success": {"type": "boolean"}}
    assert "$schema" in schema
    # Stored encrypted (AAD = the callback's public id), resolver = the task's requester.
    row = server.sql('SELECT resolver_username, encrypted_secret, called FROM "callback" WHERE public_id = %s',
                     (created["id"],))[0]
    assert row[0] == "admin" and created["token"].encode() not in bytes(row[1]) and row[2] is None
    keyring = server.services.store.keyring
    assert keyring.decrypt(bytes(row[1]), created["id"]).decode() == created["token"]


def test_callback_route_end_to_end(server):
    task, resolution, created = _waiting_callback(server)
    path = urlsplit(created["url"]).path.replace("/hooks/", "/unsecured/callback/")
    token = created["token"]
    # No authentication needed; errors as the reference.
    r = server.post(path, None, json={"success": True})
    assert r.status_code == 400  # missing t
    r = server.post(path, None, params={"t": "wrong"}, json={"success": True})
    assert r.status_code == 404
    assert r.json()["error"] == "failed to load callback from public id: callback not found"
    r = server.post(path, None, params={"t": token}, json={"success": "yes"})
    assert r.status_code == 400 and r.json()["error"].startswith("unable to validate body: ")
    r = server.post(path, None, params={"t": token}, json={})
    assert r.status_code == 400 and r.json()["error"].startswith("unable to validate body: ")
    r = server.post(path, None, params={"t": token}, json={"success": True})
    assert r.status_code == 200 and r.json() == {"message": "The callback has been resolved"}
    # The resolution is resumed at once: the wait step reads the call.
    res = server.wait_resolution(resolution, {"DONE"}, timeout=10)
    out = res["steps"]["waitCallback"]["output"]
    assert out["id"] == created["id"] and out["body"] == {"success": True} and out["date"].endswith("Z")
    # The reference template reads `.output.success`, which the wait output (id, date, body) does not have.
    assert server.task(task["id"])["result"] == {"foo": "<no value>"}
    r = server.post(path, None, params={"t": token}, json={"success": True})
    assert r.status_code == 400 and r.json()["error"] == "callback has already been resolved"


def test_callback_url_prefix_rules():
    from utask.core.engine.host_calls import callback_url

    assert callback_url("http://u", "", "ID", "T") == "http://u/unsecured/callback/ID?t=T"
    assert callback_url("http://u", "cb/", "ID", "T") == "http://u/cb/ID?t=T"
    assert callback_url("http://u", "/cb", "ID", "T") == "http://u/cb/ID?t=T"
    assert callback_url("http://u", "/", "ID", "T") == "http://u/ID?t=T"

