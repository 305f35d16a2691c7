"""A real HTTP receiver on 127.0.0.1 (a thread): what webhooks, Slack and the Opsgenie stub are sent."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class Receiver:
    """Records every request; answers per path (`responses[path] = (status, body)`, default 200 "")."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.responses: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                with receiver._lock:
                    receiver.requests.append(Received("POST", parts.path, parse_qs(parts.query),
                                                      {k.lower(): v for k, v in self.headers.items()}, raw))
                    status, body = receiver.responses.get(parts.path, (200, b""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def at(self, path: str, task_id: str | None = None) -> list[Received]:
        with self._lock:
            found = [r for r in self.requests if r.path == path]
        if task_id is not None:
            found = [r for r in found if r.json.get("task_id") == task_id
                     or r.json.get("alias") == task_id or f"/{task_id}/" in r.path]
        return found

    def wait(self, path: str, count: int, task_id: str | None = None, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.at(path, task_id)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
