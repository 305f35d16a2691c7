"""`/ui/dashboard/*` and `/ui/swagger/*` (reference §7.2), and 401 without a browser prompt for the dashboard.

The app in process (the API tests' `start_api`) with the dashboard prefixes set; the dashboard folder is a
fixture folder of our own (the real one is written by others and changes), plus one check on the real one.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from utask.core.storage import migrate
from utask.hostapi import dashboard
from utask.hostapi.dashboard import StaticSite, api_prefix, base_href, dashboard_site

from tests.api.conftest import make_settings, start_api

PREFIXES = {"dashboard_path_prefix": "/utask", "dashboard_api_path_prefix": "/api/v1",
            "dashboard_sentry_dsn": "https://key@sentry.example.org/42"}

INDEX = """<!doctype html><html><head><base href="___UTASK_DASHBOARD_BASEHREF___">
<script>window.UTASK = {apiBase: "___UTASK_DASHBOARD_PREFIXAPIBASEURL___", dsn: "___UTASK_DASHBOARD_SENTRY_DSN___"};</script>
<script type="module" src="app.js"></script></head><body>index page</body></html>
"""
APP_JS = "export const api = '___UTASK_DASHBOARD_PREFIXAPIBASEURL___';\n" + "// padding\n" * 200
STYLE = "body { background: url(___UTASK_DASHBOARD_BASEHREF___img.png); }\n"


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    (root / "index.html").write_text(INDEX)
    (root / "app.js").write_text(APP_JS)
    (root / "style.css").write_text(STYLE)
    (root / "pages").mkdir()
    (root / "pages" / "tasks.js").write_text("export default 1;\n")
    (root / ".env").write_text("SECRET=1\n")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("TOP SECRET\n")
    (outside / "secret.js").write_text("TOP SECRET\n")
    os.symlink(outside / "secret.txt", root / "link.txt")
    os.symlink(outside / "secret.txt", root / "link")
    os.symlink(outside / "secret.js", root / "link.js")
    os.symlink(outside, root / "linkdir")
    return root


@pytest.fixture(scope="module")
def ui(fresh_database, static_dir: Path) -> Iterator[Any]:
    url = fresh_database()
    migrate(url)
    settings = make_settings(url, **PREFIXES, basic_auth={"admin": "1234"})
    server, stop = start_api(url, settings=settings, engine=False)
    server.client.app.state.ui_sites["dashboard"] = dashboard_site(settings.utask, root=static_dir)
    try:
        yield server.client
    finally:
        stop()


def test_go_path_rules_of_the_prefixes() -> None:
    # µTask's generateBaseHref / generatePathPrefixAPI (Go path.Join semantics).
    assert base_href("", "/ui/dashboard") == "/ui/dashboard/"
    assert base_href("/utask", "/ui/dashboard") == "/utask/ui/dashboard/"
    assert base_href("/utask/", "/ui/dashboard") == "/utask/ui/dashboard/"
    assert base_href("//a//b/", "/ui/dashboard") == "/a/b/ui/dashboard/"
    assert [api_prefix(p) for p in ("", "/", ".", "/api", "/api/", "api", "//api//v1/")] == [
        "/", "/", "/", "/api/", "/api/", "api/", "/api/v1/"]


def test_placeholders_are_replaced_with_the_prefixes(ui) -> None:
    r = ui.get("/ui/dashboard/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<base href="/utask/ui/dashboard/">' in r.text
    assert 'apiBase: "/api/v1/"' in r.text
    assert 'dsn: "https://key@sentry.example.org/42"' in r.text
    assert "___UTASK" not in r.text
    js = ui.get("/ui/dashboard/app.js")
    assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert js.text.startswith("export const api = '/api/v1/';")
    css = ui.get("/ui/dashboard/style.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert "url(/utask/ui/dashboard/img.png)" in css.text
    assert ui.get("/ui/dashboard/pages/tasks.js").text == "export default 1;\n"


def test_dashboard_without_slash_and_without_authentication_or_cors(ui) -> None:
    for path in ("/ui/dashboard", "/ui/dashboard/", "/ui/dashboard/index.html"):
        r = ui.get(path)  # no credentials at all, although basic auth is configured
        assert r.status_code == 200, path
        assert "index page" in r.text
        assert "access-control-allow-origin" not in r.headers
    assert ui.head("/ui/dashboard/app.js").status_code == 200


def test_single_page_fallback_but_missing_assets_are_404(ui) -> None:
    for path in ("/ui/dashboard/tasks", "/ui/dashboard/task/3f1c/steps", "/ui/dashboard/new.html"):
        r = ui.get(path)
        assert r.status_code == 200 and "index page" in r.text, path
        assert r.headers["cache-control"] == "no-cache"
    for path in ("/ui/dashboard/missing.js", "/ui/dashboard/pages/missing.js", "/ui/dashboard/x.css",
                 "/ui/dashboard/img/logo.png", "/ui/dashboard/app.js.map", "/ui/dashboard/font.woff2"):
        r = ui.get(path)
        assert r.status_code == 404, path
        assert "index page" not in r.text


def test_path_traversal_is_impossible(ui, static_dir: Path) -> None:
    site = StaticSite(static_dir)
    for path in ("../outside/secret.txt", "pages/../../x", "..", "a/../../b", ".env", "pages/.hidden",
                 "..\\..\\etc\\passwd", "app.js\x00.png"):
        asset = site.lookup(path)
        assert asset is None or b"index page" in asset.body, path
    # Symbolic links that leave the folder: refused (the page, or a 404 for an asset name).
    assert b"index page" in site.lookup("link").body
    assert site.lookup("link.txt") is None
    assert site.lookup("link.js") is None
    assert site.lookup("linkdir/secret.txt") is None
    assert b"index page" in site.lookup("linkdir/secret").body

    raw = ["/ui/dashboard/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/ui/dashboard/..%2f..%2f..%2fetc%2fpasswd",
           "/ui/dashboard/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/ui/dashboard/.env", "/ui/dashboard/link.txt", "/ui/dashboard/link",
           "/ui/dashboard/linkdir/secret.js", "/ui/swagger/%2e%2e/%2e%2e/swagger_ui_bundle/__init__.py",
           "/ui/dashboard//etc/passwd", "/ui/dashboard/%00"]
    for path in raw:
        r = ui.get(path)
        assert "root:" not in r.text and "TOP SECRET" not in r.text and "SECRET=1" not in r.text, path
        assert r.status_code in (200, 404), path
        if r.status_code == 200:
            assert "index page" in r.text, path


def test_etag_cache_control_and_gzip(ui) -> None:
    page = ui.get("/ui/dashboard/")
    assert page.headers["cache-control"] == "no-cache"
    assert ui.get("/ui/dashboard/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    js = ui.get("/ui/dashboard/app.js", headers={"Accept-Encoding": "identity"})
    assert js.headers["cache-control"] == "public, max-age=60"
    assert "content-encoding" not in js.headers
    etag = js.headers["etag"]
    again = ui.get("/ui/dashboard/app.js", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status_code == 304 and again.content == b""
    zipped = ui.get("/ui/dashboard/app.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["etag"] != etag
    assert zipped.text == js.text  # httpx decodes
    assert int(zipped.headers["content-length"]) < len(js.content)
    assert gzip.decompress(gzip.compress(js.content)) == js.content


def test_edited_files_are_served_without_restart(ui, static_dir: Path) -> None:
    target = static_dir / "pages" / "edit.js"
    target.write_text("export const v = 1;\n")
    assert ui.get("/ui/dashboard/pages/edit.js").text == "export const v = 1;\n"
    target.write_text("export const v = 22;\n")
    os.utime(target, ns=(1, 10**18))
    assert ui.get("/ui/dashboard/pages/edit.js").text == "export const v = 22;\n"


def test_the_real_dashboard_has_no_placeholder_left(ui) -> None:
    site = dashboard_site(make_settings("postgres://unused").utask)
    index = site.lookup("")
    if not (dashboard.STATIC_DIR / "index.html").exists():
        pytest.skip("the dashboard's index.html is not written yet")
    assert index is not None and b"___UTASK_DASHBOARD" not in index.body
    assert b'<base href="/ui/dashboard/">' in index.body


def test_swagger_ui_page_and_its_assets(ui) -> None:
    for path in ("/ui/swagger", "/ui/swagger/", "/ui/swagger/index.html"):
        r = ui.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert '<base href="/utask/ui/swagger/">' in r.text
        assert '<script src="swagger-ui-bundle.js"></script>' in r.text
    init = ui.get("/ui/swagger/swagger-initializer.js")
    assert init.headers["content-type"] == "text/javascript; charset=utf-8"
    assert '"/api/v1/unsecured/spec.json"' in init.text
    bundle = ui.get("/ui/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert bundle.headers["content-type"] == "text/javascript; charset=utf-8"
    assert ui.get("/ui/swagger/swagger-ui.css").headers["content-type"] == "text/css; charset=utf-8"
    assert ui.get("/ui/swagger/swagger-ui-standalone-preset.js").status_code == 200
    assert ui.get("/ui/swagger/index.j2").status_code == 404  # only what the page uses
    assert ui.get("/ui/swagger/missing.js").status_code == 404
    assert ui.get("/ui/swagger/anything").status_code == 404  # no fallback there


def test_spec_server_url_is_the_api_prefix(ui) -> None:
    spec = ui.get("/unsecured/spec.json").json()
    assert spec["servers"] == [{"url": "/api/v1", "description": "µTask API tests"}]
    paths = spec["paths"]
    assert paths["/task/events"]["get"]["summary"].startswith("Live task list")
    assert paths["/task/{id}/events"]["get"]["summary"].startswith("Live task")
    assert "text/event-stream" in paths["/task/{id}/events"]["get"]["responses"]["200"]["content"]
    assert not any(p.startswith("/ui") for p in paths)


def test_401_challenges_browsers_but_not_the_dashboard(ui) -> None:
    r = ui.get("/task")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Authorization Required"'
    wrong = ui.get("/meta", auth=("admin", "wrong"))
    assert wrong.status_code == 401 and "www-authenticate" in wrong.headers
    for headers in ({"X-Requested-With": "XMLHttpRequest"}, {"x-requested-with": "xmlhttprequest"}):
        r = ui.get("/task", headers=headers)
        assert r.status_code == 401 and r.content == b""
        assert "www-authenticate" not in r.headers
        r = ui.get("/task/events", headers=headers, auth=("admin", "wrong"))
        assert r.status_code == 401 and "www-authenticate" not in r.headers
    assert ui.get("/meta", auth=("admin", "1234"), headers={"X-Requested-With": "XMLHttpRequest"}).status_code == 200
