"""Host side of the wire protocol: frames out (JSONNumber as exact numbers), frames in (exact numbers)."""

from __future__ import annotations

import asyncio
from typing import Any

from utask.core.gojson import JSONNumber
from utask.core.gojson import loads as exact_loads
from utask_sdk import protocol

# The protocol this server speaks. Major = compatibility boundary; the SDK's PROTOCOL_VERSION is what a
# worker (and a plugin, through its `protocol` attribute) speaks.
PROTOCOL_VERSION = "1.0.0"


def encode(obj: Any) -> bytes:
    return protocol.frame(obj, raw_numbers=(JSONNumber,))


async def read_body(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's body (undecoded), or None at end of stream."""
    try:
        header = await reader.readexactly(4)
        return await reader.readexactly(protocol.frame_size(header))
    except asyncio.IncompleteReadError:
        return None


async def read_frame(reader: asyncio.StreamReader) -> Any | None:
    """The next frame's value, or None at end of stream."""
    body = await read_body(reader)
    return None if body is None else decode(body)


def decode(body: bytes) -> Any:
    """A frame's value, numbers exact. Raises ValueError for invalid JSON (UTF-8 included), and for JSON
    nested deeper than the interpreter's recursion limit allows (the C decoder's RecursionError)."""
    try:
        return exact_loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
