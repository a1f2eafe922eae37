"""Orders since training reach trending (and every popularity-weighted list) before a retrain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from config import Settings
from plugin import create_app
from serving import live_popularity
from serving.live_popularity import REFRESH_EVERY_S, LivePopularity
from storage.db import open_shop_db


def trending(client: Any) -> list[str]:
    answer = client.get("/api/v1/recommendations?shop=demo&context=home&slot=trending&limit=12")
    assert answer.status_code == 200, answer.get_json()
    return [item["product_id"] for item in answer.get_json()["items"]]


def sell(db: sqlite_utils.Database, product: str, orders: int, status: str = "paid") -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for n in range(orders):
        order = f"live-{product}-{status}-{n}"
        db.execute(
            "INSERT INTO orders (order_id, customer_id, created_at, status, updated_at) "
            "VALUES (?, NULL, ?, ?, ?)",
            (order, now, status, now),
        )
        db.execute(
            "INSERT INTO order_lines VALUES (?, ?, ?, NULL, ?, 1, 10.0)",
            (order, f"{product}#0", product, now),
        )
    db.conn.commit()


def a_quiet_product(db: sqlite_utils.Database, shown: list[str]) -> str:
    """An active, in-stock product with no sales in the last 30 days and not shown."""
    rows = db.execute(
        "SELECT p.product_id FROM products p WHERE p.status = 'active' "
        "AND (p.inventory IS NULL OR p.inventory > 20) AND p.product_id NOT IN "
        "(SELECT product_id FROM order_lines WHERE created_at > ?) ORDER BY p.product_id",
        ((datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S"),),
    ).fetchall()
    quiet = [r[0] for r in rows if r[0] not in shown]
    assert quiet, "the demo shop has no quiet product"
    return quiet[0]


def test_a_product_selling_now_trends_before_the_retrain(
    trained_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_popularity, "REFRESH_EVERY_S", 0.0)
    client = create_app(trained_settings, {"TESTING": True}).test_client()
    before = trending(client)
    db = open_shop_db(trained_settings.data_dir, "demo", create=False)
    try:
        target = a_quiet_product(db, before)
        sell(db, target, 3, status="cancelled")  # not purchases: nothing moves
        assert trending(client) == before
        sell(db, target, 12)
    finally:
        db.close()
    after = trending(client)
    assert target not in before and target in after[:3], (target, after)


def test_without_orders_since_training_the_models_are_served_as_trained(
    trained_settings: Settings,
) -> None:
    live = LivePopularity(lambda shop: Path(trained_settings.data_dir) / shop / "models")
    db = open_shop_db(trained_settings.data_dir, "demo", create=False)
    try:

        class Trained:
            popularity = type("P", (), {"can_advance": True})()

        trained = Trained()
        assert live.models(db, "demo", trained, live.stamp("demo", 1)) is trained
    finally:
        db.close()


def test_the_counts_move_at_most_every_refresh_interval() -> None:
    clock = [100.0]
    live = LivePopularity(lambda shop: Path("/nonexistent"), clock=lambda: clock[0])
    assert live.stamp("s", 5) == 5
    assert live.stamp("s", 6) == 5  # an order just after the last move waits
    clock[0] += REFRESH_EVERY_S
    assert live.stamp("s", 7) == 7
    assert live.stamp("other", 3) == 3  # per shop
