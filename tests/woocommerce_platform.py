"""A fake WooCommerce store for `responses`: REST v3 lists with X-WP-* headers, webhooks.

Records are built from the recorded shapes in tests/fixtures/woocommerce/ (copied from a
real WooCommerce 7.8.2 store, ../shared/platform_samples/woocommerce), with ids and dates
changed. Lists honour page/per_page/modified_after and answer X-WP-Total, X-WP-TotalPages
and a Link header; faults can be queued per list call ('429', '502', '401').
"""

from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "woocommerce"
STORE = "https://coffee.example.test"
API = f"{STORE}/wp-json/wc/v3"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def serve_healthz(rsps: responses.RequestsMock, public_url: str, status: int = 200) -> None:
    """shoprec's own /healthz at its public URL, as the connect's reachability check sees it."""
    rsps.add(
        responses.GET,
        f"{public_url.rstrip('/')}/healthz",
        json={"status": "ok"} if status == 200 else {"status": "down"},
        status=status,
    )


def product(
    n: int, *, modified: str = "2026-05-01T10:00:00", price: str = "18.00"
) -> dict[str, Any]:
    item = copy.deepcopy(_fixture("product.json"))
    item.update(
        id=100 + n,
        name=f"Coffee {n}",
        slug=f"coffee-{n}",
        permalink=f"{STORE}/product/coffee-{n}/",
        price=price,
        regular_price=price,
        sale_price="",
        date_modified_gmt=modified,
        date_modified=modified,
        status="publish",
        type="simple",
    )
    return item


def customer(n: int) -> dict[str, Any]:
    item = copy.deepcopy(_fixture("customer.json"))
    item.update(id=300 + n, email=f"buyer{n}@example.test", first_name=f"B{n}")
    item["billing"] = {**item.get("billing", {}), "email": f"buyer{n}@example.test"}
    return item


def order(
    n: int,
    products: list[int],
    *,
    customer_n: int | None = None,
    modified: str = "2026-05-02T10:00:00",
) -> dict[str, Any]:
    item = copy.deepcopy(_fixture("order.json"))
    template = item["line_items"][0]
    item.update(
        id=900 + n,
        number=str(900 + n),
        status="completed",
        customer_id=0 if customer_n is None else 300 + customer_n,
        date_created_gmt=f"2026-04-{1 + n % 28:02d}T09:00:00",
        date_modified_gmt=modified,
        refunds=[],
    )
    item["line_items"] = [
        {
            **copy.deepcopy(template),
            "id": 7000 + n * 10 + i,
            "product_id": 100 + p,
            "variation_id": 0,
            "quantity": 1,
            "price": 18.0,
            "total": "18.00",
            "name": f"Coffee {p}",
        }
        for i, p in enumerate(products)
    ]
    return item


