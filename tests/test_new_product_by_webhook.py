"""A product created by a Shopify webhook after the last training is served on its
look-alikes' evidence from the next request: its page gets what shoppers buy with the product
it resembles, and says so, with no retrain."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from config import Settings
from connectors.signatures import sign_body
from plugin import create_app
from storage.db import open_shop_db

SECRET = "new-product-secret"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "shopify" / "products_create.json"


def test_a_product_created_by_webhook_borrows_its_lookalikes_pairs(
    trained_settings: Settings,
) -> None:
    settings = dataclasses.replace(trained_settings, shopify_api_secret=SECRET, redis_url="")
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        _, title, category = db.execute(
            "SELECT l.product_id, p.title, p.category FROM order_lines l JOIN products p "
            "USING (product_id) GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    product = json.loads(FIXTURE.read_text())
    product.update(id=98765, title=f"{title} Deluxe", product_type=category, handle="deluxe")
    for variant in product["variants"]:
        variant.update(product_id=98765, inventory_quantity=7)
    body = json.dumps(product).encode()
    client = create_app(settings, {"TESTING": True}).test_client()
    answer = client.get(
        "/api/v1/recommendations?shop=demo&context=product&product_id=98765&limit=8"
    ).get_json()
    before = [item["reason"] for item in answer["items"]]
    assert all(r.startswith(("Best seller", "Popular", "Trending", "Latest")) for r in before)
    delivered = client.post(
        "/webhooks/shopify",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": "products/create",
            "X-Shopify-Shop-Domain": "demo.myshopify.com",
            "X-Shopify-Webhook-Id": "new-product-1",
            "X-Shopify-Hmac-Sha256": sign_body(SECRET, body),
        },
    )
    assert delivered.status_code == 200, delivered.get_json()
    items = client.get(
        "/api/v1/recommendations?shop=demo&context=product&product_id=98765&limit=8"
    ).get_json()["items"]
    reasons = [item["reason"] for item in items]
    assert len(items) >= 4 and "98765" not in [item["product_id"] for item in items]
    assert any(r.endswith(", a similar product") for r in reasons), reasons
