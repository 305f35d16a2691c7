"""HTTP plumbing: bodies (JSON/YAML, exact numbers, case-insensitive names), Accept, errors, CORS,
maintenance mode, authentication variants, paging headers (reference §7.1, §8)."""

from __future__ import annotations

import base64

import pytest
import yaml
from utask.hostapi.http import body as body_mod
from utask.hostapi.http.paging import named_next_link, normalize_page_size, task_next_link
from utask.hostapi.http.render import wants_yaml
from utask.hostapi.models import CreateTaskIn

from .conftest import ADMIN, REGULAR, make_settings, start_api

# -- pure helpers -------------------------------------------------------------------------------------------


def test_page_size_rules():
    assert [normalize_page_size(n) for n in (None, 0, 1, 9, 10, 500, 10000, 10001)] == [
        1000, 1000, 10, 10, 10, 500, 10000, 10000]


def test_link_formats_are_go_url_values_encode():
    assert task_next_link("own", "TODO", None, 10, "abc") == "</task?last=abc&page_size=10&state=TODO&type=own>; rel=next"
    assert named_next_link("template", 20, "a b") == "</template?last=a+b&page_size=20>; rel=next"


def test_max_body_bytes_clamped():
    assert body_mod.clamp_max_body_bytes(0) == 262144
    assert body_mod.clamp_max_body_bytes(10) == 1024
    assert body_mod.clamp_max_body_bytes(1 << 30) == 10 * 1024 * 1024


@pytest.mark.parametrize("accept,expected", [
    ("", False), ("application/json", False), ("application/x-yaml", True),
    ("application/json;q=0.5, application/x-yaml", True), ("application/x-yaml;q=0.1, application/json", False),
    ("text/html, application/x-yaml", True), ("*/*", False),
])
def test_accept_negotiation(accept, expected):
    assert wants_yaml(accept) is expected


def test_body_decoding_go_rules():
    m = body_mod.build(CreateTaskIn, body_mod.decode(b'{"Template_Name": "x", "INPUT": {"n": 1.50}, "zzz": 1}'))
    assert m.template_name == "x"
    assert str(m.input["n"]) == "1.50"  # exact text of the number
    m = body_mod.build(CreateTaskIn, body_mod.decode(b"template_name: yy\ninput:\n  num: 12\n"))
    assert m.template_name == "yy" and str(m.input["num"]) == "12"
    with pytest.raises(body_mod.BodyError) as e:
        body_mod.build(CreateTaskIn, body_mod.decode(b'{"template_name": 12}'))
    assert str(e.value) == ("error parsing request body: error unmarshaling JSON: while decoding JSON: json: "
                            "cannot unmarshal number into Go struct field createTaskIn.template_name of type string")
    with pytest.raises(body_mod.BodyError) as e:
        body_mod.decode(b"a: [1, 2")
    assert str(e.value).startswith("error parsing request body: error converting YAML to JSON: yaml:")


# -- through the app --------------------------------------------------------------------------------------


