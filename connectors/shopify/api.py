"""Shopify GraphQL Admin API client: cost-based throttle, token refresh, cursor pages.

One object per shop, built with its session, domain, API version and tokens (STYLE.md: no
class-level global session). The API version comes from settings.shopify_api_version, the
one place it is pinned.

Throttling (PLATFORMS.md 1.10): every answer's extensions.cost.throttleStatus says how many
points are left and how fast they come back. Before a query we wait until the last query's
requested cost is available again; a THROTTLED answer (HTTP 200, no data) is waited out for
(requested - available) / restoreRate and retried, never reported as a failure.

Tokens (PLATFORMS.md 1.6): expiring offline tokens last 60 minutes. The client refreshes
before expiry and once on a 401, hands the rotated pair to `on_tokens` (which must store it
before the next call: the old refresh token is spent), and raises PlatformAuthError when the
platform still refuses, so the caller can mark the connection broken.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.errors import PlatformAuthError, PlatformError
from connectors.http_client import HTTPCallError, RetryPolicy, send_with_retry
from connectors.shopify.auth import TokenSet, refresh_tokens, validate_shop_domain
from connectors.shopify.graphql import (
    ORDER_LINES_QUERY,
    ORDERS_PAGE,
    ORDERS_QUERY,
    PRODUCTS_PAGE,
    PRODUCTS_QUERY,
    WEB_PIXEL_CREATE_MUTATION,
    WEB_PIXEL_QUERY,
    WEB_PIXEL_UPDATE_MUTATION,
    WEBHOOK_CREATE_MUTATION,
)

logger = logging.getLogger(__name__)

MAX_THROTTLE_WAITS = 20
MAX_THROTTLE_WAIT_S = 60.0


@dataclass(frozen=True)
class Page:
    """One page of a connection: its nodes and where the next page starts."""

    nodes: list[dict[str, Any]]
    end_cursor: str | None
    has_next: bool


@dataclass
class _Budget:
    """The last throttleStatus seen, to wait before spending points that are not there."""

    available: float = 0.0
    restore_rate: float = 0.0
    last_requested: float = 0.0
    seen_at: float = 0.0
    known: bool = False


def updated_since_query(since: str | None) -> str | None:
    """The search filter of an incremental sync ('updated_at:>'...'' in Shopify syntax)."""
    return f"updated_at:>'{since}Z'" if since else None


class ShopifyClient:
    """GraphQL Admin API calls for one shop."""

    def __init__(
        self,
        session: requests.Session,
        domain: str,
        api_version: str,
        tokens: TokenSet,
        *,
        api_key: str,
        api_secret: str,
        on_tokens: Callable[[TokenSet], None],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout_s: float = 10.0,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    ) -> None:
        self.domain = validate_shop_domain(domain)
        self.url = f"https://{self.domain}/admin/api/{api_version}/graphql.json"
        self._session = session
        self._tokens = tokens
        self._api_key = api_key
        self._api_secret = api_secret
        self._on_tokens = on_tokens
        self._sleep = sleep
        self._clock = clock
        self._timeout_s = timeout_s
        self._policy = policy
        self._budget = _Budget()
        self.throttle_waits: list[float] = []  # what was waited, for reports and tests

    # -- tokens ---------------------------------------------------------------------------
    def _refresh(self, why: str) -> None:
        if not self._tokens.refresh_token:
            raise PlatformAuthError(f"Shopify token {why} and there is no refresh token", 401)
        logger.info("refreshing the Shopify token of %s (%s)", self.domain, why)
        fresh = refresh_tokens(
            self._session,
            self.domain,
            self._api_key,
            self._api_secret,
            self._tokens.refresh_token,
            now=self._clock(),
            timeout_s=self._timeout_s,
        )
        self._tokens = fresh
        self._on_tokens(fresh)

    # -- throttle -------------------------------------------------------------------------
    def _wait_for_budget(self) -> None:
        budget = self._budget
        if not budget.known or budget.restore_rate <= 0:
            return
        elapsed = time.monotonic() - budget.seen_at
        available = budget.available + budget.restore_rate * elapsed
        if available < budget.last_requested:
            self._pause((budget.last_requested - available) / budget.restore_rate)

    def _pause(self, seconds: float) -> None:
        seconds = min(MAX_THROTTLE_WAIT_S, max(0.0, seconds))
        self.throttle_waits.append(seconds)
        self._sleep(seconds)

    def _note_cost(self, body: dict[str, Any]) -> tuple[float, float, float] | None:
        cost = ((body.get("extensions") or {}).get("cost")) or {}
        status = cost.get("throttleStatus") or {}
        try:
            requested = float(cost.get("requestedQueryCost") or 0)
            available = float(status["currentlyAvailable"])
            restore = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return None
        self._budget = _Budget(available, restore, requested, time.monotonic(), True)
        return requested, available, restore

    # -- calls ----------------------------------------------------------------------------
    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self._tokens.needs_refresh(self._clock()):
            self._refresh("expires soon")
        for refreshed in (False, True):
            try:
                response = send_with_retry(
                    self._session,
                    "POST",
                    self.url,
                    json=payload,
                    headers={"X-Shopify-Access-Token": self._tokens.access_token},
                    policy=self._policy,
                    sleep=self._sleep,
                    timeout_s=self._timeout_s,
                )
            except HTTPCallError as exc:
                if exc.status == 401 and not refreshed:
                    self._refresh("was refused (401)")
                    continue
                if exc.status in (401, 402, 403, 423):
                    raise PlatformAuthError(
                        f"Shopify refused access to {self.domain} ({exc.status}): {exc.body[:200]}",
                        exc.status,
                    ) from exc
                raise
            try:
                body = response.json()
            except ValueError as exc:
                raise PlatformError(f"Shopify answered non-JSON from {self.url}") from exc
            if not isinstance(body, dict):
                raise PlatformError("Shopify's GraphQL answer is not a JSON object")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one query and return its `data`, waiting out throttling."""
        payload = {"query": query, "variables": variables or {}}
        for _ in range(MAX_THROTTLE_WAITS + 1):
            self._wait_for_budget()
            body = self._post(payload)
            cost = self._note_cost(body)
            errors = body.get("errors") or []
            codes = {
                ((e.get("extensions") or {}).get("code") if isinstance(e, dict) else None)
                for e in errors
            }
            if "THROTTLED" in codes:
                requested, available, restore = cost or (1.0, 0.0, 1.0)
                self._pause((requested - available) / restore if restore > 0 else 1.0)
                self._budget.known = False  # just waited for exactly these points
                continue
            if "ACCESS_DENIED" in codes:
                raise PlatformAuthError(f"Shopify denied access: {_messages(errors)}", 403)
            if errors:
                raise PlatformError(f"Shopify GraphQL errors: {_messages(errors)}")
            data = body.get("data")
            if not isinstance(data, dict):
                raise PlatformError("Shopify's GraphQL answer has no data")
            return data
        raise PlatformError(f"still throttled after {MAX_THROTTLE_WAITS} waits")

    def _page(
        self, field: str, query: str, first: int, after: str | None, filt: str | None
    ) -> Page:
        data = self.graphql(query, {"first": first, "after": after, "query": filt})
        connection = data.get(field)
        if not isinstance(connection, dict):
            raise PlatformError(f"Shopify's answer has no {field} connection")
        info = connection.get("pageInfo") or {}
        nodes = connection.get("nodes")
        if not isinstance(nodes, list):
            raise PlatformError(f"{field}.nodes is not a list")
        return Page(nodes, info.get("endCursor"), bool(info.get("hasNextPage")))

    def products_page(self, after: str | None = None, updated_since: str | None = None) -> Page:
        """One page of products (with variants, inventory items, image, tags, type)."""
        filt = updated_since_query(updated_since)
        return self._page("products", PRODUCTS_QUERY, PRODUCTS_PAGE, after, filt)

    def orders_page(self, after: str | None = None, updated_since: str | None = None) -> Page:
        """One page of orders (with line items and customer)."""
        filt = updated_since_query(updated_since)
        return self._page("orders", ORDERS_QUERY, ORDERS_PAGE, after, filt)

    def complete_line_items(self, order: dict[str, Any]) -> None:
        """Fetch the lines an orders page cut off (more than LINES_PER_ORDER) into `order`."""
        lines = order.get("lineItems")
        if not isinstance(lines, dict):
            return
        info = lines.get("pageInfo") or {}
        while info.get("hasNextPage") and info.get("endCursor"):
            data = self.graphql(ORDER_LINES_QUERY, {"id": order["id"], "after": info["endCursor"]})
            more = ((data.get("order") or {}).get("lineItems")) or {}
            nodes = more.get("nodes")
            if not isinstance(nodes, list):
                raise PlatformError(f"order {order['id']!r} lineItems.nodes is not a list")
            lines.setdefault("nodes", []).extend(nodes)
            info = more.get("pageInfo") or {}
        lines["pageInfo"] = {"hasNextPage": False, "endCursor": info.get("endCursor")}

    def register_webhook(self, topic: str, callback_url: str) -> str:
        """Subscribe this shop's `topic` deliveries to `callback_url`; return the subscription id.

        A 'taken' user error (already subscribed to that address) counts as success.
        """
        data = self.graphql(WEBHOOK_CREATE_MUTATION, {"topic": topic, "callbackUrl": callback_url})
        result = data.get("webhookSubscriptionCreate") or {}
        user_errors = result.get("userErrors") or []
        if user_errors:
            text = _messages(user_errors)
            if "taken" in text.lower():
                return ""
            raise PlatformError(f"webhookSubscriptionCreate {topic}: {text}")
        return str((result.get("webhookSubscription") or {}).get("id") or "")

    def activate_web_pixel(self, settings: dict[str, str]) -> str:
        """Create this app's web pixel on the shop with `settings`, or update the one it has;
        return "created" or "updated". Shopify checks `settings` against the extension's
        TOML and answers a mismatch with a user error, raised here as PlatformError."""
        encoded = json.dumps(settings, sort_keys=True)
        data = self.graphql(WEB_PIXEL_CREATE_MUTATION, {"settings": encoded})
        errors = (data.get("webPixelCreate") or {}).get("userErrors") or []
        if not errors:
            return "created"
        if not any(isinstance(e, dict) and e.get("code") == "TAKEN" for e in errors):
            raise PlatformError(f"webPixelCreate: {_messages(errors)}")
        pixel = self.graphql(WEB_PIXEL_QUERY).get("webPixel") or {}
        if not pixel.get("id"):
            raise PlatformError("webPixelCreate answered TAKEN but the shop has no web pixel")
        data = self.graphql(WEB_PIXEL_UPDATE_MUTATION, {"id": pixel["id"], "settings": encoded})
        errors = (data.get("webPixelUpdate") or {}).get("userErrors") or []
        if errors:
            raise PlatformError(f"webPixelUpdate: {_messages(errors)}")
        return "updated"


def _messages(errors: list[Any]) -> str:
    return "; ".join(str(e.get("message")) if isinstance(e, dict) else str(e) for e in errors[:5])
