"""Format detection and the parsers: canonical, Shopify, WooCommerce, UCI Online Retail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shared_datasets import dataset_path

from connectors.errors import UnknownFeedFormat
from connectors.feeds.csv_reading import open_feed
from connectors.feeds.feed_formats import choose_format
from connectors.feeds.feed_records import ORDER_LINE_FIELDS, FeedBatch, FeedTally
from connectors.feeds.online_retail import is_product_code
from storage.orders import LINE_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures" / "csv"


def _parse(path: Path, kind: str, fmt: str = "auto") -> tuple[str, FeedBatch, FeedTally]:
    tally = FeedTally()
    merged = FeedBatch()
    with open_feed(path) as feed:
        chosen = choose_format(kind, feed.header, fmt)
        for batch in chosen.parse(feed, tally, 2):
            for name in ("products", "customers", "orders", "order_lines", "events"):
                getattr(merged, name).extend(getattr(batch, name))
    return chosen.name, merged, tally


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["product_id"]: r for r in records}


def test_order_line_fields_match_the_store() -> None:
    assert ORDER_LINE_FIELDS == LINE_COLUMNS


@pytest.mark.parametrize(
    ("fixture", "kind", "expected"),
    [
        ("orders_bad_rows.csv", "orders", "canonical"),
        ("products_latin1.csv", "products", "canonical"),
        ("events.csv", "events", "canonical"),
        ("shopify_products.csv", "products", "shopify"),
        ("woocommerce_products.csv", "products", "woocommerce"),
        ("online_retail_2010.csv", "orders", "online_retail"),
        ("online_retail_2009.csv", "orders", "online_retail"),
    ],
)
def test_format_is_detected_from_the_header(fixture: str, kind: str, expected: str) -> None:
    with open_feed(FIXTURES / fixture) as feed:
        assert choose_format(kind, feed.header).name == expected


def test_header_matching_nothing_names_the_expected_columns() -> None:
    with pytest.raises(UnknownFeedFormat) as err:
        choose_format("orders", ["date", "sku", "qty"])
    message = str(err.value)
    assert "canonical (order_id, created_at, product_id, quantity, unit_price)" in message
    assert "online_retail (InvoiceNo/Invoice, StockCode" in message
    assert "got columns: date, sku, qty" in message


def test_format_override_is_checked_against_the_header() -> None:
    header = ["product_id", "title", "price", "Handle", "Title", "Variant Price"]
    assert choose_format("products", header).name == "canonical"
    assert choose_format("products", header, "shopify").name == "shopify"
    with pytest.raises(UnknownFeedFormat, match=r"lacks the woocommerce products columns \['ID'"):
        choose_format("products", header, "woocommerce")
    with pytest.raises(UnknownFeedFormat, match="cannot carry events"):
        choose_format("events", header, "shopify")


def test_canonical_orders_reject_bad_rows_by_line() -> None:
    _, batch, tally = _parse(FIXTURES / "orders_bad_rows.csv", "orders")
    assert tally.rows_read == 9
    assert [r.split(":")[0] for r in tally.first_rejections] == [
        "line 5",
        "line 6",
        "line 7",
        "line 8",
    ]
    assert "created_at '2024-13-45T10:00:00'" in tally.first_rejections[0]
    assert "unit_price '-3.0' is negative" in tally.first_rejections[1]
    assert "product_id is empty" in tally.first_rejections[2]
    assert "not valid UTF-8" in tally.first_rejections[3]
    keys = [(line[0], line[1]) for line in batch.order_lines]
    assert keys == [
        ("1001", "p-café#1"),
        ("1001", "p2#1"),
        ("1002", "p1#1"),
        ("1001", "p2#2"),
        ("1007", "p1#1"),
    ]
    guest = [o for o in batch.orders if o["order_id"] == "1002"][0]
    assert guest["customer_id"] is None and guest["created_at"] == "2024-03-02T09:30:00"
    ret = batch.order_lines[-1]
    assert ret[4] == "2024-03-07T10:00:00" and ret[5] == -1  # +02:00 converted to UTC
    assert dict(tally.accepted) == {"purchases": 4, "returns": 1}


def test_canonical_products_and_events() -> None:
    _, batch, _ = _parse(FIXTURES / "products_utf8_bom.csv", "products")
    products = _by_id(batch.products)
    assert products["P1"]["tags"] == "hot|coffee" and products["P1"]["inventory"] == 4
    assert products["P2"]["status"] == "draft" and products["P2"]["inventory"] is None
    _, events, tally = _parse(FIXTURES / "events.csv", "events")
    assert [e["type"] for e in events.events] == ["view", "add_to_cart", "view", "view"]
    assert events.events[2]["customer_id"] is None and events.events[2]["session_id"] == "s2"
    assert tally.first_rejections == [
        "line 5: type 'purchase' is not one of "
        "['view', 'add_to_cart', 'impression', 'click', 'dismiss']"
    ]


def test_shopify_rows_fold_into_products() -> None:
    _, batch, tally = _parse(FIXTURES / "shopify_products.csv", "products")
    products = _by_id(batch.products)
    assert set(products) == {"linen-shirt", "wool-hat", "old-mug"}
    shirt = products["linen-shirt"]
    assert shirt["price"] == 45.0 and shirt["compare_at_price"] == 60.0
    assert shirt["inventory"] == 7 and shirt["category"] == "Shirts"
    assert shirt["tags"] == "summer|linen" and shirt["status"] == "active"
    assert shirt["description"].startswith("<p>Breathable linen.</p>\n<ul>")
    assert shirt["image_url"] == "https://cdn.example.com/linen-1.jpg"
    hat = products["wool-hat"]
    assert hat["status"] == "draft" and hat["category"] == "winter" and hat["inventory"] is None
    assert products["old-mug"]["status"] == "archived" and products["old-mug"]["inventory"] == 0
    assert tally.first_rejections == [
        "line 9: Variant Price 'abc' is not a number",
        "line 10: Handle is empty",
    ]
    assert tally.skipped["variant_or_image_rows"] == 2


def test_shopify_sample_exports() -> None:
    for name, handles in (("apparel.csv", 20), ("home-and-garden.csv", 20), ("jewelery.csv", 20)):
        _, batch, tally = _parse(dataset_path("shopify_product_csvs", name), "products")
        assert len(batch.products) == handles, name
        assert tally.rows_rejected == 0, tally.first_rejections
        assert all(p["price"] > 0 and p["title"] for p in batch.products)
    pot = _by_id(
        _parse(dataset_path("shopify_product_csvs", "home-and-garden.csv"), "products")[1].products
    )["clay-plant-pot"]
    assert pot["price"] == 9.99 and pot["inventory"] == 4 and pot["category"] == "Outdoor"


def test_woocommerce_variations_fold_into_parents() -> None:
    _, batch, tally = _parse(FIXTURES / "woocommerce_products.csv", "products")
    products = _by_id(batch.products)
    assert set(products) == {"10", "20", "21"}
    tee = products["10"]
    assert tee["price"] == 15.0 and tee["inventory"] == 12
    assert (
        tee["category"] == "Clothing > Tshirts" and tee["image_url"] == "https://x.test/tee-1.jpg"
    )
    assert products["20"]["price"] == 18.0 and products["20"]["compare_at_price"] == 20.0
    belt = products["21"]
    assert belt["price"] == 55.5 and belt["inventory"] == 0 and belt["status"] == "draft"
    assert belt["tags"] == "leather|brown"
    assert tally.first_rejections == [
        "line 9: Parent 'id:999' is not in the file",
        "line 8: Regular price and Sale price are both empty",
    ]
    assert tally.skipped == {"variations_folded": 2, "grouped_without_price": 1}


def test_woocommerce_sample_export() -> None:
    _, batch, tally = _parse(
        dataset_path("woocommerce_sample_products", "sample_products.csv"), "products"
    )
    products = _by_id(batch.products)
    assert len(products) == 17 and tally.rows_rejected == 0, tally.first_rejections
    assert tally.skipped["variations_folded"] == 7
    assert products["44"]["price"] == 15.0  # variable V-Neck: cheapest variation
    assert products["48"]["price"] == 18.0 and products["48"]["compare_at_price"] == 20.0


def test_online_retail_2010_layout_classifies_every_row() -> None:
    _, batch, tally = _parse(FIXTURES / "online_retail_2010.csv", "orders")
    assert tally.rows_read == 13
    assert dict(tally.accepted) == {"purchases": 5, "returns_cancellations": 1}
    assert dict(tally.skipped) == {"non_product": 3, "adjustments": 2}
    assert [r.split(":")[0] for r in tally.first_rejections] == ["line 13", "line 14"]
    orders = {o["order_id"]: o for o in batch.orders}
    assert set(orders) == {"536365", "536366", "C536379", "536416"}
    assert orders["C536379"]["status"] == "cancelled" and orders["536366"]["customer_id"] is None
    assert orders["536365"]["customer_id"] == "17850"
    keys = {(line[0], line[1]): line for line in batch.order_lines}
    assert keys[("536365", "85123A#2")][5] == 2
    assert keys[("C536379", "22556#1")][5] == -12
    lantern = _by_id(batch.products)["71053"]
    assert lantern == {"product_id": "71053", "title": "WHITE METAL LANTERN (NEW)", "price": 3.75}
    assert {c["customer_id"]: c["country"] for c in batch.customers} == {
        "17850": "United Kingdom",
        "14527": "United Kingdom",
        "13047": "France",
    }


def test_online_retail_2009_layout() -> None:
    _, batch, tally = _parse(FIXTURES / "online_retail_2009.csv", "orders")
    assert dict(tally.accepted) == {"purchases": 2, "returns_cancellations": 1}
    assert dict(tally.skipped) == {"non_product": 2, "adjustments": 1}
    assert batch.order_lines[0][4] == "2009-12-01T07:45:00"


@pytest.mark.parametrize(
    ("code", "product"),
    [
        ("85123A", True),
        ("22633", True),
        ("15056BL", True),
        ("POST", False),
        ("DOT", False),
        ("M", False),
        ("BANK CHARGES", False),
        ("C2", False),
        ("GIFT_0001_20", False),
        ("DCGSSBOY", False),
        ("DCGS0003", False),
        ("AMAZONFEE", False),
        ("1234", False),
    ],
)
def test_product_code_rule(code: str, product: bool) -> None:
    assert is_product_code(code) is product


def test_shopify_renamed_headers(tmp_path: Path) -> None:
    path = tmp_path / "new_export.csv"
    path.write_text(
        "URL handle,Title,Description,Vendor,Product category,Type,Tags,"
        "Published on online store,Status,SKU,Price,Compare-at price,Inventory quantity,"
        "Product image URL\n"
        "mug,Mug,<p>Big</p>,Acme,Home > Kitchen,,,TRUE,Draft,M1,12.5,15,3,https://x.test/m.jpg\n"
        "mug,,,,,,,,,M2,13,,2,\n"
    )
    name, batch, tally = _parse(path, "products")
    assert name == "shopify" and tally.rows_rejected == 0
    assert batch.products == [
        {
            "product_id": "mug",
            "title": "Mug",
            "description": "<p>Big</p>",
            "vendor": "Acme",
            "category": "Home > Kitchen",
            "tags": "",
            "status": "draft",
            "price": 12.5,
            "compare_at_price": 15.0,
            "inventory": 5,
            "image_url": "https://x.test/m.jpg",
        }
    ]
