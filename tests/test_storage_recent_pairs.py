"""The counts the recent-pairs test reads, on both store backends: partners of the anchor in
new orders (with a floor), and how many new orders hold each product."""

from __future__ import annotations

import sqlite_utils

from storage.orders import (
    co_purchased_since,
    orders_holding_any_since,
    orders_holding_since,
    upsert_order_lines,
)

TRAINED = "2026-03-01T00:00:00"


def _seed(db: sqlite_utils.Database) -> None:
    baskets = {
        "old": ["A", "B"],  # before the training: not counted
        "1": ["A", "B", "C"],
        "2": ["A", "B"],
        "3": ["A", "C", "D"],
        "4": ["B", "D"],
    }
    lines = []
    for order_id, items in baskets.items():
        at = "2026-02-01T10:00:00" if order_id == "old" else "2026-03-02T10:00:00"
        for pid in items:
            lines.append((order_id, f"{pid}#{order_id}", pid, "c1", at, 1, 2.0))
    upsert_order_lines(db, lines)


def test_partners_since_training_with_a_floor(shop_db: sqlite_utils.Database) -> None:
    _seed(shop_db)
    assert co_purchased_since(shop_db, ["A"], TRAINED) == [("B", 2), ("C", 2), ("D", 1)]
    assert co_purchased_since(shop_db, ["A"], TRAINED, min_orders=2) == [("B", 2), ("C", 2)]
    assert co_purchased_since(shop_db, ["A"], TRAINED, limit=1, min_orders=2) == [("B", 2)]


def test_orders_holding_products_since_training(shop_db: sqlite_utils.Database) -> None:
    _seed(shop_db)
    total, holding = orders_holding_since(shop_db, TRAINED, ["A", "B", "Z"])
    assert (total, holding) == (4, {"A": 3, "B": 3})
    assert orders_holding_any_since(shop_db, TRAINED, ["C", "D"]) == 3
