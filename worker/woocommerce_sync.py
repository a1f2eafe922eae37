"""WooCommerce as a sync Source, the connect step, and webhook reconciliation.

Connecting checks the keys, stores them in the shop's file with a fresh per-shop webhook
secret (the inbox verifies deliveries with it), and registers the webhooks pointing at
SHOPREC_PUBLIC_URL. Every later sync re-runs the webhook reconciliation, because WooCommerce
silently disables a webhook after a few failed deliveries and never retries them.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import requests
import sqlite_utils

from config import Settings
from connectors import woocommerce_payloads
from connectors.http_client import new_session
from connectors.payload_errors import PayloadError
from connectors.platform_errors import PlatformAuthError
from connectors.platform_update import PlatformUpdate
from connectors.woocommerce import WooCommerceClient, reconcile_webhooks
from storage.connections import WOOCOMMERCE_WEBHOOK_SECRET_KEY, get_connection, save_connection
from storage.shop_settings import get_shop_setting, set_shop_setting
from worker.sync import FetchedPage

logger = logging.getLogger(__name__)

RESOURCES = ("products", "customers", "orders")
WEBHOOK_SECRET_KEY = WOOCOMMERCE_WEBHOOK_SECRET_KEY

_MAPPERS: dict[str, Callable[[dict[str, Any]], PlatformUpdate]] = {
    "products": woocommerce_payloads.product_update,
    "customers": woocommerce_payloads.customer_update,
    "orders": woocommerce_payloads.order_update,
}


def delivery_url(settings: Settings, shop: str) -> str:
    """Where this shop's WooCommerce webhooks must point."""
    return f"{settings.public_url.rstrip('/')}/webhooks/woocommerce/{shop}"


class WooCommerceSource:
    """Pages of products, customers and orders over REST v3 (page number = cursor)."""

    platform = "woocommerce"

    def __init__(self, client: WooCommerceClient) -> None:
        self.client = client
        self.rejected: list[str] = []

    def fetch(self, resource: str, cursor: str | None, since: str | None) -> FetchedPage:
        """Page `cursor` (default 1) of `resource`, modified after `since` when given."""
        mapper = _MAPPERS.get(resource)
        if mapper is None:
            raise ValueError(f"resource must be one of {list(RESOURCES)}, got {resource!r}")
        page = self.client.list_page(resource, int(cursor or 1), since)
        merged = PlatformUpdate()
        for item in page.items:
            try:
                merged.extend(mapper(item))
            except PayloadError as exc:
                reason = f"{resource[:-1]} {item.get('id')!r}: {exc}"
                self.rejected.append(reason)
                logger.warning("woocommerce record rejected: %s", reason)
        more = page.page < page.total_pages and bool(page.items)
        return FetchedPage(merged, str(page.page + 1) if more else None, len(page.items))


def woocommerce_client_for(
    settings: Settings,
    db: sqlite_utils.Database,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WooCommerceClient:
    """A client on the shop's stored connection; PlatformAuthError when there is none."""
    connection = get_connection(db, "woocommerce")
    if connection is None or connection.status == "uninstalled":
        raise PlatformAuthError("the shop has no WooCommerce connection: run `shoprec connect`")
    creds = connection.credentials
    return WooCommerceClient(
        session or new_session(),
        connection.shop_domain,
        str(creds.get("consumer_key", "")),
        str(creds.get("consumer_secret", "")),
        sleep=sleep,
        timeout_s=settings.http_timeout_s,
    )


def woocommerce_source_for(
    settings: Settings,
    db: sqlite_utils.Database,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WooCommerceSource:
    """The sync source of the shop's connection."""
    return WooCommerceSource(woocommerce_client_for(settings, db, session=session, sleep=sleep))


def connect_woocommerce(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    store_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Check the keys, store the connection and a webhook secret, register the webhooks.

    Raises PlatformAuthError (bad keys) before anything is stored.
    """
    client = WooCommerceClient(
        session or new_session(),
        store_url,
        consumer_key,
        consumer_secret,
        sleep=sleep,
        timeout_s=settings.http_timeout_s,
    )
    client.check()
    secret = str(get_shop_setting(db, WEBHOOK_SECRET_KEY, "") or "") or secrets.token_urlsafe(32)
    set_shop_setting(db, WEBHOOK_SECRET_KEY, secret, "shoprec connect")
    save_connection(
        db,
        "woocommerce",
        client.store_url,
        {"consumer_key": consumer_key, "consumer_secret": consumer_secret},
    )
    webhooks = reconcile_webhooks(client, delivery_url(settings, shop), secret)
    return {"store_url": client.store_url, "webhooks": webhooks}


def reconcile_shop_webhooks(
    settings: Settings, db: sqlite_utils.Database, shop: str, client: WooCommerceClient
) -> dict[str, list[str]]:
    """Re-create or re-activate the shop's webhooks with its stored secret."""
    secret = str(get_shop_setting(db, WEBHOOK_SECRET_KEY, "") or "")
    if not secret:
        secret = secrets.token_urlsafe(32)
        set_shop_setting(db, WEBHOOK_SECRET_KEY, secret, "shoprec sync")
    return reconcile_webhooks(client, delivery_url(settings, shop), secret)
