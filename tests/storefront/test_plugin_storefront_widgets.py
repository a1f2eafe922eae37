"""The widget routes: the HTML fragment (escaping, safe links, harmless errors) and widget.js.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
import sqlite_utils
from flask.testing import FlaskClient
from storefront_client import (
    NASTY_TITLE,
    SHOP,
    ask,
    ids,
)

from storage.catalog import upsert_products
from storage.shop_settings import set_shop_setting


def test_titles_are_exact_in_json_and_escaped_in_html(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    target = ids(ask(client, product_id=anchor, limit=3))[0]
    upsert_products(db, [{"product_id": target, "title": NASTY_TITLE}])
    items = ask(client, product_id=anchor, limit=3).get_json()["items"]
    assert items[0]["product_id"] == target and items[0]["title"] == NASTY_TITLE
    response = client.get(
        "/api/v1/widgets/product", query_string={"shop": SHOP, "product_id": anchor, "limit": 3}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; &#39;single&#39;" in html
    assert html.count('class="shoprec-card"') == 3
    assert re.search(r"shoprec_rid=[0-9a-f]{32}&amp;", html)
    assert "shoprec_slot=frequently_bought_together" in html and "shoprec_pos=1" in html


def test_unsafe_urls_never_become_links(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    target = ids(ask(client, product_id=anchor, limit=2))[0]
    upsert_products(
        db,
        [
            {
                "product_id": target,
                "url": "javascript:alert(1)",
                "image_url": "data:image/svg+xml,<svg onload=alert(1)>",
            }
        ],
    )
    html = client.get(
        "/api/v1/widgets/product", query_string={"shop": SHOP, "product_id": anchor, "limit": 2}
    ).get_data(as_text=True)
    assert "javascript:" not in html and "data:image" not in html


def test_json_api_never_returns_unsafe_urls_stored_before(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    # Rows stored before imports refused such URLs: serving checks again.
    target = ids(ask(client, product_id=anchor, limit=2))[0]
    upsert_products(
        db,
        [
            {
                "product_id": target,
                "url": " JavaScript:alert(1)",
                "image_url": "data:image/svg+xml,<svg onload=alert(1)>",
            }
        ],
    )
    items = ask(client, product_id=anchor, limit=2).get_json()["items"]
    assert (items[0]["product_id"], items[0]["url"], items[0]["image_url"]) == (target, "", "")
    assert items[1]["url"].startswith("/") and items[1]["image_url"]


def test_fragment_card_without_image_has_a_placeholder(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    target = ids(ask(client, product_id=anchor, limit=2))[0]
    upsert_products(db, [{"product_id": target, "image_url": ""}])
    html = client.get(
        "/api/v1/widgets/product", query_string={"shop": SHOP, "product_id": anchor, "limit": 2}
    ).get_data(as_text=True)
    first, second = html.split('class="shoprec-card"')[1:3]
    assert "<img" not in first and 'class="shoprec-img shoprec-noimg"' in first
    assert 'src=""' not in html and "<img" in second


def test_widget_bad_input_is_a_harmless_fragment(client: FlaskClient) -> None:
    response = client.get("/api/v1/widgets/product", query_string={"shop": SHOP, "limit": "abc"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert text.strip().startswith("<!--") and text.strip().endswith("-->")


def test_widget_script_is_served_and_small(client: FlaskClient) -> None:
    for url in ("/static/widget.js", "/api/v1/widget.js"):
        response = client.get(url)
        assert response.status_code == 200
        assert "javascript" in response.mimetype
        body = response.get_data()
        assert b"data-shoprec" in body or b"[data-shoprec]" in body
        assert len(gzip.compress(body)) < 8 * 1024
        response.close()
    source = (Path(__file__).resolve().parents[2] / "plugin" / "static" / "widget.js").read_text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source


def test_owner_titles_and_format_apply_on_the_next_request(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    query = {"product_id": anchor, "limit": 3}
    before = ask(client, **query).get_json()["widget"]
    assert before == {"title": "Frequently bought together", "format": "scroll"}
    set_shop_setting(db, "slot_titles", {"frequently_bought_together": NASTY_TITLE}, "owner")
    set_shop_setting(db, "widget_format", "carousel", "owner")
    assert ask(client, **query).get_json()["widget"] == {
        "title": NASTY_TITLE,
        "format": "carousel",
    }
    html = client.get("/api/v1/widgets/product", query_string={"shop": SHOP, **query}).get_data(
        as_text=True
    )
    assert 'class="shoprec shoprec-carousel"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    grid = client.get(
        "/api/v1/widgets/product", query_string={"shop": SHOP, "format": "grid", **query}
    ).get_data(as_text=True)
    assert 'class="shoprec shoprec-grid"' in grid  # the page's own choice wins


def test_unusable_display_settings_fall_back_to_the_defaults(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    set_shop_setting(db, "slot_titles", {"similar": 42, "nope": "x", "also_viewed": " Hi "}, "x")
    set_shop_setting(db, "widget_format", "marquee", "x")
    body = ask(client, product_id=anchor, slot="also_viewed").get_json()
    assert body["widget"] == {"title": "Hi", "format": "scroll"}
    similar = ask(client, product_id=anchor, slot="similar").get_json()
    assert similar["widget"]["title"] == "Similar products"
    assert "'marquee' is not one of" in caplog.text and "slot_titles.similar" in caplog.text
