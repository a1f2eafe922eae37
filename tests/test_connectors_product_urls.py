"""Product and image URLs: only http(s) and site-relative ones enter the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.errors import PayloadError
from connectors.feeds.csv_reading import open_feed
from connectors.feeds.feed_formats import choose_format
from connectors.feeds.feed_records import FeedBatch, FeedTally
from connectors.product_urls import UnsafeUrl, checked_url, safe_url
from connectors.shopify import payloads as shopify_payloads
from connectors.woocommerce import payloads as woocommerce_payloads
from tests.woocommerce_platform import product as woo_product

SHOPIFY_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("https://shop.example/products/x", "https://shop.example/products/x"),
        ("  HTTP://shop.example/x  ", "HTTP://shop.example/x"),
        ("/products/x?variant=2", "/products/x?variant=2"),
        ("//cdn.example/a.jpg", "https://cdn.example/a.jpg"),
        ("", ""),
    ],
)
def test_http_and_site_relative_urls_are_kept(raw: str, stored: str) -> None:
    assert checked_url(raw, "url") == stored == safe_url(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://files.example/x",
        "http:no-host",
        "/\\evil.example/x",
        "products/x",  # relative to what? not site-relative
        "https://[bad/x",
    ],
)
def test_other_urls_are_refused(raw: str) -> None:
    with pytest.raises(UnsafeUrl, match="image_url"):
        checked_url(raw, "image_url")
    assert safe_url(raw) == ""


def _parse(path: Path) -> tuple[FeedBatch, FeedTally]:
    tally, merged = FeedTally(), FeedBatch()
    with open_feed(path) as feed:
        for batch in choose_format("products", feed.header).parse(feed, tally, 100):
            merged.products.extend(batch.products)
    return merged, tally


def test_canonical_csv_rejects_unsafe_urls_by_line(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,title,price,image_url,url\n"
        "p1,Good,10,https://cdn.example/p1.jpg,/products/p1\n"
        "p2,Evil link,10,,javascript:alert(1)\n"
        '"p3",Evil image,10,"data:image/svg+xml,<svg onload=alert(1)>",/products/p3\n'
        "p4,No image,10,,https://shop.example/p4\n"
    )
    batch, tally = _parse(path)
    assert [(p["product_id"], p["image_url"], p["url"]) for p in batch.products] == [
        ("p1", "https://cdn.example/p1.jpg", "/products/p1"),
        ("p4", "", "https://shop.example/p4"),
    ]
    assert tally.first_rejections == [
        "line 3: url 'javascript:alert(1)' is not an http(s) or site-relative URL",
        "line 4: image_url 'data:image/svg+xml,<svg onload=alert(1)>' is not an http(s) or "
        "site-relative URL",
    ]


def test_shopify_and_woocommerce_csv_reject_unsafe_images(tmp_path: Path) -> None:
    shopify = tmp_path / "shopify.csv"
    shopify.write_text(
        "Handle,Title,Variant Price,Image Src\n"
        "mug,Mug,12,javascript:alert(1)\n"
        "hat,Hat,9,https://cdn.example/hat.jpg\n"
    )
    batch, tally = _parse(shopify)
    assert [p["product_id"] for p in batch.products] == ["hat"]
    assert tally.first_rejections == [
        "line 2: Image Src 'javascript:alert(1)' is not an http(s) or site-relative URL"
    ]
    woo = tmp_path / "woo.csv"
    woo.write_text(
        "ID,Type,SKU,Name,Published,Regular price,Images\n"
        '1,simple,a,Tee,1,10,"data:image/png;base64,AAAA, https://x.test/b.jpg"\n'
        "2,simple,b,Cap,1,5,https://x.test/cap.jpg\n"
    )
    batch, tally = _parse(woo)
    assert [p["product_id"] for p in batch.products] == ["2"]
    assert tally.rows_rejected == 1 and tally.first_rejections[0].startswith("line 2: Images ")


def _shopify_product() -> dict[str, Any]:
    import json

    return json.loads((SHOPIFY_FIXTURES / "products_create.json").read_text())


def test_platform_payloads_refuse_unsafe_urls() -> None:
    evil_link = {**woo_product(1), "permalink": "javascript:alert(1)"}
    with pytest.raises(PayloadError, match=r"product\.permalink 'javascript:alert\(1\)'"):
        woocommerce_payloads.product_record(evil_link)
    evil_image = woo_product(2)
    evil_image["images"] = [{"id": 1, "src": "data:image/svg+xml,<svg onload=alert(1)>"}]
    with pytest.raises(PayloadError, match=r"product\.images\[0\]\.src 'data:"):
        woocommerce_payloads.product_record(evil_image)
    no_image = {**woo_product(3), "images": []}
    assert woocommerce_payloads.product_record(no_image)["image_url"] == ""
    shopify = _shopify_product()
    shopify["image"] = {"src": "javascript:alert(1)"}
    with pytest.raises(PayloadError, match=r"product\.image\.src 'javascript:"):
        shopify_payloads.product_record(shopify, "test-shop.myshopify.com")
