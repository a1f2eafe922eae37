"""The demo storefront (blueprint 'demo') that `shoprec demo` serves.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import sqlite_utils
from flask.testing import FlaskClient
from storefront_client import (
    NASTY_TITLE,
)

from config import Settings, load_settings
from plugin import create_app
from plugin.storefront.demo import DEMO_SIGNS_CUSTOMERS
from plugin.storefront.shopper_identity import read_identity_config
from plugin.storefront.shopper_tokens import verify_shopper_token
from storage.catalog import upsert_products
from storage.db import open_shop_db


def test_demo_home_lists_categories_and_embeds_the_widget(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="tile"') >= 12 * 3
    assert 'data-shoprec="home"' in html and "/static/widget.js" in html
    assert 'data-format="carousel"' in html  # the home row shows the carousel format
    assert "/demo/product/p001" in html


def test_demo_product_page_has_three_placeholders(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    upsert_products(
        db,
        [
            {
                "product_id": "p001",
                "title": NASTY_TITLE,
                "description": "<p>Rich <b>crema</b></p><script>x()</script>",
            }
        ],
    )
    response = client.get("/demo/product/p001")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for slot in ("frequently_bought_together", "also_viewed", "similar"):
        assert f'data-slot="{slot}"' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "Rich crema" in html and "<b>crema" not in html
    assert client.get("/demo/product/nope").status_code == 404


def test_demo_cart_page(client: FlaskClient) -> None:
    html = client.get("/demo/cart?items=p001,p002,nope").get_data(as_text=True)
    assert 'data-product-ids="p001,p002"' in html
    assert html.count('data-shoprec="cart"') == 3
    assert "Your cart is empty" in client.get("/demo/cart").get_data(as_text=True)


def test_demo_category_images_are_svg(client: FlaskClient) -> None:
    response = client.get("/demo/static/img/home-decor.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and ">H</text>" in svg and "Home Decor" in svg
    assert client.get("/demo/static/img/..%2Fx.svg").status_code == 404


def test_demo_pages_without_a_shop_explain_what_to_run(tmp_path: Path) -> None:
    client = create_app(load_settings({}, data_dir=tmp_path / "empty")).test_client()
    response = client.get("/")
    assert response.status_code == 404 and "shoprec demo" in response.get_data(as_text=True)


def test_demo_signs_a_customer_only_under_shoprec_demo(settings: Settings) -> None:
    served = create_app(settings, {"TESTING": True}).test_client()
    page = served.get("/?customer=c0001").get_data(as_text=True)
    assert "c0001" not in page and "data-customer-token" not in page
    demo = create_app(settings, {"TESTING": True, DEMO_SIGNS_CUSTOMERS: True}).test_client()
    page = demo.get("/?customer=c0001").get_data(as_text=True)
    token = re.search(r'data-customer-token="([^"]+)"', page)
    assert token is not None
    db = open_shop_db(settings.data_dir, "demo", create=False)
    secret = read_identity_config(db).secret
    db.close()
    assert secret and verify_shopper_token(secret, "demo", token[1], time.time()) == "c0001"
