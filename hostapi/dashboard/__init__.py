"""The web dashboard's files and the Swagger UI page, served by the API process (reference §7.2 `/ui/*`).

The dashboard is a static single-page application in `static/` (no build step). `StaticSite` serves such a
folder the way µTask does, plus what a browser cache wants:

- µTask's placeholders replaced in served text files (html, js, css, json): `___UTASK_DASHBOARD_BASEHREF___`
  → `<dashboard_path_prefix>/ui/dashboard/`, `___UTASK_DASHBOARD_PREFIXAPIBASEURL___` →
  `<dashboard_api_path_prefix>/` (normalised like µTask's `generatePathPrefixAPI`, default `/`),
  `___UTASK_DASHBOARD_SENTRY_DSN___` → `dashboard_sentry_dsn`;
- the substituted bytes (and their gzip) are kept in memory, keyed by the file's mtime and size, so an
  edited file is picked up without a restart and an unchanged one costs one `stat`;
- strong ETag (304 on `If-None-Match`), `Cache-Control: no-cache` for the page itself (always revalidated:
  a new version shows at once), `max-age=60` for assets; gzip when the client accepts it;
- single-page-app fallback: a path that is not a file gets `index.html`, except asset-like paths (`.js`,
  `.css`, images, fonts, maps...), which get a 404 so a broken reference shows as such;
- nothing outside the folder: `..`, backslashes, NUL, hidden (dot) segments are refused before the
  filesystem is touched, and the resolved path (symlinks followed) must stay inside the folder.

`swagger_site(...)` is the same server over the `swagger-ui-bundle-v2` distribution's Swagger UI files, with
our own `index.html` and initializer (no inline script) pointing at `/unsecured/spec.json`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).parent / "static"

BASEHREF = "___UTASK_DASHBOARD_BASEHREF___"
PREFIX_API = "___UTASK_DASHBOARD_PREFIXAPIBASEURL___"
SENTRY_DSN = "___UTASK_DASHBOARD_SENTRY_DSN___"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
}
SUBSTITUTED = frozenset({".html", ".js", ".mjs", ".css", ".json"})
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt", ".webmanifest"})
# Paths with these endings are files or nothing: no fallback to the page.
ASSETS = frozenset(CONTENT_TYPES) - {".html"}

PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=60"


def go_path_join(*parts: str) -> str:
    """Go's `path.Join`: non-empty elements joined by "/", then `path.Clean` ("" → "")."""
    joined = "/".join(p for p in parts if p)
    if not joined:
        return ""
    cleaned = posixpath.normpath(joined)
    if cleaned.startswith("//"):  # POSIX keeps a leading "//"; Go's Clean does not
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def base_href(path_prefix: str, uri: str) -> str:
    """µTask's generateBaseHref: `path.Join(prefix, uri) + "/"`."""
    return go_path_join(path_prefix, uri) + "/"


def api_prefix(path_prefix: str) -> str:
    """µTask's generatePathPrefixAPI: `path.Join(prefix, "/")`, "." → "/", always a trailing "/"."""
    p = go_path_join(path_prefix, "/")
    if p in ("", "."):
        return "/"
    return p if p.endswith("/") else p + "/"


def replacements(utask_cfg: Any) -> dict[str, str]:
    return {
        BASEHREF: base_href(getattr(utask_cfg, "dashboard_path_prefix", "") or "", "/ui/dashboard"),
        PREFIX_API: api_prefix(getattr(utask_cfg, "dashboard_api_path_prefix", "") or ""),
        SENTRY_DSN: getattr(utask_cfg, "dashboard_sentry_dsn", "") or "",
    }


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str
    cache_control: str
    gzipped: bytes | None = None  # None: not worth it (small or already compressed)


def safe_relative(path: str) -> str | None:
    """`path` as a clean relative path inside a folder, or None when it could leave it or is hidden."""
    if "\\" in path or "\x00" in path:
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." or p.startswith(".") for p in parts):
        return None
    return "/".join(parts)


