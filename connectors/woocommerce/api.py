"""WooCommerce REST API v3 client: paged lists, webhook calls, the connection check.

One object per store, built with its session, URL and consumer key/secret. Lists are read
with per_page=100 (the maximum, PLATFORMS.md 2.1) ordered by id ascending, so a page number
stays a stable cursor while new records are added at the end; X-WP-TotalPages says where
the last page is. 429/5xx/network errors are retried by connectors.http_client; 401/403
raise PlatformAuthError so the caller marks the connection broken.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from connectors.errors import ConnectorSetupError, PlatformAuthError, PlatformError
from connectors.http_client import HTTPCallError, RetryPolicy, send_with_retry
from connectors.woocommerce.auth import oauth1_params, uses_basic_auth

PER_PAGE = 100
API_PATH = "/wp-json/wc/v3"
# What shoprec subscribes to. The customer topics carry the account's own identity (email,
# names); an order's billing block describes only that order.
WEBHOOK_TOPICS = (
    "order.created",
    "order.updated",
    "product.created",
    "product.updated",
    "product.deleted",
    "customer.created",
    "customer.updated",
)


@dataclass(frozen=True)
class ListPage:
    """One page of a list endpoint and how many pages there are in all."""

    items: list[dict[str, Any]]
    page: int
    total_pages: int


def _store_base(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConnectorSetupError(f"store URL must start with http:// or https://, got {url!r}")
    return url


class WooCommerceClient:
    """REST v3 calls for one store."""

    def __init__(
        self,
        session: requests.Session,
        store_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 10.0,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    ) -> None:
        self.store_url = _store_base(store_url)
        self._session = session
        self._key = consumer_key
        self._secret = consumer_secret
        self._sleep = sleep
        self._timeout_s = timeout_s
        self._policy = policy

    def _call(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> requests.Response:
        url = f"{self.store_url}{API_PATH}/{path.lstrip('/')}"
        params = dict(params or {})
        kwargs: dict[str, Any] = {}
        if uses_basic_auth(self.store_url):
            kwargs["auth"] = (self._key, self._secret)
        else:
            params = oauth1_params(method, url, params, self._key, self._secret)
        try:
            return send_with_retry(
                self._session,
                method,
                url,
                params=params,
                json=body,
                policy=self._policy,
                sleep=self._sleep,
                timeout_s=self._timeout_s,
                **kwargs,
            )
        except HTTPCallError as exc:
            if exc.status in (401, 403):
                raise PlatformAuthError(
                    f"WooCommerce refused the consumer key ({exc.status}): {_error_text(exc.body)}",
                    exc.status,
                ) from exc
            raise

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise PlatformError(f"WooCommerce answered non-JSON from {response.url}") from exc

    def list_page(self, resource: str, page: int, modified_after: str | None = None) -> ListPage:
        """Page `page` (1-based) of products/customers/orders, oldest id first."""
        params: dict[str, Any] = {
            "page": page,
            "per_page": PER_PAGE,
            "orderby": "id",
            "order": "asc",
        }
        if modified_after:
            params.update({"modified_after": modified_after, "dates_are_gmt": "true"})
        if resource == "orders":
            params["status"] = "any"
        response = self._call("GET", resource, params)
        items = self._json(response)
        if not isinstance(items, list):
            raise PlatformError(f"WooCommerce {resource} list is not a JSON list")
        try:
            total_pages = int(response.headers.get("X-WP-TotalPages", "1"))
        except ValueError:
            total_pages = page
        return ListPage(items, page, max(total_pages, 0))

    def check(self) -> None:
        """Prove the URL and keys work (one product read); raises PlatformAuthError if not."""
        self._call("GET", "products", {"per_page": 1})

    def list_webhooks(self) -> list[dict[str, Any]]:
        """Every webhook of the store, whatever its status."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self._call("GET", "webhooks", {"page": page, "per_page": PER_PAGE})
            items = self._json(response)
            if not isinstance(items, list):
                raise PlatformError("WooCommerce webhooks list is not a JSON list")
            found.extend(i for i in items if isinstance(i, dict))
            if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                return found
            page += 1

    def create_webhook(self, topic: str, delivery_url: str, secret: str) -> dict[str, Any]:
        """Create an active webhook signed with `secret` (WooCommerce pings it on creation)."""
        body = {
            "name": f"shoprec {topic}",
            "topic": topic,
            "delivery_url": delivery_url,
            "secret": secret,
            "status": "active",
        }
        answer = self._json(self._call("POST", "webhooks", body=body))
        return answer if isinstance(answer, dict) else {}

    def update_webhook(self, webhook_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a webhook: re-enable it, re-point it, give it a new secret."""
        answer = self._json(self._call("PUT", f"webhooks/{int(webhook_id)}", body=changes))
        return answer if isinstance(answer, dict) else {}

    def delete_webhook(self, webhook_id: int) -> None:
        """Delete a webhook for good (webhooks have no trash: force=true is required)."""
        self._call("DELETE", f"webhooks/{int(webhook_id)}", {"force": "true"})


def _error_text(body: str) -> str:
    """The `message` of a WooCommerce error body, else its start."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200]
    if isinstance(data, dict) and data.get("message"):
        return f"{data.get('code', '')}: {data['message']}"[:200]
    return body[:200]
