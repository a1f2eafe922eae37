"""What makes a webhook delivery a duplicate, per platform; empty and over-nested bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from config import Settings
from connectors.signatures import sign_body
from plugin import create_app
from storage.db import open_shop_db
from tests.test_plugin_webhooks import (
    SECRET,
    SHOP,
    WOO_SECRET,
    WOO_SHOP,
    fixture_bytes,
    make_settings,
    post_shopify,
)
from tests.woocommerce_platform import product

Rows = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, shopify_api_secret=SECRET)


@pytest.fixture
def client(app_settings: Settings) -> FlaskClient:
    return create_app(app_settings, {"TESTING": True}).test_client()


@pytest.fixture
def shop_rows(app_settings: Settings) -> Rows:
    def rows(sql: str, shop: str = SHOP) -> list[tuple[Any, ...]]:
        db = open_shop_db(app_settings.data_dir, shop, create=False)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    return rows


def post_woo(client: FlaskClient, topic: str, body: bytes, delivery_id: str) -> Any:
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Signature": sign_body(WOO_SECRET, body),
        "User-Agent": "WooCommerce/7.8.2 Hookshot (WordPress/6.2.2)",
    }
    return client.post(
        f"/webhooks/woocommerce/{WOO_SHOP}",
        data=body,
        headers=headers,
        content_type="application/json",
    )


def woo_stock_update(n: int, stock: int) -> bytes:
    """A product.updated body of a stock-managed product, as WooCommerce sends it."""
    item = {**product(n, modified="2026-12-04T10:00:00"), "manage_stock": True}
    item["stock_quantity"] = stock
    return json.dumps(item, separators=(",", ":")).encode()


def test_woo_deliveries_sharing_an_id_in_one_second_are_all_applied(
    client: FlaskClient, shop_rows: Rows
) -> None:
    # One order with two stock-managed products: two product.updated deliveries, one id.
    same_second_id = "8c4f2a5e0b1d3c7f9a6e2d4b1c3a5f7e"
    first = post_woo(client, "product.updated", woo_stock_update(1, 4), same_second_id)
    second = post_woo(client, "product.updated", woo_stock_update(2, 9), same_second_id)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["duplicate"] is False
    assert first.get_json()["receipt_id"] != second.get_json()["receipt_id"]
    assert shop_rows("SELECT product_id, inventory FROM products ORDER BY 1", WOO_SHOP) == [
        ("101", 4),
        ("102", 9),
    ]
    assert shop_rows("SELECT status, count(*) FROM webhook_receipts GROUP BY 1", WOO_SHOP) == [
        ("processed", 2)
    ]


def test_woo_same_id_and_same_body_is_one_delivery(client: FlaskClient, shop_rows: Rows) -> None:
    body = woo_stock_update(1, 4)
    first = post_woo(client, "product.updated", body, "d1")
    again = post_woo(client, "product.updated", body, "d1")
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert again.get_json()["receipt_id"] == first.get_json()["receipt_id"]
    assert shop_rows("SELECT count(*) FROM webhook_receipts", WOO_SHOP) == [(1,)]


def test_shopify_retry_with_the_same_webhook_id_is_a_duplicate_whatever_the_body(
    client: FlaskClient, shop_rows: Rows
) -> None:
    body = fixture_bytes("orders_create.json")
    post_shopify(client, "orders/create", body, webhook_id="retry-1")
    again = post_shopify(client, "orders/create", body + b"\n", webhook_id="retry-1")
    assert again.get_json()["duplicate"] is True
    assert shop_rows("SELECT count(*) FROM webhook_receipts") == [(1,)]


def test_signed_empty_body_is_400_and_nothing_is_stored(
    client: FlaskClient, shop_rows: Rows
) -> None:
    shopify = post_shopify(client, "orders/create", b"")
    woo = post_woo(client, "order.created", b"  \n", "e1")
    for response in (shopify, woo):
        assert response.status_code == 400
        assert response.get_json()["code"] == "empty_body"
        assert response.get_json()["status"] == 400
    assert shop_rows("SELECT count(*) FROM webhook_receipts") == [(0,)]
    assert shop_rows("SELECT count(*) FROM webhook_receipts", WOO_SHOP) == [(0,)]


def test_woo_ping_still_answers_200_without_a_signature(
    client: FlaskClient, shop_rows: Rows
) -> None:
    response = client.post(
        f"/webhooks/woocommerce/{WOO_SHOP}",
        data=b"webhook_id=7",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response.get_json()["ping"] is True
    assert shop_rows("SELECT count(*) FROM webhook_receipts", WOO_SHOP) == [(0,)]


def test_signed_body_of_deeply_nested_arrays_is_rejected_with_its_reason(
    client: FlaskClient, shop_rows: Rows
) -> None:
    response = post_shopify(client, "orders/create", b"[" * 3000, webhook_id="deep")
    assert response.status_code == 200
    [(status, error)] = shop_rows("SELECT status, error FROM webhook_receipts")
    assert status == "rejected"
    assert "nests JSON arrays/objects too deeply" in error
