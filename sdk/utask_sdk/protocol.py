"""The wire protocol between the server and its plugin workers.

Frames are a 4-byte big-endian length followed by that many bytes of UTF-8 JSON, over pipes. The first
frame a worker writes is its handshake (`{"t": "hello", "protocol": ...}`). PROTOCOL_VERSION is semver:
a different major version is incompatible (the server refuses the plugin at start-up), a newer minor only
adds optional fields.

Numbers travel exactly: the worker decodes non-integers as `ExactFloat` (a float remembering its text),
and every encoder here writes such numbers back as their original text, like Go's `json.Number`.
"""

from __future__ import annotations

import json
import struct
from typing import Any

PROTOCOL_VERSION = "1.0.0"
MAX_FRAME = 64 * 1024 * 1024  # a frame larger than this is a protocol violation, not data
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """A malformed or oversized frame."""


class FrameTooLarge(ProtocolError):
    """A frame over a FrameBuffer's own limit (an execution's output limit), announced by its header."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes exceeds the {limit} bytes limit")
        self.size, self.limit = size, limit


def parse_version(version: str) -> tuple[int, int, int]:
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ProtocolError(f"invalid protocol version {version!r} (want MAJOR.MINOR.PATCH)")
    return int(parts[0]), int(parts[1]), int(parts[2])


def compatible(a: str, b: str) -> bool:
    """Same major version: the only compatibility boundary."""
    return parse_version(a)[0] == parse_version(b)[0]


class ExactFloat(float):
    """A JSON number with a fraction or exponent, keeping the exact text it was written with."""

    __slots__ = ("text",)

    def __new__(cls, text: str) -> ExactFloat:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj

    def __str__(self) -> str:
        return self.text

    __repr__ = float.__repr__


class JSONNumber(str):
    """A JSON number kept as the exact text it was written with (Go's `json.Number`): how the server
    decodes API inputs, so that `1.50` stays `1.50`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JSONNumber({str.__repr__(self)})"


_DECODER = json.JSONDecoder(parse_float=ExactFloat)  # one decoder: `json.loads(parse_float=...)` builds one a call


def loads(data: bytes | str) -> Any:
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8", "surrogatepass")  # frames are UTF-8 (what json.loads detects on bytes)
    return _DECODER.decode(data)


_escape = json.encoder.encode_basestring  # type: ignore[attr-defined]  # UTF-8 out, like Go


def dumps(obj: Any, raw_numbers: tuple[type, ...] = ()) -> str:
    """Encode to JSON; values of `raw_numbers` types (str subclasses holding number text) and ExactFloat
    are written as bare numbers, exactly."""
    parts: list[str] = []
    _encode(obj, parts, raw_numbers)
    return "".join(parts)


def _encode(obj: Any, out: list[str], raw: tuple[type, ...]) -> None:
    if isinstance(obj, str):
        if raw and isinstance(obj, raw):
            out.append(str.__str__(obj))
        else:
            out.append(_escape(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, ExactFloat):
        out.append(obj.text)
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise ValueError(f"json: unsupported value: {obj!r}")
        out.append(float.__repr__(obj))
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for key, value in obj.items():
            if not isinstance(key, str):
                if isinstance(key, bool | int | float) or key is None:
                    key = json.dumps(key)
                else:
                    raise TypeError(f"json: unsupported map key type {type(key).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(_escape(key))
            out.append(":")
            _encode(value, out, raw)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _encode(value, out, raw)
        out.append("]")
    else:
        raise TypeError(f"json: unsupported type: {type(obj).__name__}")


def frame(obj: Any, raw_numbers: tuple[type, ...] = ()) -> bytes:
    body = dumps(obj, raw_numbers).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds the {MAX_FRAME} bytes limit")
    return _HEADER.pack(len(body)) + body


def frame_size(header: bytes) -> int:
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_FRAME} bytes limit")
    return size


class FrameBuffer:
    """Accumulates bytes from a non-blocking pipe and yields complete frames' bodies. `limit`: the largest
    frame accepted (besides MAX_FRAME), refused from its header (FrameTooLarge), before its body is read."""

    __slots__ = ("_buf", "limit")

    def __init__(self, limit: int | None = None) -> None:
        self._buf = bytearray()
        self.limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames = []
        while len(self._buf) >= 4:
            size = frame_size(bytes(self._buf[:4]))
            if self.limit is not None and size > self.limit:
                raise FrameTooLarge(size, self.limit)
            if len(self._buf) < 4 + size:
                break
            frames.append(bytes(self._buf[4 : 4 + size]))
            del self._buf[: 4 + size]
        return frames
