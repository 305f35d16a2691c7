"""Server-sent events (text/event-stream) responses.

`EventStream(events)` sends what the async iterator `events` yields (bytes built with `event()`,
`comment()`, `retry()`) and stops it as soon as the client goes away: the iterator is cancelled at its
current `await` (so its `finally`/`async with` clean-up runs) instead of waiting for its next write to
fail, whatever ASGI spec version the server speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from utask.core import gojson

log = logging.getLogger("utask.api")

MEDIA_TYPE = "text/event-stream"


def event(name: str, data: Any) -> bytes:
    """One event; `data` as compact JSON (µTask's encoding) on one line."""
    return f"event: {name}\ndata: {gojson.dumps(data)}\n\n".encode()


def event_raw(name: str, json_text: bytes) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + json_text + b"\n\n"


def comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    """The reconnection delay an EventSource should use."""
    return f"retry: {milliseconds}\n\n".encode()


class EventStream(Response):
    media_type = MEDIA_TYPE

    def __init__(self, events: AsyncIterator[bytes], headers: dict[str, str] | None = None) -> None:
        self.events = events
        self.status_code = 200
        self.background = None
        self.init_headers({
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",  # nginx and friends: do not buffer the stream
            **(headers or {}),
        })

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})

        async def pump() -> None:
            async for chunk in self.events:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        pumping = asyncio.ensure_future(pump())
        watching = asyncio.ensure_future(watch())
        disconnected = False
        try:
            await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
            disconnected = watching.done()
        finally:
            for t in (pumping, watching):
                t.cancel()
            for t in (pumping, watching):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        if pumping.done() and not pumping.cancelled() and pumping.exception() is not None:
            log.error("event stream %s failed", scope.get("path"), exc_info=pumping.exception())
        if not disconnected:
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
