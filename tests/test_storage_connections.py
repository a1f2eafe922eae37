"""Connections, record versions, inventory items and sync-state resets in a real shop file."""

from __future__ import annotations

import sqlite_utils

from storage.catalog import upsert_products
from storage.connections import (
    connection_summary,
    get_connection,
    mark_uninstalled,
    save_connection,
    set_connection_status,
    update_credentials,
)
from storage.inventory_items import (
    map_inventory_items,
    product_stock,
    set_inventory_level,
    set_item_totals,
)
from storage.record_versions import is_stale, remember_versions, stored_versions
from storage.sync_state import get_sync_state, reset_sync_state, save_sync_state


def test_connection_lifecycle_never_shows_credentials(shop_db: sqlite_utils.Database) -> None:
    save_connection(shop_db, "shopify", "a.myshopify.com", {"access_token": "shpat_1"}, scope="r")
    update_credentials(shop_db, "shopify", {"access_token": "shpat_2"}, "2026-06-01T13:00:00")
    set_connection_status(shop_db, "shopify", "broken", "Shopify refused access (401)")
    connection = get_connection(shop_db, "shopify")
    assert connection is not None and connection.credentials == {"access_token": "shpat_2"}
    summary = connection_summary(connection)
    assert summary["status"] == "broken" and "shpat" not in repr(summary)
    assert "shpat" not in repr(connection)
    # A re-install makes it active again with fresh credentials.
    save_connection(shop_db, "shopify", "a.myshopify.com", {"access_token": "shpat_3"})
    connection = get_connection(shop_db, "shopify")
    assert connection is not None and (connection.status, connection.status_reason) == (
        "active",
        None,
    )
    assert mark_uninstalled(shop_db, "shopify", "removed")
    connection = get_connection(shop_db, "shopify")
    assert connection is not None and connection.credentials == {}


def test_versions_never_move_backwards(shop_db: sqlite_utils.Database) -> None:
    remember_versions(shop_db, "product", {"1": "2026-05-02T00:00:00"})
    remember_versions(shop_db, "product", {"1": "2026-05-01T00:00:00", "2": "2026-05-01T00:00:00"})
    assert stored_versions(shop_db, "product", ["1", "2", "3"]) == {
        "1": "2026-05-02T00:00:00",
        "2": "2026-05-01T00:00:00",
    }
    assert is_stale(shop_db, "product", "1", "2026-05-01T12:00:00")
    assert not is_stale(shop_db, "product", "1", "2026-05-02T00:00:00")
    assert not is_stale(shop_db, "product", "3", "2000-01-01T00:00:00")
    assert not is_stale(shop_db, "product", "1", None)


def test_stock_is_located_levels_else_the_synced_total(shop_db: sqlite_utils.Database) -> None:
    upsert_products(shop_db, [{"product_id": "p", "title": "P", "price": 1.0}])
    map_inventory_items(shop_db, [("i1", "p", "v1"), ("i2", "p", "v2")])
    assert product_stock(shop_db, "p") is None
    set_item_totals(shop_db, [("i1", 10), ("i2", 5)])
    assert product_stock(shop_db, "p") == 15
    set_inventory_level(shop_db, "i1", "loc-a", 3, "2026-05-01T10:00:00")
    set_inventory_level(shop_db, "i1", "loc-b", 4, "2026-05-01T10:00:00")
    assert product_stock(shop_db, "p") == 3 + 4 + 5
    assert not set_inventory_level(shop_db, "i1", "loc-a", 99, "2026-05-01T09:00:00")
    assert product_stock(shop_db, "p") == 12
    set_item_totals(shop_db, [("i1", 8)])  # a later sync's total replaces the located levels
    assert product_stock(shop_db, "p") == 13


def test_reset_forgets_only_that_platform(shop_db: sqlite_utils.Database) -> None:
    save_sync_state(shop_db, "shopify:products", cursor="5", last_synced_at="2026-05-01T00:00:00")
    save_sync_state(shop_db, "woocommerce:orders", cursor="2")
    assert reset_sync_state(shop_db, "shopify") == 1
    assert get_sync_state(shop_db, "shopify:products") is None
    assert get_sync_state(shop_db, "woocommerce:orders") is not None
