"""A webhook receiver on loopback: what apprise's json:// and form:// services would post."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Received:
    path: str
    content_type: str
    raw: str

    @property
    def fields(self) -> dict[str, Any]:
        """The posted fields, from JSON or a form."""
        if self.content_type.startswith("application/json"):
            return dict(json.loads(self.raw))
        return {k: v[0] for k, v in parse_qs(self.raw).items()}


class Receiver:
    """Collect every POST; `wait_for` polls with a deadline instead of sleeping blindly."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, self.headers.get("Content-Type", ""), body)
                    )
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, scheme: str = "json", path: str = "hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path}"

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.fields for r in self.received]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {self.messages()}")


@contextmanager
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server._thread.start()
    try:
        yield server
    finally:
        server._server.shutdown()
        server._server.server_close()
