"""A stand-in for Klaviyo's Create Event API on loopback, counting what it accepts.

Shaped like the real one (../shared/PLATFORMS.md 3.3, connectors/email/klaviyo.py):
`POST /api/events` with `Authorization: Klaviyo-API-Key ...` and the `revision` header,
202 with an empty body on success, 429 with Retry-After and the JSON:API error body when
throttled. Each event's `unique_id` is the idempotency key: like Klaviyo, an event repeating
an accepted key for the same profile and metric is answered 202 and not recorded again
(counted as a repeat here).

Every new key is answered 429 (Retry-After: 1), then 500, then 202, so each push goes
through the retry path. Two hooks let a run kill the worker at a chosen moment:
`on_first_try` fires with the key's number when a new key is first seen, and
`hold_acceptance_of` keeps the 202 of that key number unanswered (after counting it as
accepted) until `release()`, so the sender can die between acceptance and hearing of it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

THROTTLED = {
    "errors": [
        {
            "id": "chaos-429",
            "status": 429,
            "code": "throttled",
            "title": "Request was throttled.",
            "detail": "Request was throttled. Expected available in 1 second.",
        }
    ]
}
SERVER_ERROR = {"errors": [{"status": 500, "code": "error", "title": "A server error occurred."}]}
HOLD_LIMIT_S = 15.0


@dataclass
class Ledger:
    """What the provider saw, per idempotency key and per profile + campaign."""

    tries: Counter[str] = field(default_factory=Counter)  # requests per key
    accepted: Counter[str] = field(default_factory=Counter)  # recorded events per key (0/1)
    repeats: Counter[str] = field(default_factory=Counter)  # 202s for an already-recorded key
    by_profile: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # keys recorded
    order: list[str] = field(default_factory=list)  # keys in the order first seen
    refused: int = 0  # requests without the key, auth or revision


class FakeKlaviyo:
    """The HTTP server (a thread) and its ledger."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.ledger = Ledger()
        self.lock = threading.Lock()
        self.on_first_try: Callable[[int], None] | None = None
        self.hold_acceptance_of: int | None = None
        self.held = threading.Event()
        self._release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def release(self) -> None:
        """Let a held acceptance answer (its sender is usually dead by then)."""
        self._release.set()

    def answer(self, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request (and the ledger updated)."""
        try:
            event = json.loads(body)["data"]["attributes"]
            key = str(event["unique_id"])
            email = str(event["profile"]["data"]["attributes"]["email"])
            campaign = str(event["properties"]["Campaign"])
        except (ValueError, KeyError, TypeError):
            key = ""
        auth_ok = headers.get("Authorization") == f"Klaviyo-API-Key {self.api_key}"
        if not key or not auth_ok or not headers.get("revision"):
            with self.lock:
                self.ledger.refused += 1
            return 400, {"Content-Type": "application/vnd.api+json"}, b'{"errors":[]}'
        first = False
        with self.lock:
            ledger = self.ledger
            ledger.tries[key] += 1
            tries = ledger.tries[key]
            if tries == 1:
                ledger.order.append(key)
                first = True
            number = ledger.order.index(key) + 1
            accept = tries >= 3
            if accept and ledger.accepted[key]:
                ledger.repeats[key] += 1
            elif accept:
                ledger.accepted[key] += 1
                ledger.by_profile.setdefault((email, campaign), set()).add(key)
        if first and self.on_first_try is not None:
            self.on_first_try(number)
        if tries == 1:
            headers_out = {"Content-Type": "application/vnd.api+json", "Retry-After": "1"}
            return 429, headers_out, json.dumps(THROTTLED).encode()
        if tries == 2:
            return (
                500,
                {"Content-Type": "application/vnd.api+json"},
                json.dumps(SERVER_ERROR).encode(),
            )
        if number == self.hold_acceptance_of and self.ledger.repeats[key] == 0:
            self.held.set()
            self._release.wait(HOLD_LIMIT_S)
        return 202, {}, b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path != "/api/events":
                    status, headers, payload = 404, {}, b""
                else:
                    status, headers, payload = fake.answer(self.headers, body)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender was killed while we held its answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler
