"""Shopify and WooCommerce payloads mapped to canonical store records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import PayloadError
from connectors.feeds.feed_records import ORDER_LINE_FIELDS
from connectors.payload_fields import parse_json_object, product_deleted_batch
from connectors.shopify import payloads as shopify_payloads
from connectors.woocommerce import payloads as woocommerce_payloads
from storage.catalog import PRODUCT_COLUMNS
from storage.customers import CUSTOMER_COLUMNS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify"
WOO_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "platform_samples" / "woocommerce"


def shopify_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def woo_sample(name: str) -> dict[str, Any]:
    """A real WooCommerce 7.8.2 capture under ../shared, or skip saying it is absent."""
    path = WOO_SAMPLES / name
    if not path.is_file():
        pytest.skip(f"WooCommerce sample {path} is absent (it lives beside the checkout)")
    return json.loads(path.read_text())


def _lines(batch: Any) -> list[dict[str, Any]]:
    return [dict(zip(ORDER_LINE_FIELDS, line, strict=True)) for line in batch.order_lines]


# --- Shopify -----------------------------------------------------------------------------


def test_shopify_order_maps_header_lines_and_customer() -> None:
    batch = shopify_payloads.order_batch(shopify_fixture("orders_create.json"))
    assert batch.orders == [
        {
            "order_id": "450789469",
            "customer_id": "207119551",
            "created_at": "2026-05-01T16:00:00",  # -04:00 converted to UTC
            "status": "paid",
            "country": "US",
            "source": "shopify",
        }
    ]
    lines = _lines(batch)
    # The custom "Gift wrapping" line (product_id null) is not a product line.
    assert [(x["line_key"], x["quantity"], x["unit_price"]) for x in lines] == [
        ("632910392#1", 1, 199.0),
        ("921728736#1", 2, 19.5),
    ]
    assert {x["customer_id"] for x in lines} == {"207119551"}
    assert batch.order_customers[0]["email"] == "buyer@example.test"
    assert set(batch.order_customers[0]) <= set(CUSTOMER_COLUMNS)


def test_shopify_refund_line_items_become_negative_lines() -> None:
    batch = shopify_payloads.order_batch(shopify_fixture("orders_updated_partial_refund.json"))
    assert batch.orders[0]["status"] == "paid"
    assert [(x["line_key"], x["quantity"]) for x in _lines(batch)] == [
        ("632910392#1", 2),
        ("921728736#1", 1),
        ("921728736#2", -1),
    ]


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"cancelled_at": "2026-05-04T11:00:00Z"}, "cancelled"),
        ({"financial_status": "voided"}, "cancelled"),
        ({"financial_status": "refunded"}, "refunded"),
        ({"financial_status": "pending"}, "pending"),
        ({"financial_status": "authorized"}, "paid"),
    ],
)
def test_shopify_order_status(changes: dict[str, Any], status: str) -> None:
    payload = {**shopify_fixture("orders_create.json"), **changes}
    assert shopify_payloads.order_batch(payload).orders[0]["status"] == status


def test_shopify_product_maps_to_product_columns() -> None:
    record = shopify_payloads.product_record(
        shopify_fixture("products_update.json"), "test-shop.myshopify.com"
    )
    assert set(record) <= set(PRODUCT_COLUMNS)
    assert record["product_id"] == "632910392"
    assert record["price"] == 199.0 and record["compare_at_price"] == 249.0
    assert record["inventory"] == 30
    assert record["tags"] == "Emotive|Flash Memory|MP3"
    assert record["category"] == "Cult Products"
    assert record["url"] == "https://test-shop.myshopify.com/products/ipod-nano"
    assert record["image_url"].endswith("ipod-nano.png")
    assert record["created_at"] == "2026-01-01T05:00:00"


def test_shopify_product_without_type_takes_first_tag_as_category() -> None:
    record = shopify_payloads.product_record(shopify_fixture("products_create.json"))
    assert record["category"] == "MP3" and record["image_url"] == "" and "url" not in record


def test_shopify_product_delete_archives() -> None:
    batch = product_deleted_batch(shopify_fixture("products_delete.json"))
    assert batch.products == [{"product_id": "632910392", "status": "archived"}]


def test_shopify_customer_consent_and_country() -> None:
    record = shopify_payloads.customer_batch(shopify_fixture("customers_create.json")).customers[0]
    assert record == {
        "customer_id": "706405506",
        "first_name": "Test",
        "last_name": "Customer",
        "email": "customer@example.test",
        "country": "DE",
        "accepts_marketing": 1,
        "created_at": "2026-03-01T06:00:00",
    }


def test_shopify_inventory_level_is_keyed_by_inventory_item() -> None:
    level = shopify_payloads.inventory_level(shopify_fixture("inventory_levels_update.json"))
    assert (level.inventory_item_id, level.location_id, level.available) == (
        "808950810",
        "905684977",
        6,
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"created_at": "2026-05-01T00:00:00Z"}, r"order\.id is missing"),
        ({"id": 1}, r"order has none of \['created_at'\]"),
        ({"id": 1, "created_at": "yesterday"}, r"order\.created_at 'yesterday' is not an ISO"),
        ({"id": 1, "created_at": "2026-05-01", "line_items": {}}, r"line_items must be a list"),
        (
            {"id": 1, "created_at": "2026-05-01", "line_items": [{"product_id": 5, "price": "1"}]},
            r"line_items\[0\]\.quantity is missing",
        ),
        (
            {
                "id": 1,
                "created_at": "2026-05-01",
                "line_items": [{"product_id": 5, "quantity": 1, "price": "abc"}],
            },
            r"line_items\[0\]\.price 'abc' is not a number",
        ),
        ({"id": 1, "created_at": "2026-05-01", "financial_status": "odd"}, r"financial_status"),
    ],
)
def test_malformed_shopify_orders_raise_precise_errors(
    payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(PayloadError, match=message):
        shopify_payloads.order_batch(payload)


def test_bad_product_status_is_named() -> None:
    with pytest.raises(PayloadError, match=r"product\.status 'gone'"):
        shopify_payloads.product_record({"id": 3, "title": "x", "status": "gone"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body is empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, got a JSON list"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_parse_json_object_errors(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_json_object(body)


# --- WooCommerce (real 7.8.2 captures) --------------------------------------------------


def test_real_woo_delivery_parses_to_an_order_with_its_lines() -> None:
    delivery = woo_sample("webhook_delivery_order_created.json")
    batch = woocommerce_payloads.order_batch(parse_json_object(delivery["raw_body"].encode()))
    assert batch.orders == [
        {
            "order_id": "18",
            "customer_id": "3",
            "created_at": "2026-11-22T20:13:52",
            "status": "paid",  # 'processing': paid, awaiting fulfilment
            "country": "US",
            "source": "woocommerce",
        }
    ]
    assert [
        (x["line_key"], x["product_id"], x["quantity"], x["unit_price"]) for x in _lines(batch)
    ] == [("10#1", "10", 1, 14.5), ("12#1", "12", 1, 49.9), ("14#1", "14", 3, 5.5)]
    assert batch.order_customers[0]["customer_id"] == "3"


def test_real_woo_product_maps_sale_price_and_category() -> None:
    record = woocommerce_payloads.product_record(woo_sample("product.json"))
    assert set(record) <= set(PRODUCT_COLUMNS)
    assert (record["product_id"], record["title"]) == ("11", "Colombia Huila 250g")
    assert (record["price"], record["compare_at_price"]) == (10.0, 12.0)
    assert record["inventory"] is None  # stock not managed, in stock
    assert (record["status"], record["category"], record["tags"]) == (
        "active",
        "Coffee",
        "medium-roast",
    )


def test_real_woo_customer_maps() -> None:
    record = woocommerce_payloads.customer_batch(woo_sample("customer.json")).customers[0]
    assert set(record) <= set(CUSTOMER_COLUMNS)
    assert (record["customer_id"], record["email"], record["country"]) == (
        "2",
        "alice@example.test",
        "DE",
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("completed", "paid"),
        ("cancelled", "cancelled"),
        ("refunded", "refunded"),
        ("on-hold", "pending"),
        ("failed", "cancelled"),
    ],
)
def test_woo_order_status(status: str, expected: str) -> None:
    payload = {**woo_sample("order.json"), "status": status}
    assert woocommerce_payloads.order_batch(payload).orders[0]["status"] == expected


def test_woo_guest_order_has_no_customer() -> None:
    payload = {**woo_sample("order.json"), "customer_id": 0}
    batch = woocommerce_payloads.order_batch(payload)
    assert batch.orders[0]["customer_id"] is None and batch.order_customers == []
    assert {line[3] for line in batch.order_lines} == {None}


def test_woo_unknown_order_status_is_named() -> None:
    with pytest.raises(PayloadError, match=r"order\.status 'weird'"):
        woocommerce_payloads.order_batch(
            {"id": 1, "date_created_gmt": "2026-01-01T00:00:00", "status": "weird"}
        )


def test_woo_variation_gives_no_record_and_delete_archives() -> None:
    assert len(woocommerce_payloads.product_batch({"id": 40, "type": "variation"})) == 0
    batch = product_deleted_batch({"id": 11})
    assert batch.products == [{"product_id": "11", "status": "archived"}]


def test_woo_out_of_stock_unmanaged_product_has_zero_inventory() -> None:
    payload = {**woo_sample("product.json"), "stock_status": "outofstock"}
    assert woocommerce_payloads.product_record(payload)["inventory"] == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"line_items": [5]}, "order.line_items[0] must be an object"),
        ({"refunds": [{"refund_line_items": [3]}]},
         "order.refunds[0].refund_line_items[0] must be an object"),
        ({"refunds": ["x"]}, "order.refunds[0] must be an object"),
    ],
)  # fmt: skip
def test_non_object_list_elements_are_named_by_path(payload: dict, message: str) -> None:
    base = {"id": 1, "created_at": "2026-01-01T00:00:00Z"}
    with pytest.raises(PayloadError, match=re.escape(message)):
        shopify_payloads.order_batch({**base, **payload})
