"""The store: schema, idempotent upserts, returns never counted as purchases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from config import Settings
from storage.catalog import get_products, unavailable_product_ids, upsert_products
from storage.db import list_shops, open_shop_db, shop_exists, validate_shop_name
from storage.errors import InvalidShopName, UnknownShop
from storage.events import dismissed_products, insert_events
from storage.orders import read_purchase_lines, recently_bought, upsert_order_lines, upsert_orders
from storage.receipts import mark_receipt, store_receipt
from storage.shop_settings import get_shop_setting, set_shop_setting
from storage.sync_state import get_sync_state, save_sync_state


def test_wal_mode_and_schema(shop_db: sqlite_utils.Database) -> None:
    if not getattr(shop_db, "is_postgres", False):
        assert shop_db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for table in (
        "products",
        "customers",
        "orders",
        "order_lines",
        "events",
        "shop_settings",
        "webhook_receipts",
        "sync_state",
    ):
        assert table in shop_db.table_names()
    assert "order_lines_customer" in [i.name for i in shop_db["order_lines"].indexes]


@pytest.mark.parametrize("bad", ["", "../etc", "UPPER", "a/b", ".hidden", "x" * 101])
def test_shop_names_that_are_not_folders_are_refused(bad: str) -> None:
    with pytest.raises(InvalidShopName):
        validate_shop_name(bad)


def test_one_file_per_shop(tmp_path: Path) -> None:
    open_shop_db(tmp_path, "alpha.myshopify.com")
    open_shop_db(tmp_path, "beta")
    assert list_shops(tmp_path) == ["alpha.myshopify.com", "beta"]
    with pytest.raises(UnknownShop):
        open_shop_db(tmp_path, "gamma", create=False)


def test_product_upsert_is_idempotent_and_partial_updates_keep_fields(
    shop_db: sqlite_utils.Database,
) -> None:
    rows = [
        {"product_id": "A", "title": "Mixer", "price": 199.0, "category": "Kitchen"},
        {"product_id": "B", "title": "Bowl", "price": 20.0, "inventory": 0},
    ]
    assert upsert_products(shop_db, rows) == 2
    assert upsert_products(shop_db, rows) == 0
    assert upsert_products(shop_db, [{"product_id": "A", "inventory": 5}]) == 1
    stored = get_products(shop_db, ["A", "B", "missing"])
    assert set(stored) == {"A", "B"}
    assert stored["A"]["category"] == "Kitchen" and stored["A"]["inventory"] == 5


def test_unavailable_products(shop_db: sqlite_utils.Database) -> None:
    upsert_products(
        shop_db,
        [
            {"product_id": "ok", "title": "t", "price": 1.0, "inventory": 3},
            {"product_id": "untracked", "title": "t", "price": 1.0},
            {"product_id": "sold_out", "title": "t", "price": 1.0, "inventory": 0},
            {"product_id": "draft", "title": "t", "price": 1.0, "status": "draft"},
            {"product_id": "expired", "title": "t", "price": 1.0, "available_until": "2020-01-01"},
        ],
    )
    assert unavailable_product_ids(shop_db, "2026-01-01") == {"sold_out", "draft", "expired"}


def test_returns_are_kept_but_never_purchases(shop_db: sqlite_utils.Database) -> None:
    upsert_orders(
        shop_db,
        [
            {"order_id": "1", "customer_id": "c1", "created_at": "2026-01-01T10:00:00"},
            {
                "order_id": "C1",
                "customer_id": "c1",
                "created_at": "2026-01-02T10:00:00",
                "status": "cancelled",
            },
        ],
    )
    lines = [
        ("1", "A#1", "A", "c1", "2026-01-01T10:00:00", 2, 5.0),
        ("1", "B#1", "B", "c1", "2026-01-01T10:00:00", 1, 3.0),
        ("C1", "B#1", "B", "c1", "2026-01-02T10:00:00", -1, 3.0),
    ]
    assert upsert_order_lines(shop_db, lines) == 3
    assert upsert_order_lines(shop_db, lines) == 0
    purchases = read_purchase_lines(shop_db)
    assert sorted(purchases["product_id"]) == ["A", "B"]
    # B was returned in full, so it no longer counts as bought recently.
    assert recently_bought(shop_db, "c1", "2025-12-01") == {"A"}


def test_events_dedupe_and_dismissals_are_per_shopper(shop_db: sqlite_utils.Database) -> None:
    event = {
        "ts": "2026-01-01T10:00:00",
        "customer_id": "c1",
        "session_id": "s1",
        "type": "dismiss",
        "product_id": "A",
    }
    assert insert_events(shop_db, [event, event]) == 1
    assert dismissed_products(shop_db, "c1", None) == {"A"}
    assert dismissed_products(shop_db, "c2", "s2") == set()


def test_receipts_dedupe_and_keep_rejected(shop_db: sqlite_utils.Database) -> None:
    delivery = ("shopify", "orders/create", "d-1", {"X": "1"}, b"{bad")
    rid, new = store_receipt(shop_db, *delivery)
    again, new_again = store_receipt(shop_db, *delivery)
    assert (rid, new) == (again, True) and new_again is False
    mark_receipt(shop_db, rid, "rejected", "body is not JSON")
    row = next(
        shop_db.query("SELECT status, body FROM webhook_receipts WHERE receipt_id = ?", (rid,))
    )
    assert row["status"] == "rejected" and row["body"] == b"{bad"


def test_shop_settings_are_audited(shop_db: sqlite_utils.Database) -> None:
    assert set_shop_setting(shop_db, "weights.product", {"rules": 0.5}, "owner") is True
    assert set_shop_setting(shop_db, "weights.product", {"rules": 0.5}, "owner") is False
    assert get_shop_setting(shop_db, "weights.product") == {"rules": 0.5}
    assert shop_db["settings_changes"].count == 1


def test_sync_state_resumes_from_cursor(shop_db: sqlite_utils.Database) -> None:
    save_sync_state(shop_db, "shopify:orders", cursor="abc", status="running")
    save_sync_state(shop_db, "shopify:orders", status="failed", error="boom")
    state = get_sync_state(shop_db, "shopify:orders")
    assert state is not None and state["cursor"] == "abc" and state["status"] == "failed"


def test_deleting_a_shop_removes_its_store(settings: Settings) -> None:
    from worker.privacy import delete_shop_data

    db = open_shop_db(settings.data_dir, "gone.myshopify.com")
    upsert_products(db, [{"product_id": "p1", "title": "P1", "price": 1.0}])
    db.close()
    open_shop_db(settings.data_dir, "kept").close()
    assert delete_shop_data(settings, "gone.myshopify.com")["deleted"] is True
    assert list_shops(settings.data_dir) == ["kept"]
    assert not shop_exists(settings.data_dir, "gone.myshopify.com")
    with pytest.raises(UnknownShop):
        open_shop_db(settings.data_dir, "gone.myshopify.com", create=False)
    fresh = open_shop_db(settings.data_dir, "gone.myshopify.com")  # a reinstall starts empty
    try:
        assert fresh.execute("SELECT count(*) FROM products").fetchone()[0] == 0
    finally:
        fresh.close()
