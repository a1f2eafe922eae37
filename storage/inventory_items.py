"""Shopify inventory items -> products, and stock per location.

inventory_levels/update names an inventory item and a location, never a product or variant
(PLATFORMS.md 1.7), so the backfill and product webhooks record which product each item
belongs to. A product's stock is then the sum of its items' levels over every location.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from storage.clock import utc_now_iso


def map_inventory_items(db: sqlite_utils.Database, items: Iterable[tuple[str, str, str]]) -> None:
    """Record (inventory_item_id, product_id, variant_id) triples."""
    with db.conn:
        db.conn.executemany(
            "INSERT INTO inventory_items (inventory_item_id, product_id, variant_id) "
            "VALUES (?, ?, ?) ON CONFLICT (inventory_item_id) DO UPDATE SET "
            "product_id = excluded.product_id, variant_id = excluded.variant_id",
            list(items),
        )


def product_of_item(db: sqlite_utils.Database, inventory_item_id: str) -> str | None:
    """The product an inventory item belongs to, or None when never seen."""
    row = db.execute(
        "SELECT product_id FROM inventory_items WHERE inventory_item_id = ?", (inventory_item_id,)
    ).fetchone()
    return row[0] if row else None


def set_inventory_level(
    db: sqlite_utils.Database,
    inventory_item_id: str,
    location_id: str,
    available: int | None,
    updated_at: str | None,
) -> bool:
    """Store one location's level unless a newer one is stored; return whether it was.

    `updated_at` is the platform's time of the level (inventory_levels/update carries it);
    deliveries arrive out of order, so an older one is ignored.
    """
    stamp = updated_at or utc_now_iso()
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO inventory_levels (inventory_item_id, location_id, available, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (inventory_item_id, location_id) DO UPDATE SET "
            "available = excluded.available, updated_at = excluded.updated_at "
            "WHERE excluded.updated_at >= inventory_levels.updated_at",
            (inventory_item_id, location_id, available, stamp),
        )
    return cursor.rowcount > 0


def set_item_totals(db: sqlite_utils.Database, totals: Iterable[tuple[str, int | None]]) -> None:
    """Store items' totals over all locations (location ''), as a sync or product webhook
    reads them; they replace per-location levels, which are older than this total."""
    now = utc_now_iso()
    rows = list(totals)
    with db.conn:
        db.conn.executemany(
            "DELETE FROM inventory_levels WHERE inventory_item_id = ? AND location_id != ''",
            [(item,) for item, _ in rows],
        )
        db.conn.executemany(
            "INSERT INTO inventory_levels (inventory_item_id, location_id, available, updated_at) "
            "VALUES (?, '', ?, ?) ON CONFLICT (inventory_item_id, location_id) DO UPDATE SET "
            "available = excluded.available, updated_at = excluded.updated_at",
            [(item, available, now) for item, available in rows],
        )


def product_stock(db: sqlite_utils.Database, product_id: str) -> int | None:
    """The product's stock: per item, the sum of its per-location levels when any location
    has reported since the last total, else the total ('' location); None when nothing is
    known (stock not tracked)."""
    rows = db.execute(
        "SELECT l.inventory_item_id, l.location_id, l.available FROM inventory_levels l "
        "JOIN inventory_items i ON i.inventory_item_id = l.inventory_item_id "
        "WHERE i.product_id = ? AND l.available IS NOT NULL",
        (product_id,),
    ).fetchall()
    by_item: dict[str, dict[str, int]] = {}
    for item, location, available in rows:
        by_item.setdefault(item, {})[location] = int(available)
    if not by_item:
        return None
    total = 0
    for levels in by_item.values():
        located = {loc: n for loc, n in levels.items() if loc}
        total += sum(located.values()) if located else levels.get("", 0)
    return total