@dataclass
class FakeWooCommerce:
    """Serves /products, /customers, /orders, /webhooks of one store."""

    products: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    per_page_seen: list[int] = field(default_factory=list)
    faults: deque[str] = field(default_factory=deque)
    requests: list[Any] = field(default_factory=list)
    store: str = STORE
    # What the store leaves a webhook at after creating or re-activating it: 'disabled'
    # plays a store whose ping to the delivery URL failed.
    ping_status: str = "active"

    def install(self, rsps: responses.RequestsMock) -> None:
        api = f"{self.store}/wp-json/wc/v3"
        for name in ("products", "customers", "orders"):
            rsps.add_callback(responses.GET, f"{api}/{name}", callback=self._list(name))
        rsps.add_callback(responses.GET, f"{api}/webhooks", callback=self._list_webhooks)
        rsps.add_callback(responses.POST, f"{api}/webhooks", callback=self._create_webhook)
        for hook_id in range(1, 30):
            for method in (responses.PUT, responses.DELETE):
                rsps.add_callback(
                    method, f"{api}/webhooks/{hook_id}", callback=self._update_webhook
                )

    def add_webhook(self, topic: str, delivery_url: str, status: str = "active") -> dict[str, Any]:
        """A webhook already on the store (made by an earlier connect, or by hand)."""
        hook = {
            "id": max((h["id"] for h in self.webhooks), default=0) + 1,
            "status": status,
            "topic": topic,
            "delivery_url": delivery_url,
            "name": f"shoprec {topic}",
            "secret_seen": "old-secret",
        }
        self.webhooks.append(hook)
        return hook

    def _list(self, name: str) -> Any:
        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            self.requests.append(request)
            fault = self.faults.popleft() if self.faults else "ok"
            if fault == "429":
                return (
                    429,
                    {"Retry-After": "3"},
                    json.dumps(
                        {"code": "too_many", "message": "slow down", "data": {"status": 429}}
                    ),
                )
            if fault == "502":
                return 502, {}, "<html>Bad Gateway</html>"
            if fault == "401":
                return (
                    401,
                    {},
                    json.dumps(
                        {
                            "code": "woocommerce_rest_cannot_view",
                            "message": "Sorry, you cannot list resources.",
                            "data": {"status": 401},
                        }
                    ),
                )
            query = parse_qs(urlsplit(request.url).query)
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", ["10"])[0])
            self.per_page_seen.append(per_page)
            if per_page > 100:
                return (
                    400,
                    {},
                    json.dumps(
                        {
                            "code": "rest_invalid_param",
                            "message": "per_page",
                            "data": {"status": 400},
                        }
                    ),
                )
            items = getattr(self, name)
            since = query.get("modified_after", [None])[0]
            if since:
                items = [i for i in items if i.get("date_modified_gmt", "") > since]
            total = len(items)
            pages = max(1, -(-total // per_page))
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {
                "X-WP-Total": str(total),
                "X-WP-TotalPages": str(pages),
                "Content-Type": "application/json; charset=UTF-8",
            }
            if page < pages:
                headers["Link"] = f'<{self.store}/wp-json/wc/v3/{name}?page={page + 1}>; rel="next"'
            return 200, headers, json.dumps(chunk)

        return answer

    def _list_webhooks(self, request: Any) -> tuple[int, dict[str, str], str]:
        return (
            200,
            {"X-WP-Total": str(len(self.webhooks)), "X-WP-TotalPages": "1"},
            json.dumps(self.webhooks),
        )

    def _create_webhook(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        hook = {
            "id": max((h["id"] for h in self.webhooks), default=0) + 1,
            "status": self.ping_status if body.get("status") == "active" else body["status"],
            "topic": body["topic"],
            "delivery_url": body["delivery_url"],
            "name": body["name"],
            "secret_seen": body["secret"],
        }
        self.webhooks.append(hook)
        return 201, {}, json.dumps(hook)

    def _update_webhook(self, request: Any) -> tuple[int, dict[str, str], str]:
        hook_id = int(urlsplit(request.url).path.rsplit("/", 1)[1])
        for hook in self.webhooks:
            if hook["id"] != hook_id:
                continue
            if request.method == "DELETE":
                if parse_qs(urlsplit(request.url).query).get("force") != ["true"]:
                    return 501, {}, json.dumps({"code": "woocommerce_rest_trash_not_supported"})
                self.webhooks.remove(hook)
                return 200, {}, json.dumps(hook)
            body = json.loads(request.body)
            status = body.get("status", hook["status"])
            hook.update(
                status=self.ping_status if status == "active" else status,
                delivery_url=body.get("delivery_url", hook["delivery_url"]),
                secret_seen=body.get("secret", hook["secret_seen"]),
            )
            return 200, {}, json.dumps(hook)
        return (
            404,
            {},
            json.dumps(
                {
                    "code": "woocommerce_rest_webhook_invalid_id",
                    "message": "Invalid ID.",
                    "data": {"status": 404},
                }
            ),
        )
