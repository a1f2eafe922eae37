"""A fake email platform on a loopback port, for the delivery re-drive tests.

It answers like Klaviyo's Create Event (202, deduplicated by `unique_id` as Klaviyo does) and
Mandrill's send-template (200 with one status per recipient, the message's metadata kept)
and messages/search (`u_<field>:<value>` over that metadata). Answers can be scripted
(429, then 500, then the real answer); every request is recorded, and `mails` counts what a
shopper would receive: one per accepted unique_id or Mandrill message.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakePlatform:
    def __init__(self) -> None:
        self.script: list[int] = []  # statuses to answer first, one per request
        self.requests: list[tuple[str, int]] = []  # (path, status answered)
        self.mails: Counter[str] = Counter()  # idempotency/delivery key -> mails a shopper got
        self.messages: list[dict[str, Any]] = []  # Mandrill messages kept for search
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            if self.script:
                status = self.script.pop(0)
                self.requests.append((path, status))
                return status, {"errors": [{"status": status, "title": "scripted"}]}
            status, payload = self._real_answer(path, body)
            self.requests.append((path, status))
            return status, payload

    def _real_answer(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path == "/api/events":
            key = body["data"]["attributes"]["unique_id"]
            if key not in self.mails:  # Klaviyo records the first event per unique_id
                self.mails[key] += 1
            return 202, None
        if path == "/messages/send-template.json":
            message = body["message"]
            metadata = message.get("metadata") or {}
            self.messages.append({"metadata": metadata, "email": message["to"][0]["email"]})
            self.mails[metadata.get("shoprec_delivery", "?")] += 1  # Mandrill never dedupes
            return 200, [{"email": message["to"][0]["email"], "status": "sent", "_id": "m1"}]
        if path == "/messages/search.json":
            field, _, value = body["query"].partition(":")
            name = field.removeprefix("u_")
            found = [m for m in self.messages if m["metadata"].get(name) == value]
            return 200, [{"_id": "m1", "metadata": m["metadata"]} for m in found]
        return 404, {"errors": [{"title": "no such path"}]}

    def sent_to(self, path: str) -> list[int]:
        return [status for p, status in self.requests if p == path]


@contextmanager
def fake_platform() -> Iterator[FakePlatform]:
    platform = FakePlatform()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, payload = platform.answer(self.path, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    platform.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
