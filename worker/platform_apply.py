"""Applying mapped platform records to a shop's store, skipping stale ones.

Used by the webhook receipts and by the backfill/sync alike, so a product fetched by the
sync and the same product delivered by a webhook go through one path. A record whose
platform updated_at is older than the version already applied is dropped (with its order
lines, for an order): webhooks arrive out of order and retries carry the original payload.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import sqlite_utils

from connectors.feeds.feed_records import FeedBatch
from connectors.platform_update import PlatformUpdate
from serving.generations import bump_db_generation
from storage.catalog import upsert_products
from storage.customers import add_missing_customers, upsert_customers
from storage.inventory_items import map_inventory_items, set_item_totals
from storage.orders import upsert_order_lines, upsert_orders
from storage.record_versions import remember_versions, stored_versions

_KEY_OF = MappingProxyType(
    {"product": "product_id", "order": "order_id", "customer": "customer_id"}
)


def apply_batch(db: sqlite_utils.Database, batch: FeedBatch) -> dict[str, int]:
    """Upsert a batch's records (customers, products, orders, lines); return rows changed."""
    customers = upsert_customers(db, batch.customers) if batch.customers else 0
    if batch.order_customers:  # after the accounts, so a page's own account record wins
        customers += add_missing_customers(db, batch.order_customers)
    return {
        "customers": customers,
        "products": upsert_products(db, batch.products) if batch.products else 0,
        "orders": upsert_orders(db, batch.orders) if batch.orders else 0,
        "order_lines": upsert_order_lines(db, batch.order_lines) if batch.order_lines else 0,
    }


def stale_ids(db: sqlite_utils.Database, update: PlatformUpdate) -> dict[str, set[str]]:
    """kind -> ids whose offered version is older than the one already applied."""
    stale: dict[str, set[str]] = {}
    for kind, offered in update.versions.items():
        known = stored_versions(db, kind, offered)
        older = {rid for rid, stamp in offered.items() if rid in known and stamp < known[rid]}
        if older:
            stale[kind] = older
    return stale


def _without(batch: FeedBatch, stale: dict[str, set[str]]) -> FeedBatch:
    products = stale.get("product", set())
    orders = stale.get("order", set())
    customers = stale.get("customer", set())
    return FeedBatch(
        products=[p for p in batch.products if p["product_id"] not in products],
        customers=[c for c in batch.customers if c["customer_id"] not in customers],
        order_customers=list(batch.order_customers),
        orders=[o for o in batch.orders if o["order_id"] not in orders],
        order_lines=[line for line in batch.order_lines if line[0] not in orders],
        events=list(batch.events),
    )


def apply_update(db: sqlite_utils.Database, update: PlatformUpdate) -> dict[str, Any]:
    """Apply the fresh part of `update`; return rows changed and how many records were stale.

    Bumps the shop's cache generation when products changed, since served answers carry
    their price, stock and status.
    """
    stale = stale_ids(db, update)
    batch = _without(update.batch, stale) if stale else update.batch
    changed: dict[str, Any] = apply_batch(db, batch)
    for kind, versions in update.versions.items():
        fresh = {rid: stamp for rid, stamp in versions.items() if rid not in stale.get(kind, ())}
        if fresh:
            remember_versions(db, kind, fresh)
    stale_products = stale.get("product", set())
    items = [i for i in update.inventory_items if i[1] not in stale_products]
    if items:
        map_inventory_items(db, items)
    stale_items = {i[0] for i in update.inventory_items if i[1] in stale_products}
    totals = [t for t in update.inventory_totals if t[0] not in stale_items]
    if totals:
        set_item_totals(db, totals)
    if changed["products"]:
        bump_db_generation(db)
    changed["stale_skipped"] = sum(len(ids) for ids in stale.values())
    return changed
