"""The chaos run's own parts behave like the platforms they stand in for (fast, no processes):
signed deliveries verify, WooCommerce ids repeat within a second, and the stand-in Klaviyo
throttles, fails, accepts, and records a key once however often it is re-sent."""

from __future__ import annotations

import json

import pytest
import requests

from connectors.shopify.payloads import order_update as shopify_order_update
from connectors.signatures import verify_signature
from connectors.woocommerce.payloads import order_update as woo_order_update
from tests.chaos import platforms
from tests.chaos.fake_klaviyo import FakeKlaviyo
from tests.chaos.shop import PRODUCTS

pytestmark = pytest.mark.chaos


def test_deliveries_are_signed_and_parse_to_the_lines_they_claim() -> None:
    shopify = platforms.shopify_order(4, "chaos-shop.myshopify.com", PRODUCTS)
    woo = platforms.woocommerce_order(4, "chaos-shop", PRODUCTS, second=1_796_000_001)
    verify_signature(
        platforms.SHOPIFY_SECRET, shopify.body, shopify.headers["X-Shopify-Hmac-Sha256"]
    )
    verify_signature(platforms.WOO_SECRET, woo.body, woo.headers["X-WC-Webhook-Signature"])
    for delivery, mapper in ((shopify, shopify_order_update), (woo, woo_order_update)):
        batch = mapper(json.loads(delivery.body)).batch
        assert [o["order_id"] for o in batch.orders] == [delivery.order_id]
        assert [(line[2], line[5]) for line in batch.order_lines] == list(delivery.lines)


def test_woocommerce_repeats_a_delivery_id_within_one_second_only() -> None:
    first, second, later = (
        platforms.woocommerce_order(n, "chaos-shop", PRODUCTS, second=s)
        for n, s in ((0, 10), (1, 10), (2, 11))
    )
    assert first.body != second.body
    ids = [d.headers["X-WC-Webhook-Delivery-ID"] for d in (first, second, later)]
    assert ids[0] == ids[1] != ids[2] and len(ids[0]) == 32


def _event(key: str, email: str = "a@example.test") -> dict:
    return {
        "data": {
            "type": "event",
            "attributes": {
                "unique_id": key,
                "properties": {"Campaign": "post_purchase"},
                "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
            },
        }
    }


def test_the_stand_in_klaviyo_throttles_fails_accepts_and_records_a_key_once() -> None:
    fake = FakeKlaviyo("pk_test")
    fake.start()
    headers = {"Authorization": "Klaviyo-API-Key pk_test", "revision": "2026-07-15"}
    try:
        with requests.Session() as session:
            answers = [
                session.post(
                    f"{fake.url}/api/events", json=_event("k1"), headers=headers, timeout=5
                )
                for _ in range(4)
            ]
            wrong_key = session.post(
                f"{fake.url}/api/events", json=_event("k2"), headers={"revision": "x"}, timeout=5
            )
    finally:
        fake.stop()
    assert [a.status_code for a in answers] == [429, 500, 202, 202]
    assert answers[0].headers["Retry-After"] == "1"
    assert wrong_key.status_code == 400 and fake.ledger.refused == 1
    assert fake.ledger.accepted == {"k1": 1} and fake.ledger.repeats == {"k1": 1}
    assert fake.ledger.by_profile == {("a@example.test", "post_purchase"): {"k1"}}
