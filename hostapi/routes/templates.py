"""`/template`, `/template/:name`, `/function`, `/function/:name` (reference §7.4)."""

from __future__ import annotations

from fastapi import Query, Request
from starlette.responses import Response

from ..http.errors import BadRequest
from ..http.paging import named_next_link, normalize_page_size, paging_headers
from ..ops import templates as ops
from .common import SECURED, metadata, respond, router, services

api = router()


def page_size_of(value: int | None, struct: str) -> int:
    if value is not None and value < 0:
        raise BadRequest(f"binding error on field 'PageSize' of type '{struct}': strconv.ParseUint: "
                         f"parsing \"{value}\": invalid syntax")
    return normalize_page_size(value)


@api.get("/template", dependencies=SECURED, name="listTemplates", summary="List task templates")
async def list_templates(request: Request, page_size: int | None = Query(default=None),
                         last: str | None = Query(default=None)) -> Response:
    size = page_size_of(page_size, "listTemplatesIn")
    caller = request.state.caller
    items = await ops.list_templates(services(request).store, with_hidden=caller.is_admin, page_size=size, last=last)
    link = named_next_link("template", size, items[-1]["name"]) if items else None
    return respond(request, 200, items, paging_headers(size, len(items), link))


@api.get("/template/{name}", dependencies=SECURED, name="getTemplate", summary="One task template, full")
async def get_template(request: Request, name: str) -> Response:
    metadata(request, template_name=name)
    return respond(request, 200, await ops.get_template(services(request).store, name))


@api.get("/function", dependencies=SECURED, name="listFunctions", summary="List functions")
async def list_functions(request: Request, page_size: int | None = Query(default=None),
                         last: str | None = Query(default=None)) -> Response:
    size = page_size_of(page_size, "listFunctionsIn")
    items = ops.list_functions(services(request).functions, page_size=size, last=last)
    link = named_next_link("function", size, items[-1]["name"]) if items else None
    return respond(request, 200, items, paging_headers(size, len(items), link))


@api.get("/function/{name}", dependencies=SECURED, name="getFunction", summary="One function")
async def get_function(request: Request, name: str) -> Response:
    metadata(request, function_name=name)
    return respond(request, 200, ops.get_function(services(request).functions, name))
