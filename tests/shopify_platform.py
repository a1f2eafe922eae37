"""A fake Shopify shop for `responses`: GraphQL pages, throttle answers, token endpoint.

Answers are shaped as PLATFORMS.md 1.10 shows them: data + extensions.cost.throttleStatus,
THROTTLED errors with HTTP 200 and no data, cursor pageInfo. Faults are queued per call so a
test can say "the 3rd GraphQL call answers 502" or "is throttled".
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import responses

from config import Settings

# The one pin (config/settings.py): mocked URLs follow it when it moves.
API_VERSION = Settings().shopify_api_version
DOMAIN = "test-shop.myshopify.com"
GRAPHQL_URL = f"https://{DOMAIN}/admin/api/{API_VERSION}/graphql.json"
TOKEN_URL = f"https://{DOMAIN}/admin/oauth/access_token"
PIXEL_TOML = (
    Path(__file__).resolve().parent.parent
    / "integrations/shopify/extensions/shoprec-pixel/shopify.extension.toml"
)


def pixel_settings_problems(encoded: str) -> list[dict[str, Any]]:
    """What Shopify answers a webPixelCreate/Update whose settings do not match the extension's
    TOML: every field a string (JSON object), each one's regex and min-length validations."""
    fields = tomllib.loads(PIXEL_TOML.read_text())["settings"]["fields"]
    settings = json.loads(encoded)
    problems = []
    if not isinstance(settings, dict) or set(settings) - set(fields):
        return [{"code": "INVALID_SETTINGS", "field": ["settings"], "message": "unknown field"}]
    for name, spec in fields.items():
        value = settings.get(name)
        for rule in spec.get("validations", []):
            ok = isinstance(value, str) and (
                re.search(rule["value"], value)
                if rule["name"] == "regex"
                else len(value) >= int(rule["value"])
            )
            if not ok:
                message = f"{name} fails {rule['name']} {rule['value']}"
                problems.append(
                    {"code": "INVALID_SETTINGS", "field": ["settings"], "message": message}
                )
    return problems


def product_node(
    n: int,
    *,
    updated_at: str = "2026-05-01T12:00:00Z",
    price: str = "10.00",
    title: str | None = None,
    stock: int = 5,
) -> dict[str, Any]:
    pid = 1000 + n
    return {
        "id": f"gid://shopify/Product/{pid}",
        "legacyResourceId": str(pid),
        "title": title or f"Product {n}",
        "handle": f"product-{n}",
        "descriptionHtml": f"<p>Product {n}</p>",
        "vendor": "Acme",
        "productType": "Mugs" if n % 2 else "Plates",
        "tags": ["kitchen", f"t{n % 3}"],
        "status": "ACTIVE",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": updated_at,
        "onlineStoreUrl": None,
        "featuredMedia": {"preview": {"image": {"url": f"https://cdn.example/p{n}.jpg"}}},
        "variants": {
            "nodes": [
                {
                    "id": f"gid://shopify/ProductVariant/{pid}1",
                    "legacyResourceId": f"{pid}1",
                    "sku": f"SKU-{n}",
                    "price": price,
                    "compareAtPrice": None,
                    "inventoryQuantity": stock,
                    "inventoryItem": {
                        "id": f"gid://shopify/InventoryItem/{pid}9",
                        "legacyResourceId": f"{pid}9",
                    },
                }
            ]
        },
    }


def order_node(
    n: int,
    products: list[int],
    *,
    customer: int | None = None,
    updated_at: str = "2026-05-02T12:00:00Z",
) -> dict[str, Any]:
    oid = 5000 + n
    return {
        "id": f"gid://shopify/Order/{oid}",
        "legacyResourceId": str(oid),
        "name": f"#{oid}",
        "createdAt": f"2026-04-{1 + n % 28:02d}T10:00:00Z",
        "updatedAt": updated_at,
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "customer": None
        if customer is None
        else {
            "id": f"gid://shopify/Customer/{700 + customer}",
            "legacyResourceId": str(700 + customer),
            "email": f"c{customer}@example.test",
            "firstName": "C",
            "lastName": str(customer),
        },
        "billingAddress": {"countryCodeV2": "DE"},
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{oid}{i}",
                    "quantity": 1,
                    "sku": f"SKU-{p}",
                    "title": f"Product {p}",
                    "product": {"legacyResourceId": str(1000 + p)},
                    "variant": {"legacyResourceId": f"{1000 + p}1"},
                    "originalUnitPriceSet": {
                        "shopMoney": {"amount": "10.00", "currencyCode": "EUR"}
                    },
                }
                for i, p in enumerate(products)
            ]
        },
    }


def cost(requested: int = 50, available: float = 1900.0) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


def throttled(available: float = 70) -> dict[str, Any]:
    """A THROTTLED answer (HTTP 200, no data) for a query of requested cost 870."""
    body = json.loads(json.dumps(THROTTLED))
    body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] = available
    return body


THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ],
    "extensions": {
        "cost": {
            "requestedQueryCost": 870,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 70,
                "restoreRate": 100.0,
            },
        }
    },
}


