"""The inbox table: the per-platform dedupe key, and the rebuild that migrates existing rows."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from storage.db import open_db
from storage.migrations import MIGRATIONS
from storage.receipts import dedupe_key, store_receipt
from storage.schema import inbox


def old_inbox_db(path: Path) -> None:
    """A store at the schema just before the inbox rebuild, with receipts stored by then."""
    conn = sqlite3.connect(path)
    before = MIGRATIONS.index(inbox.SQL)
    for number, script in enumerate(MIGRATIONS[:before], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    rows = [
        ("shopify", "orders/create", "wh-1", b'{"id":1}', "processed"),
        ("woocommerce", "product.updated", "same-second", b'{"id":2}', "pending"),
    ]
    conn.executemany(
        "INSERT INTO webhook_receipts (platform, topic, delivery_id, headers, body, received_at, "
        "status) VALUES (?, ?, ?, '{}', ?, '2026-12-01T10:00:00', ?)",
        rows,
    )
    conn.commit()
    conn.close()


def test_existing_receipts_migrate_with_their_dedupe_key(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    old_inbox_db(path)
    db = open_db(path)
    try:
        rows = db.execute(
            "SELECT receipt_id, delivery_id, body_sha256, dedupe_key, status, tries "
            "FROM webhook_receipts ORDER BY 1"
        ).fetchall()
        woo_sha = hashlib.sha256(b'{"id":2}').hexdigest()
        assert rows == [
            (1, "wh-1", hashlib.sha256(b'{"id":1}').hexdigest(), "shopify:wh-1", "processed", 0),
            (2, "same-second", woo_sha, f"woocommerce:same-second:{woo_sha}", "pending", 0),
        ]
        # A repeat of a delivery stored before the upgrade is still recognised ...
        assert store_receipt(
            db, "woocommerce", "product.updated", "same-second", {}, b'{"id":2}'
        ) == (
            2,
            False,
        )
        assert store_receipt(db, "shopify", "orders/create", "wh-1", {}, b'{"id":1}') == (1, False)
        # ... and another body under the old WooCommerce id is a new delivery.
        assert store_receipt(
            db, "woocommerce", "product.updated", "same-second", {}, b'{"id":3}'
        ) == (
            3,
            True,
        )
    finally:
        db.close()


def test_dedupe_key_follows_each_platforms_delivery_semantics() -> None:
    assert dedupe_key("shopify", "wh-9", "aa") == dedupe_key("shopify", "wh-9", "bb")
    assert dedupe_key("woocommerce", "d", "aa") != dedupe_key("woocommerce", "d", "bb")
    assert dedupe_key("woocommerce", "d", "aa") == dedupe_key("woocommerce", "d", "aa")