def test_errors_cors_and_yaml_responses(api):
    r = api.get("/template/does-not-exist")
    assert r.status_code == 404
    assert r.json() == {"error": 'Failed to load template "does-not-exist" from name: sql: no rows in result set'}
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE"
    assert r.headers["access-control-allow-headers"] == "Content-Type"
    assert r.headers["access-control-expose-headers"] == "Content-Type"
    assert "access-control-allow-origin" not in api.get("/metrics", user=None).headers
    r = api.get("/meta", headers={"Accept": "application/x-yaml"})
    assert r.headers["content-type"].startswith("application/x-yaml")
    assert yaml.safe_load(r.text)["username"] == "admin"
    r = api.get("/meta")
    assert r.text.startswith("{\n    \"")  # gin debug mode: 4-space indented JSON
    r = api.get("/task/not-a-uuid")
    assert r.status_code == 400 and "invalid input syntax for type uuid" in r.json()["error"]
    r = api.get("/task/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    r = api.post("/task", content=b"{not: [valid")
    assert r.status_code == 400 and r.json()["error"].startswith("error parsing request body: ")
    r = api.post("/task", json={"template_name": "dummy-template", "input": {"id": "x"}, "tags": {"_utask_parent_task_id": "x"}})
    assert r.status_code == 400 and r.json() == {"error": 'tag name "_utask_parent_task_id" not allowed'}
    r = api.post("/task", json={"input": {}})
    assert r.status_code == 404  # missing template_name is a lookup of "" (µTask: required not enforced)
    r = api.post("/task", json={"template_name": "dummy-template"})
    assert r.status_code == 400 and r.json() == {"error": "Failed to create new Task: Missing input 'id'"}
    r = api.get("/task", params={"type": "bogus"})
    assert r.status_code == 400 and r.json()["error"].startswith("binding error on field 'Type'")
    r = api.get("/task", params={"tag": "novalue"})
    assert r.status_code == 400 and r.json() == {"error": "invalid tag novalue"}
    assert api.get("/unsecured/stats", user=None, params={"tag": "a="}).json() == {"error": "invalid tag a="}


def test_body_size_limit(api):
    big = b'{"template_name": "' + b"x" * 300_000 + b'"}'
    r = api.post("/task", content=big)
    assert r.status_code == 400
    assert r.json() == {"error": "error parsing request body: http: request body too large"}


def test_get_and_empty_bodies_are_ignored(api):
    r = api.client.request("GET", "/meta", headers=ADMIN, content=b"{broken")
    assert r.status_code == 200


def test_stats_and_metrics(api):
    assert api.post("/task", json={"template_name": "dummy-template", "input": {"id": "m"}}).status_code == 201
    stats = api.get("/unsecured/stats", user=None).json()["task_states"]
    assert set(stats) >= {"TODO", "BLOCKED", "RUNNING", "WONTFIX", "DONE", "CANCELLED"}
    api.services.metrics.mark_refreshed(0.0)
    text = api.get("/metrics", user=None).text
    assert "utask_task_state{" in text
    assert 'group=""' in text and 'status="TODO"' in text
    assert "utask_step_executions" in text and "utask_sandbox_kills" in text


def test_spec_json_is_the_whole_api(api):
    doc = api.get("/unsecured/spec.json", user=None).json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "µTask API tests"
    for path in ("/task", "/task/{id}", "/resolution/{id}/run", "/template", "/function/{name}", "/batch",
                 "/task/{id}/comment/{commentid}", "/resolution/{id}/step/{stepName}/state", "/meta"):
        assert path in doc["paths"], path


def test_meta(api):
    assert api.get("/meta", user=REGULAR).json() == {
        "application_name": "µTask API tests", "user_is_admin": False, "username": "regular", "user_groups": [],
        "version": api.services.version, "commit": ""}


def test_anonymous_is_refused(api):
    for path in ("/meta", "/task", "/template", "/function"):
        r = api.get(path, user=None)
        assert r.status_code == 401 and r.content == b""


def test_maintenance_mode_really_refuses_writes(api_db):
    server, stop = start_api(api_db, maintenance=True)
    try:
        before = server.get("/unsecured/stats", user=None).json()["task_states"]
        r = server.post("/task", json={"template_name": "dummy-template", "input": {"id": "m"}})
        assert r.status_code == 405 and r.json() == {"error": "Maintenance mode activated"}
        assert server.get("/unsecured/stats", user=None).json()["task_states"] == before
        assert server.get("/task").status_code == 200  # reads still work
    finally:
        stop()


def test_basic_auth_and_groups(api_db):
    settings = make_settings(api_db, admin_groups=["ops"], basic_auth={"alice": "pw", "bob": "pw2"},
                             groups_auth={"ops": ["bob"]})
    server, stop = start_api(api_db, settings=settings)
    try:
        def basic(u: str, p: str) -> dict:
            return {"Authorization": "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()}

        r = server.get("/meta", user=None)
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="Authorization Required"'
        r = server.get("/meta", user=None, headers=basic("alice", "wrong"))
        assert r.status_code == 401 and r.content == b""
        r = server.get("/meta", user=None, headers={"x-remote-user": "alice"})
        assert r.status_code == 401  # the proxy header is not trusted when basic auth is configured
        meta = server.get("/meta", user=None, headers=basic("alice", "pw")).json()
        assert meta["username"] == "alice" and meta["user_is_admin"] is False
        meta = server.get("/meta", user=None, headers=basic("bob", "pw2")).json()
        assert meta["user_groups"] == ["ops"] and meta["user_is_admin"] is True
    finally:
        stop()


def test_auth_provider_hook(api_db):
    from utask.hostapi.auth import Authenticator

    def provider(request):
        token = request.headers.get("x-token")
        if token == "bad":
            raise PermissionError("bad token")
        return {"t1": "admin"}.get(token)

    auth = Authenticator(admin_usernames=["admin"], providers=[provider], group_providers=[lambda u: ["g-" + u]])
    server, stop = start_api(api_db, authenticator=auth)
    try:
        meta = server.get("/meta", user=None, headers={"x-token": "t1"}).json()
        assert meta["username"] == "admin" and meta["user_groups"] == ["g-admin"]
        assert server.get("/meta", user=None, headers={"x-token": "bad"}).status_code == 401
        # No answer from the plugin: the default provider (x-remote-user) decides.
        assert server.get("/meta", user=REGULAR).json()["username"] == "regular"
    finally:
        stop()


def test_task_listing_paging_headers(api):
    for i in range(12):
        assert api.post("/task", user={"x-remote-user": "pager"},
                        json={"template_name": "dummy-template", "input": {"id": f"p{i}"}}).status_code == 201
    r = api.get("/task", user={"x-remote-user": "pager"}, params={"page_size": 10, "state": "TODO"})
    items = r.json()
    assert len(items) == 10 and r.headers["X-Paging-PageSize"] == "10"
    assert r.headers["link"] == f"</task?last={items[-1]['id']}&page_size=10&state=TODO&type=own>; rel=next"
    rest = api.get("/task", user={"x-remote-user": "pager"}, params={"page_size": 10, "last": items[-1]["id"]}).json()
    assert len(rest) == 2 and not {t["id"] for t in rest} & {t["id"] for t in items}
    assert all(t["input"] is None for t in items)  # listings are not decrypted
    r = api.get("/template", params={"page_size": 1})
    assert r.headers["X-Paging-PageSize"] == "10"
    assert api.get("/template", params={"last": "nope"}).status_code == 404


def test_functions_listing_quirk(api):
    from utask.core.templates import FunctionRegistry, parse_function

    registry = FunctionRegistry()
    for name in ("a::one", "b::two", "c::three"):
        registry.add(parse_function(f"name: {name}\naction:\n  type: echo\n  configuration:\n    output: {{}}\n"))
    api.services.functions = registry
    try:
        names = [f["name"] for f in api.get("/function").json()]
        assert names == ["a::one", "b::two", "c::three"]
        assert [f["name"] for f in api.get("/function", params={"last": "a::one"}).json()] == ["b::two", "c::three"]
        # QUIRK kept: an unknown `last` starts at the last function.
        assert [f["name"] for f in api.get("/function", params={"last": "zzz"}).json()] == ["c::three"]
        assert api.get("/function/b::two").json()["name"] == "b::two"
        r = api.get("/function/nope")
        assert r.status_code == 404 and r.json() == {"error": "function not found"}
    finally:
        api.services.functions = None


def test_unknown_routes_answer_in_the_error_format(api):
    r = api.get("/no/such/route")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}
    r = api.client.patch("/task", headers=ADMIN)
    assert r.status_code == 405 and "error" in r.json()


def test_yaml_bodies_and_responses_end_to_end(api):
    r = api.post("/task", user=REGULAR, content=b"template_name: dummy-template\ninput:\n  id: from-yaml\ndelay: 1h\n",
                 headers={"Accept": "application/x-yaml"})
    assert r.status_code == 201 and r.headers["content-type"].startswith("application/x-yaml")
    created = yaml.safe_load(r.text)
    assert created["input"] == {"id": "from-yaml"} and created["state"] == "DELAYED"
    r = api.get("/task", user=REGULAR, headers={"Accept": "application/json;q=0.2, application/x-yaml;q=0.9"})
    assert any(t["id"] == created["id"] for t in yaml.safe_load(r.text))
    # exact numbers travel unchanged from the body to the stored input
    r = api.post("/task", user=REGULAR, content=b'{"template_name": "dummy-template", "input": {"id": 1.50}}')
    assert r.status_code == 400  # `id` is a free-text input: a number is refused by the input checks
    r = api.put(f"/task/{created['id']}", user=REGULAR, json={"input": {"id": "x"}, "watcher_usernames": "notalist"})
    assert r.status_code == 400
    assert "cannot unmarshal string into Go struct field updateTaskIn.watcher_usernames" in r.json()["error"]


def test_every_write_route_is_guarded_in_maintenance(api_db):
    server, stop = start_api(api_db, maintenance=True)
    zero = "00000000-0000-0000-0000-000000000000"
    try:
        for method, path in [("POST", "/task"), ("PUT", f"/task/{zero}"), ("DELETE", f"/task/{zero}"),
                             ("POST", f"/task/{zero}/wontfix"), ("POST", f"/task/{zero}/comment"),
                             ("PUT", f"/task/{zero}/comment/{zero}"), ("DELETE", f"/task/{zero}/comment/{zero}"),
                             ("POST", "/batch"), ("POST", "/resolution"), ("PUT", f"/resolution/{zero}"),
                             ("POST", f"/resolution/{zero}/run"), ("POST", f"/resolution/{zero}/pause"),
                             ("POST", f"/resolution/{zero}/extend"), ("POST", f"/resolution/{zero}/cancel"),
                             ("PUT", f"/resolution/{zero}/step/s"), ("PUT", f"/resolution/{zero}/step/s/state"),
                             ("POST", f"/unsecured/callback/{zero}?t=x")]:
            r = server.client.request(method, path, headers=ADMIN, json={})
            assert r.status_code == 405 and r.json() == {"error": "Maintenance mode activated"}, (method, path)
    finally:
        stop()


def test_functions_from_the_engine_registry(api):
    from utask.core.engine import FunctionRegistry

    api.services.functions = FunctionRegistry({"x::y": {"name": "x::y", "action": {"type": "echo", "configuration": {}}}})
    try:
        assert [f["name"] for f in api.get("/function").json()] == ["x::y"]
        assert api.get("/function/x::y").json()["action"]["type"] == "echo"
    finally:
        api.services.functions = None


def test_one_error_mapping():
    import psycopg
    from utask.core.engine.service import ServiceError
    from utask.core.engine.store import NotFoundError
    from utask.hostapi.http import errors as e

    assert [e.error_status(x) for x in (e.BadRequest("a"), e.NotValid("a"), e.Unauthorized("a"), e.Forbidden("a"),
                                        e.NotFound("a"), e.MethodNotAllowed("a"), e.Conflict("a"),
                                        e.NotImplementedFeature("a"))] == [400, 400, 401, 403, 404, 405, 409, 501]
    assert [e.error_status(ServiceError(k, "m")) for k in ("bad_request", "not_valid", "forbidden", "not_found",
                                                           "conflict", "internal")] == [400, 400, 403, 404, 409, 500]
    assert e.error_status(NotFoundError("x")) == 404
    assert e.error_status(psycopg.errors.UniqueViolation("dup")) == 409
    assert e.error_status(psycopg.errors.ForeignKeyViolation("fk")) == 400
    assert e.error_status(psycopg.errors.InvalidTextRepresentation("uuid")) == 400
    assert e.error_status(psycopg.errors.LockNotAvailable("nowait")) == 500
    assert e.error_status(RuntimeError("boom")) == 500


def test_init_plugin_adds_middlewares_and_routes(api_db):
    """An init plugin (trusted, in-process) wraps the API with its middlewares and mounts its own routes."""
    from fastapi import APIRouter
    from utask.core.plugins.manager import build_manager
    from utask_sdk import hookimpl

    class Stamp:
        def __init__(self, app, name: str) -> None:
            self.app, self.name = app, name

        async def __call__(self, scope, receive, send):
            async def stamped(message):
                if message["type"] == "http.response.start":
                    message.setdefault("headers", []).append((b"x-stamped-by", self.name.encode()))
                await send(message)
            await self.app(scope, receive, send if scope["type"] != "http" else stamped)

    class InitPlugin:
        @hookimpl
        def utask_http_middlewares(self):
            return [(Stamp, {"name": "company-sso"})]

        @hookimpl
        def utask_extra_routes(self, app):
            router = APIRouter()

            @router.get("/company/hello")
            async def hello():
                return {"hello": "from an init plugin"}

            app.include_router(router)

    pm = build_manager(entry_points=False)
    pm.register(InitPlugin(), name="company-init")
    server, stop = start_api(api_db, plugin_manager=pm)
    try:
        r = server.get("/company/hello")
        assert r.json() == {"hello": "from an init plugin"} and r.headers["x-stamped-by"] == "company-sso"
        # It runs before µTask's own middlewares: even a refused (anonymous) call goes through it.
        refused = server.get("/task", user=None)
        assert refused.status_code == 401 and refused.headers["x-stamped-by"] == "company-sso"
    finally:
        stop()
