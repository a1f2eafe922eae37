"""Shopify as a sync Source: GraphQL pages of products and orders, mapped to store records.

The client is built from the connection stored in the shop's own file; a refreshed token
pair is written back at once (the old refresh token is spent the moment it is used).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
import sqlite_utils

from config import Settings
from connectors.errors import PayloadError, PlatformAuthError, PlatformError
from connectors.http_client import new_session
from connectors.platform_update import PlatformUpdate
from connectors.shopify import payloads as shopify_payloads
from connectors.shopify.api import Page, ShopifyClient
from connectors.shopify.auth import TokenSet
from connectors.shopify.graphql import WEBHOOK_TOPICS, rest_order, rest_product
from storage.connections import get_connection, update_credentials
from worker.errors import UnknownPlatformResource
from worker.sync import FetchedPage, PreparedSync

logger = logging.getLogger(__name__)

RESOURCES = ("products", "orders")


def shopify_client_for(
    settings: Settings,
    db: sqlite_utils.Database,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ShopifyClient:
    """A client on the shop's stored connection; PlatformAuthError when there is none usable."""
    connection = get_connection(db, "shopify")
    if connection is None or connection.status == "uninstalled":
        raise PlatformAuthError("the shop has no Shopify connection: install the app first")
    tokens = TokenSet.from_credentials(connection.credentials, connection.scope)

    def store(fresh: TokenSet) -> None:
        update_credentials(db, "shopify", fresh.as_credentials(), fresh.expires_at)

    return ShopifyClient(
        session or new_session(),
        connection.shop_domain,
        settings.shopify_api_version,
        tokens,
        api_key=settings.shopify_api_key,
        api_secret=settings.shopify_api_secret,
        on_tokens=store,
        sleep=sleep,
        clock=clock,
        timeout_s=settings.http_timeout_s,
    )


def ensure_webhooks(client: ShopifyClient, settings: Settings) -> dict[str, Any]:
    """Subscribe every topic to SHOPREC_PUBLIC_URL/webhooks/shopify.

    Run at install and with every sync: Shopify deletes a subscription after 8 failed
    deliveries, and an existing one answers 'already taken', which counts as fine. A failure
    is reported, not raised (the sync itself still catches the data up).
    """
    url = f"{settings.public_url.rstrip('/')}/webhooks/shopify"
    registered, problems = 0, []
    for topic in WEBHOOK_TOPICS:
        try:
            client.register_webhook(topic, url)
            registered += 1
        except PlatformAuthError:
            raise
        except PlatformError as exc:
            problems.append(f"{topic}: {exc}")
    return {"registered": registered, "problems": problems}


# Views and add-to-carts come from the theme's app embed (it runs where the widget does and
# shares its visitor ids); the pixel then reports only completed checkouts.
PIXEL_STOREFRONT_EVENTS = "embed"


def web_pixel_settings(settings: Settings, shop: str) -> dict[str, str]:
    """The pixel's settings for `shop`: the fields of the extension's TOML, all strings."""
    return {
        "shoprec_url": settings.public_url.rstrip("/"),
        "shop": shop,
        "storefront_events": PIXEL_STOREFRONT_EVENTS,
    }


def ensure_web_pixel(client: ShopifyClient, settings: Settings, shop: str) -> str:
    """Activate the app's web pixel on the shop (create, or update the settings it has).

    Run at install and with every sync, so a changed SHOPREC_PUBLIC_URL reaches the pixel.
    Returns "created", "updated" or what went wrong; a failure is reported, not raised
    (the storefront still works; only guest-checkout attribution waits for the next sync).
    """
    if not settings.public_url:
        return "not activated: SHOPREC_PUBLIC_URL is not set"
    try:
        return client.activate_web_pixel(web_pixel_settings(settings, shop))
    except PlatformAuthError:
        raise
    except PlatformError as exc:
        return f"not activated: {exc}"


class ShopifySource:
    """Pages of products and orders through the GraphQL Admin API."""

    platform = "shopify"

    def __init__(self, client: ShopifyClient) -> None:
        self.client = client
        self.rejected: list[str] = []

    def fetch(self, resource: str, cursor: str | None, since: str | None) -> FetchedPage:
        """One page of `resource`, mapped through the same code as the webhooks."""
        if resource == "products":
            page = self.client.products_page(cursor, since)
            update = self._map(
                page, lambda n: shopify_payloads.product_update(rest_product(n), self.client.domain)
            )
        elif resource == "orders":
            page = self.client.orders_page(cursor, since)
            for node in page.nodes:
                self.client.complete_line_items(node)
            update = self._map(page, lambda n: shopify_payloads.order_update(rest_order(n)))
        else:
            raise UnknownPlatformResource(
                f"resource must be one of {list(RESOURCES)}, got {resource!r}"
            )
        next_cursor = page.end_cursor if page.has_next and page.end_cursor else None
        return FetchedPage(update, next_cursor, len(page.nodes))

    def _map(self, page: Page, one: Callable[[dict], PlatformUpdate]) -> PlatformUpdate:
        merged = PlatformUpdate()
        for node in page.nodes:
            try:
                merged.extend(one(node))
            except PayloadError as exc:
                # One malformed node must not cost the page: it is reported, the rest applied.
                reason = f"{node.get('id')!r}: {exc}"
                self.rejected.append(reason)
                logger.warning("shopify node rejected: %s", reason)
        return merged


def prepare_sync(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PreparedSync:
    """The shop's Shopify source, after its webhooks are re-subscribed (Shopify drops one
    after 8 failed deliveries) and its web pixel's settings re-applied."""
    client = shopify_client_for(settings, db, session=session, sleep=sleep)
    report = {
        "webhooks": ensure_webhooks(client, settings),
        "web_pixel": ensure_web_pixel(client, settings, shop),
    }
    return PreparedSync(ShopifySource(client), RESOURCES, report)
