"""WooCommerce as a sync Source, the connect step, and webhook reconciliation.

Connecting checks the keys, warns when the store looks unable to reach SHOPREC_PUBLIC_URL,
stores the keys in the shop's file with a per-shop webhook secret (the inbox verifies
deliveries with it), and registers the webhooks pointing at SHOPREC_PUBLIC_URL (re-pointing
ones left at an older URL). Every later sync re-runs the webhook reconciliation, because
WooCommerce silently disables a webhook after a few failed deliveries and never retries.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import requests
import sqlite_utils

from config import Settings
from connectors.errors import PayloadError, PlatformAuthError
from connectors.http_client import new_session
from connectors.platform_update import PlatformUpdate
from connectors.reachability import Resolver, public_url_warnings, resolve_host
from connectors.woocommerce import payloads as woocommerce_payloads
from connectors.woocommerce.api import WooCommerceClient
from connectors.woocommerce.webhooks import reconcile_webhooks, shop_webhook_path
from storage.connections import (
    WOOCOMMERCE_WEBHOOK_SECRET_KEY,
    get_connection,
    save_connection,
    set_connection_note,
)
from storage.shop_settings import get_shop_setting, set_shop_setting
from worker.errors import UnknownPlatformResource
from worker.sync import FetchedPage, PreparedSync

logger = logging.getLogger(__name__)

RESOURCES = ("products", "customers", "orders")
WEBHOOK_SECRET_KEY = WOOCOMMERCE_WEBHOOK_SECRET_KEY
# The reachability check asks shoprec's own /healthz: a live server answers at once.
HEALTH_TIMEOUT_S = 5.0

_MAPPERS: Mapping[str, Callable[[dict[str, Any]], PlatformUpdate]] = MappingProxyType(
    {
        "products": woocommerce_payloads.product_update,
        "customers": woocommerce_payloads.customer_update,
        "orders": woocommerce_payloads.order_update,
    }
)


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
            raise UnknownPlatformResource(
                f"resource must be one of {list(RESOURCES)}, got {resource!r}"
            )
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
    resolve: Resolver = resolve_host,
) -> dict[str, Any]:
    """Check the keys, store the connection and a webhook secret, register the webhooks.

    Raises PlatformAuthError (bad keys) before anything is stored. Before the webhooks are
    registered, shoprec asks its own public URL's /healthz and compares its address with
    the store's; after, it checks the store left every webhook active. What looks wrong is
    returned as `warnings` and kept as the connection's health note (status_reason): the
    connect still succeeds, since the operator may fix DNS or a proxy afterwards.
    """
    session = session or new_session()
    client = WooCommerceClient(
        session,
        store_url,
        consumer_key,
        consumer_secret,
        sleep=sleep,
        timeout_s=settings.http_timeout_s,
    )
    client.check()
    warnings = public_url_warnings(
        session,
        settings.public_url,
        client.store_url,
        timeout_s=min(settings.http_timeout_s, HEALTH_TIMEOUT_S),
        resolve=resolve,
    )
    secret, new_secret = _webhook_secret(db, "shoprec connect")
    save_connection(
        db,
        "woocommerce",
        client.store_url,
        {"consumer_key": consumer_key, "consumer_secret": consumer_secret},
    )
    target = delivery_url(settings, shop)
    webhooks = reconcile_webhooks(
        client, target, secret, shop_path=shop_webhook_path(shop), new_secret=new_secret
    )
    if webhooks["not_active"]:
        warnings.append(
            f"the store did not leave the webhooks {', '.join(webhooks['not_active'])} active: "
            f"WooCommerce disables a webhook whose delivery to {target} fails"
        )
    if warnings:
        set_connection_note(db, "woocommerce", "; ".join(warnings))
        for warning in warnings:
            logger.warning("woocommerce connect of %s: %s", shop, warning, extra={"shop": shop})
    return {"store_url": client.store_url, "webhooks": webhooks, "warnings": warnings}


def _webhook_secret(db: sqlite_utils.Database, changed_by: str) -> tuple[str, bool]:
    """The shop's webhook secret, made and stored if it has none; and whether it is new."""
    secret = str(get_shop_setting(db, WEBHOOK_SECRET_KEY, "") or "")
    if secret:
        return secret, False
    secret = secrets.token_urlsafe(32)
    set_shop_setting(db, WEBHOOK_SECRET_KEY, secret, changed_by)
    return secret, True


def reconcile_shop_webhooks(
    settings: Settings, db: sqlite_utils.Database, shop: str, client: WooCommerceClient
) -> dict[str, list[str]]:
    """Re-create, re-activate or re-point the shop's webhooks with its stored secret."""
    secret, new_secret = _webhook_secret(db, "shoprec sync")
    return reconcile_webhooks(
        client,
        delivery_url(settings, shop),
        secret,
        shop_path=shop_webhook_path(shop),
        new_secret=new_secret,
    )


def prepare_sync(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PreparedSync:
    """The shop's WooCommerce source, after its webhooks are reconciled (WooCommerce disables
    a webhook after failed deliveries and never retries)."""
    source = woocommerce_source_for(settings, db, session=session, sleep=sleep)
    webhooks = reconcile_shop_webhooks(settings, db, shop, source.client)
    return PreparedSync(source, RESOURCES, {"webhooks": webhooks})
