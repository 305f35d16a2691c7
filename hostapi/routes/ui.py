"""`/ui/dashboard/*` and `/ui/swagger/*`: the dashboard's files and the Swagger UI page (reference §7.2).

No authentication (the pages hold no data; they call the API, which authenticates), no CORS headers (the
middleware leaves `/ui` alone), not in the OpenAPI document. The files and their caching:
`utask.hostapi.dashboard`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..dashboard import Asset, StaticSite

api = APIRouter(include_in_schema=False)

NOT_FOUND = b"404 page not found"


def _site(request: Request, name: str) -> StaticSite | None:
    return (getattr(request.app.state, "ui_sites", None) or {}).get(name)


def serve(request: Request, site: StaticSite | None, path: str) -> Response:
    asset = site.lookup(path) if site is not None else None
    if asset is None:
        return Response(NOT_FOUND, status_code=404, media_type="text/plain; charset=utf-8")
    return _respond(request, asset)


def _respond(request: Request, asset: Asset) -> Response:
    gz = asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = asset.etag[:-1] + '-gz"' if gz else asset.etag
    headers = {"ETag": etag, "Cache-Control": asset.cache_control, "X-Content-Type-Options": "nosniff"}
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body = asset.gzipped if gz else asset.body
    if gz:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body or b""))
        return Response(status_code=200, headers=headers, media_type=asset.content_type)
    return Response(body, status_code=200, headers=headers, media_type=asset.content_type)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag for candidate in header.split(","))


@api.api_route("/ui/dashboard", methods=["GET", "HEAD"], name="dashboard")
@api.api_route("/ui/dashboard/", methods=["GET", "HEAD"], name="dashboardIndex")
async def dashboard_index(request: Request) -> Response:
    return serve(request, _site(request, "dashboard"), "")


@api.api_route("/ui/dashboard/{path:path}", methods=["GET", "HEAD"], name="dashboardFile")
async def dashboard_file(request: Request, path: str) -> Response:
    return serve(request, _site(request, "dashboard"), path)


@api.api_route("/ui/swagger", methods=["GET", "HEAD"], name="swagger")
@api.api_route("/ui/swagger/", methods=["GET", "HEAD"], name="swaggerIndex")
async def swagger_index(request: Request) -> Response:
    return serve(request, _site(request, "swagger"), "")


@api.api_route("/ui/swagger/{path:path}", methods=["GET", "HEAD"], name="swaggerFile")
async def swagger_file(request: Request, path: str) -> Response:
    return serve(request, _site(request, "swagger"), path)
