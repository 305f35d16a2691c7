"""Pagination rules of the listings (reference §7.1): `page_size` normalisation and the paging headers."""

from __future__ import annotations

from urllib.parse import urlencode

PAGE_SIZE_HEADER = "X-Paging-PageSize"
LINK_HEADER = "link"

DEFAULT_PAGE_SIZE = 1000
MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 10000


def normalize_page_size(n: int | None) -> int:
    """0 (or absent) → 1000, below 10 → 10, above 10000 → 10000."""
    if not n:
        return DEFAULT_PAGE_SIZE
    if n < MIN_PAGE_SIZE:
        return MIN_PAGE_SIZE
    if n > MAX_PAGE_SIZE:
        return MAX_PAGE_SIZE
    return n


def _encode(values: dict[str, str]) -> str:
    # Go's url.Values.Encode: keys sorted, QueryEscape'd values (space → "+").
    return urlencode(sorted(values.items()))


def task_next_link(type_: str, state: str | None, batch: str | None, page_size: int, last: str) -> str:
    """µTask's buildTaskNextLink: `</task?batch=B&last=ID&page_size=N&state=S&type=own>; rel=next`."""
    values = {"type": type_, "page_size": str(page_size), "last": last}
    if state is not None:
        values["state"] = state
    if batch is not None:
        values["batch"] = batch
    return f"</task?{_encode(values)}>; rel=next"


def named_next_link(route: str, page_size: int, last: str) -> str:
    """`</template?last=NAME&page_size=N>; rel=next`, and the same for `/function`."""
    return f"</{route}?{_encode({'page_size': str(page_size), 'last': last})}>; rel=next"


def paging_headers(page_size: int, count: int, link: str | None) -> dict[str, str]:
    headers = {PAGE_SIZE_HEADER: str(page_size)}
    if count == page_size and link is not None:
        headers[LINK_HEADER] = link
    return headers
