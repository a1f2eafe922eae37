"""Signed order deliveries as Shopify and WooCommerce send them, and a sender that resends
a failed delivery as the platform would.

Shopify: one X-Shopify-Webhook-Id per delivery; a retry repeats it with the same body.
WooCommerce: X-WC-Webhook-Delivery-ID is `wp_hash(webhook_id . strtotime('now'))`, whole
seconds, so every delivery of one webhook within one second carries the same id whatever
its body (../shared/PLATFORMS.md 2.5b); the sender groups its orders accordingly.
Bodies are built from the recorded payloads in tests/fixtures.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.chaos.processes import ABORTED

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHOPIFY_SECRET = "chaos-shopify-app-secret"
WOO_SECRET = "chaos-woo-webhook-secret"
WOO_WEBHOOK_ID = "41"
SEND_TIMEOUT_S = 5.0  # a platform's own timeout is longer; short keeps the run bounded
MAX_TRIES_PER_DELIVERY = 40


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: what was sent, and the order lines it carries (to check the store)."""

    platform: str
    order_id: str
    path: str
    headers: dict[str, str]
    body: bytes
    lines: tuple[tuple[str, int], ...]  # (product_id, quantity), in order


def _fixture(*parts: str) -> dict[str, Any]:
    return json.loads(FIXTURES.joinpath(*parts).read_text())


def _lines(n: int, products: list[str]) -> list[tuple[str, int]]:
    """One to three distinct products with quantities, varied by n (deterministic)."""
    count = 1 + n % 3
    return [(products[(n * 7 + i * 3) % len(products)], 1 + (n + i) % 4) for i in range(count)]


def shopify_order(n: int, shop_domain: str, products: list[str]) -> Delivery:
    """orders/create for order 7000000+n, signed with the app secret."""
    payload = copy.deepcopy(_fixture("shopify", "orders_create.json"))
    order_id = 7_000_000 + n
    lines = _lines(n, products)
    template = payload["line_items"][0]
    payload.update(
        id=order_id, name=f"#C{n}", admin_graphql_api_id=f"gid://shopify/Order/{order_id}"
    )
    payload.pop("customer", None)  # a guest order: no campaign timers, no customer rows
    payload["line_items"] = [
        {**template, "id": order_id * 10 + i, "product_id": int(p), "quantity": q, "price": "10.00"}
        for i, (p, q) in enumerate(lines)
    ]
    body = json.dumps(payload, separators=(",", ":")).encode()
    digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Webhook-Id": f"chaos-webhook-{order_id}",
        "X-Shopify-Event-Id": f"chaos-event-{order_id}",
        "X-Shopify-API-Version": "2025-10",
    }
    return Delivery("shopify", str(order_id), "/webhooks/shopify", headers, body, tuple(lines))


def woo_delivery_id(second: int) -> str:
    """What WooCommerce puts in X-WC-Webhook-Delivery-ID for one webhook in one second."""
    return hashlib.md5(f"{WOO_WEBHOOK_ID}{second}".encode()).hexdigest()  # noqa: S324


def woocommerce_order(n: int, shop: str, products: list[str], second: int) -> Delivery:
    """order.created for order 80000+n, signed with the shop's webhook secret; deliveries of
    the same `second` share one delivery id, as on a real store."""
    payload = copy.deepcopy(_fixture("woocommerce", "order.json"))
    order_id = 80_000 + n
    lines = _lines(n + 1, products)
    template = payload["line_items"][0]
    stamp = f"2026-11-22T20:{n // 60 % 60:02d}:{n % 60:02d}"
    payload.update(
        id=order_id,
        number=str(order_id),
        customer_id=0,  # a guest order
        status="processing",
        date_created=stamp,
        date_created_gmt=stamp,
        date_modified=stamp,
        date_modified_gmt=stamp,
    )
    payload["line_items"] = [
        {
            **template,
            "id": order_id * 10 + i,
            "product_id": int(p),
            "variation_id": 0,
            "quantity": q,
            "price": 12.5,
            "subtotal": f"{12.5 * q:.2f}",
            "total": f"{12.5 * q:.2f}",
        }
        for i, (p, q) in enumerate(lines)
    ]
    body = json.dumps(payload, separators=(",", ":")).encode()
    digest = hmac.new(WOO_SECRET.encode(), body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/7.8.2 Hookshot (WordPress/6.2.2)",
        "X-WC-Webhook-Source": "https://coffee.example.test/",
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "created",
        "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-WC-Webhook-ID": WOO_WEBHOOK_ID,
        "X-WC-Webhook-Delivery-ID": woo_delivery_id(second),
    }
    path = f"/webhooks/woocommerce/{shop}"
    return Delivery("woocommerce", str(order_id), path, headers, body, tuple(lines))


@dataclass
class SendLog:
    """What the platforms saw: tries, failures (refused, timeouts, 5xx) and acknowledgements."""

    tries: int = 0
    failures: int = 0
    acknowledged: set[int] = field(default_factory=set)  # indexes into the delivery list
    last_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class PlatformSender:
    """Posts deliveries; one that fails is resent later with the same id and body."""

    def __init__(self, base_url: str, deliveries: list[Delivery], threads: int = 4) -> None:
        self.base_url = base_url
        self.deliveries = deliveries
        self.log = SendLog()
        self._tries = [0] * len(deliveries)
        self._pool = ThreadPoolExecutor(max_workers=threads)
        self._session = threading.local()
        self._sessions: list[requests.Session] = []

    def close(self) -> None:
        """Stop the sending threads and close their connections."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for session in self._sessions:
            session.close()

    def _post(self, index: int) -> bool:
        delivery = self.deliveries[index]
        session = getattr(self._session, "s", None)
        if session is None:
            session = self._session.s = requests.Session()
            with self.log.lock:
                self._sessions.append(session)
        try:
            response = session.post(
                self.base_url + delivery.path,
                data=delivery.body,
                headers=delivery.headers,
                timeout=SEND_TIMEOUT_S,
            )
            ok = 200 <= response.status_code < 300
            error = "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as exc:
            ok, error = False, type(exc).__name__
            session.close()
            self._session.s = None
        with self.log.lock:
            self.log.tries += 1
            self._tries[index] += 1
            if ok:
                self.log.acknowledged.add(index)
            else:
                self.log.failures += 1
                self.log.last_errors = [*self.log.last_errors[-9:], f"{delivery.order_id}: {error}"]
        return ok

    def send(self, indexes: list[int]) -> list[int]:
        """Send these deliveries concurrently, once each; return those that failed."""
        results = list(self._pool.map(self._post, indexes))
        return [i for i, ok in zip(indexes, results, strict=True) if not ok]

    def resend_until_acknowledged(self, indexes: list[int], deadline: float) -> list[int]:
        """Resend failed deliveries (as the platform retries) until acknowledged, each at most
        MAX_TRIES_PER_DELIVERY times and not past `deadline`; return those never acknowledged."""
        waiting = list(indexes)
        while waiting and time.monotonic() < deadline and not ABORTED.is_set():
            waiting = [i for i in waiting if self._tries[i] < MAX_TRIES_PER_DELIVERY]
            waiting = self.send(waiting)
            if waiting:
                time.sleep(0.5)
        return waiting