class StaticSite:
    """A folder of static files with substitutions, in-memory caching and a single-page fallback."""

    def __init__(self, root: Path | str, substitutions: dict[str, str] | None = None, *,
                 index: str = "index.html", spa_fallback: bool = True,
                 generated: dict[str, tuple[bytes, str]] | None = None) -> None:
        self.root = Path(root)
        self.substitutions = dict(substitutions or {})
        self.index = index
        self.spa_fallback = spa_fallback
        self.generated = {name: self._asset(name, body, content_type)
                          for name, (body, content_type) in (generated or {}).items()}
        self._cache: dict[str, tuple[tuple[int, int], Asset]] = {}

    def lookup(self, path: str) -> Asset | None:
        """The asset answering `path` (relative to the site), or None (404)."""
        rel = safe_relative(path)
        if rel is None:
            return None
        if rel == "":
            rel = self.index
        found = self._file(rel)
        if found is not None:
            return found
        ext = posixpath.splitext(rel)[1].lower()
        if self.spa_fallback and ext not in ASSETS:
            return self._file(self.index)
        return None

    def _file(self, rel: str) -> Asset | None:
        if rel in self.generated:
            return self.generated[rel]
        try:
            root = self.root.resolve()
            target = (root / rel).resolve()
        except (OSError, RuntimeError):
            return None
        if not target.is_relative_to(root) or target == root:
            return None
        try:
            st = os.stat(target)
        except OSError:
            return None
        if not target.is_file():
            return None
        key = (st.st_mtime_ns, st.st_size)
        hit = self._cache.get(rel)
        if hit is not None and hit[0] == key:
            return hit[1]
        try:
            body = target.read_bytes()
        except OSError:
            return None
        asset = self._asset(rel, body)
        self._cache[rel] = (key, asset)
        return asset

    def _asset(self, rel: str, body: bytes, content_type: str | None = None) -> Asset:
        ext = posixpath.splitext(rel)[1].lower()
        if ext in SUBSTITUTED and self.substitutions:
            for placeholder, value in self.substitutions.items():
                body = body.replace(placeholder.encode(), value.encode())
        digest = hashlib.sha256(body).hexdigest()[:32]
        zipped = None
        if ext in COMPRESSIBLE and len(body) >= 1024:
            zipped = gzip.compress(body, compresslevel=6, mtime=0)
            if len(zipped) >= len(body):
                zipped = None
        cache = PAGE_CACHE if rel == self.index or ext == ".html" else ASSET_CACHE
        return Asset(body, content_type or CONTENT_TYPES.get(ext, "application/octet-stream"),
                     f'"{digest}"', cache, zipped)


def dashboard_site(utask_cfg: Any, root: Path | str | None = None) -> StaticSite:
    return StaticSite(root or STATIC_DIR, replacements(utask_cfg))


SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "index.css",
                 "favicon-32x32.png", "favicon-16x16.png")


def swagger_site(utask_cfg: Any, title: str = "µTask") -> StaticSite | None:
    """Swagger UI for `/unsecured/spec.json` from the vendored files; None when they are not installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    prefix = api_prefix(getattr(utask_cfg, "dashboard_api_path_prefix", "") or "")
    href = base_href(getattr(utask_cfg, "dashboard_path_prefix", "") or "", "/ui/swagger")
    esc = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
    page = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title.translate(esc)} API</title>
  <base href="{href.translate(esc)}">
  <link rel="stylesheet" href="swagger-ui.css">
  <link rel="stylesheet" href="index.css">
  <link rel="icon" type="image/png" href="favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="swagger-ui-bundle.js"></script>
  <script src="swagger-ui-standalone-preset.js"></script>
  <script src="swagger-initializer.js"></script>
</body>
</html>
"""
    init = f"""window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: {json.dumps(prefix + "unsecured/spec.json")},
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  }});
}};
"""
    return SwaggerSite(Path(str(swagger_ui_path)), generated={
        "index.html": (page.encode(), CONTENT_TYPES[".html"]),
        "swagger-initializer.js": (init.encode(), CONTENT_TYPES[".js"]),
    })


class SwaggerSite(StaticSite):
    """Only the files the page uses: the vendored folder also holds source maps and an unused template."""

    def __init__(self, root: Path, *, generated: dict[str, tuple[bytes, str]]) -> None:
        super().__init__(root, None, spa_fallback=False, generated=generated)

    def _file(self, rel: str) -> Asset | None:
        if rel in self.generated or rel in SWAGGER_FILES:
            return super()._file(rel)
        return None