@dataclass
class FakeShopify:
    """Serves products/orders as cursor pages of `page_size` nodes; records every request."""

    products: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    token: str = "shpat_first"
    faults: deque[str] = field(
        default_factory=deque
    )  # per GraphQL call: "ok"|"throttled"|"502"|"401"
    calls: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    webhook_topics: list[str] = field(default_factory=list)
    throttle_available: float = 70  # wait = (870 - this) / 100 s
    web_pixel: dict[str, Any] | None = None  # {"id", "settings"} once activated

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.POST, GRAPHQL_URL, callback=self._graphql)
        rsps.add_callback(responses.POST, TOKEN_URL, callback=self._token)

    LINES_FIRST = 25

    def _first_lines(self, order: dict[str, Any]) -> dict[str, Any]:
        """What `lineItems(first: 25)` returns: the first 25 lines and a cursor to the rest."""
        lines = order["lineItems"]["nodes"]
        more = len(lines) > self.LINES_FIRST
        cut = {
            "pageInfo": {"hasNextPage": more, "endCursor": str(self.LINES_FIRST)},
            "nodes": lines[: self.LINES_FIRST],
        }
        return {**order, "lineItems": cut}

    def _more_lines(self, variables: dict[str, Any]) -> dict[str, Any]:
        order = next(o for o in self.orders if o["id"] == variables["id"])
        start = int(variables["after"])
        lines = order["lineItems"]["nodes"]
        chunk = lines[start : start + 100]
        end = start + len(chunk)
        return {
            "order": {
                "lineItems": {
                    "pageInfo": {"hasNextPage": end < len(lines), "endCursor": str(end)},
                    "nodes": chunk,
                }
            }
        }

    def _web_pixel(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """webPixelCreate (TAKEN once the shop has one), the webPixel query, webPixelUpdate."""
        if "ShoprecWebPixelCreate" in query or "ShoprecWebPixelUpdate" in query:
            field_name = "webPixelCreate" if "Create" in query else "webPixelUpdate"
            errors = pixel_settings_problems(variables["settings"])
            if not errors and field_name == "webPixelCreate" and self.web_pixel is not None:
                errors = [
                    {"code": "TAKEN", "field": ["webPixel"], "message": "Pixel already exists"}
                ]
            if not errors and field_name == "webPixelUpdate":
                if self.web_pixel is None or variables["id"] != self.web_pixel["id"]:
                    errors = [{"code": "NOT_FOUND", "field": ["id"], "message": "Pixel not found"}]
            if errors:
                return {field_name: {"webPixel": None, "userErrors": errors}}
            self.web_pixel = {"id": "gid://shopify/WebPixel/7", "settings": variables["settings"]}
            return {field_name: {"webPixel": self.web_pixel, "userErrors": []}}
        return {"webPixel": self.web_pixel}

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.tokens_issued += 1
        self.token = f"shpat_{self.tokens_issued}"
        answer = {
            "access_token": self.token,
            "scope": "read_products,read_orders",
            "expires_in": 3600,
            "refresh_token": f"shprt_{self.tokens_issued}",
            "refresh_token_expires_in": 7776000,
        }
        if body.get("grant_type") == "refresh_token" and not body.get("refresh_token"):
            return 400, {}, json.dumps({"error": "invalid_request"})
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def _graphql(self, request: Any) -> tuple[int, dict[str, str], str]:
        payload = json.loads(request.body)
        self.calls.append(
            {
                "token": request.headers.get("X-Shopify-Access-Token"),
                "variables": payload["variables"],
                "query": payload["query"],
            }
        )
        fault = self.faults.popleft() if self.faults else "ok"
        if fault == "502":
            return 502, {}, "<html>502 Bad Gateway</html>"
        if fault == "401" or request.headers.get("X-Shopify-Access-Token") != self.token:
            return 401, {}, json.dumps({"errors": "[API] Invalid API key or access token"})
        if fault == "403":
            return 403, {}, json.dumps({"errors": "Forbidden"})
        if fault == "throttled":
            return 200, {}, json.dumps(throttled(self.throttle_available))
        query = payload["query"]
        if "ShoprecWebPixel" in query:
            data = self._web_pixel(query, payload["variables"])
            return 200, {}, json.dumps({"data": data, "extensions": cost(10)})
        if "webhookSubscriptionCreate" in query:
            topic = payload["variables"]["topic"]
            if topic in self.webhook_topics:  # what Shopify answers for a second subscription
                taken = {
                    "field": ["webhookSubscription", "callbackUrl"],
                    "message": "Address for this topic has already been taken",
                }
                data = {
                    "webhookSubscriptionCreate": {
                        "webhookSubscription": None,
                        "userErrors": [taken],
                    }
                }
                return 200, {}, json.dumps({"data": data, "extensions": cost(10)})
            self.webhook_topics.append(topic)
            data = {
                "webhookSubscriptionCreate": {
                    "webhookSubscription": {
                        "id": f"gid://shopify/WebhookSubscription/{len(self.webhook_topics)}",
                        "topic": topic,
                    },
                    "userErrors": [],
                }
            }
            return 200, {}, json.dumps({"data": data, "extensions": cost(10)})
        if "ShoprecOrderLines" in query:
            return (
                200,
                {},
                json.dumps(
                    {"data": self._more_lines(payload["variables"]), "extensions": cost(300)}
                ),
            )
        name = "products" if "ShoprecProducts" in query else "orders"
        nodes = self.products if name == "products" else self.orders
        variables = payload["variables"]
        filt = variables.get("query")
        if filt:  # "updated_at:>'2026-05-01T00:00:00Z'"
            since = filt.split("'")[1]
            nodes = [n for n in nodes if n["updatedAt"] > since]
        start = int(variables["after"] or 0)
        chunk = nodes[start : start + self.page_size]
        if name == "orders":
            chunk = [self._first_lines(n) for n in chunk]
        end = start + len(chunk)
        data = {
            name: {
                "pageInfo": {
                    "hasNextPage": end < len(nodes),
                    "endCursor": str(end) if chunk else None,
                },
                "nodes": chunk,
            }
        }
        return 200, {}, json.dumps({"data": data, "extensions": cost(50)})
