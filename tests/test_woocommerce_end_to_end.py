"""The WooCommerce story end to end: connect (webhooks registered with a per-shop
secret), backfill by pages of 100 through a 429 and a 502, train, then an order.created
delivery with WooCommerce's own headers that changes the next FBT answer (after a retrain:
FBT pairs are mined at training time), a forged one refused and a replay applied once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import responses

from config import load_settings
from connectors.signatures import sign_body
from plugin import create_app
from storage.db import open_shop_db
from storage.shop_settings import get_shop_setting
from tests.woocommerce_platform import STORE, FakeWooCommerce, customer, order, product
from worker.sync_run import run_shop_sync
from worker.training import train_shop
from worker.woocommerce_sync import WEBHOOK_SECRET_KEY, connect_woocommerce

SHOP = "coffee"
A, B, C = 0, 1, 2


def baskets() -> list[list[int]]:
    out = [[A, B]] * 6 + [[A, C]] * 5
    filler = [[3, 4], [5, 6], [7, 8], [9, 3], [4, 5], [6, 7], [8, 9]]
    return out + [filler[i % len(filler)] for i in range(29)]


def headers(body: bytes, secret: str, delivery: str) -> dict[str, str]:
    """The headers of a real delivery (platform_samples/woocommerce), re-signed."""
    return {
        "User-Agent": "WooCommerce/7.8.2 Hookshot (WordPress/6.1.9)",
        "X-WC-Webhook-Source": f"{STORE}/",
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "created",
        "X-WC-Webhook-Signature": sign_body(secret, body),
        "X-WC-Webhook-ID": "1",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


def fbt_ids(client: Any) -> list[str]:
    response = client.get(
        f"/api/v1/recommendations?shop={SHOP}&context=product&product_id={100 + A}&limit=3"
    )
    assert response.status_code == 200, response.get_json()
    return [item["product_id"] for item in response.get_json()["items"]]


def connected_shop(tmp_path: Path, n_products: int) -> tuple[Any, str]:
    """A shop connected to the stand-in store and synced: (settings, webhook secret)."""
    settings = load_settings({}, data_dir=tmp_path / "data", public_url="https://recs.example.test")
    fake = FakeWooCommerce(
        products=[product(n) for n in range(n_products)],
        customers=[customer(n) for n in range(5)],
        orders=[order(i, b, customer_n=i % 5) for i, b in enumerate(baskets())],
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        db = open_shop_db(settings.data_dir, SHOP)
        try:
            connect_woocommerce(settings, db, SHOP, STORE, "ck_live", "cs_live")
            secret = str(get_shop_setting(db, WEBHOOK_SECRET_KEY))
        finally:
            db.close()
        assert run_shop_sync(settings, SHOP, "woocommerce", sleep=lambda _s: None)["status"] == "ok"
    return settings, secret


def test_connect_backfill_webhook_changes_fbt(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", public_url="https://recs.example.test")
    fake = FakeWooCommerce(
        products=[product(n) for n in range(120)],  # 2 pages of 100
        customers=[customer(n) for n in range(5)],
        orders=[order(i, b, customer_n=i % 5) for i, b in enumerate(baskets())],
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        db = open_shop_db(settings.data_dir, SHOP)
        try:
            connect_woocommerce(settings, db, SHOP, STORE, "ck_live", "cs_live")
            secret = str(get_shop_setting(db, WEBHOOK_SECRET_KEY))
        finally:
            db.close()
        fake.faults.extend(["ok", "429", "ok", "ok", "502"])  # products p2 429, orders p1 502
        waits: list[float] = []
        report = run_shop_sync(settings, SHOP, "woocommerce", sleep=waits.append)
    assert report["status"] == "ok"
    assert [r["records"] for r in report["resources"]] == [120, 5, 40]
    assert [r["pages"] for r in report["resources"]] == [2, 1, 1]
    assert 3.0 in waits and len(waits) == 2

    client = create_app(settings, {"TESTING": True}).test_client()
    train_shop(settings, SHOP)
    before = fbt_ids(client)
    assert before[:2] == [str(100 + B), str(100 + C)], before

    body = json.dumps(order(99, [A, C], customer_n=1)).encode()
    forged = client.post(
        f"/webhooks/woocommerce/{SHOP}", data=body, headers=headers(body, "guess", "d0")
    )
    assert forged.status_code == 401
    for _ in range(2):  # WooCommerce never retries, but a proxy might: applied once
        delivered = client.post(
            f"/webhooks/woocommerce/{SHOP}", data=body, headers=headers(body, secret, "d1")
        )
        assert delivered.status_code == 200
    assert delivered.get_json()["duplicate"] is True
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    try:
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (41,)
        assert db.execute("SELECT count(*) FROM webhook_receipts").fetchone() == (1,)
    finally:
        db.close()
    train_shop(settings, SHOP)
    after = fbt_ids(client)
    assert after[0] == str(100 + C) and after != before, (before, after)


def test_new_orders_change_fbt_at_once_and_a_retrain_takes_them_over(tmp_path: Path) -> None:
    import time
    from datetime import UTC, datetime

    settings, secret = connected_shop(tmp_path, n_products=20)
    client = create_app(settings, {"TESTING": True}).test_client()
    train_shop(settings, SHOP)
    before = fbt_ids(client)
    new_pair = str(100 + 9)
    assert new_pair not in before
    time.sleep(1.1)  # orders placed after the training's second
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def deliver(n: int, items: list[int] | None = None) -> None:
        placed = {**order(60 + n, items or [A, 9], customer_n=n % 5), "date_created_gmt": now}
        body = json.dumps(placed).encode()
        sent = client.post(
            f"/webhooks/woocommerce/{SHOP}", data=body, headers=headers(body, secret, f"n{n}")
        )
        assert sent.status_code == 200

    # The shop's other orders of the morning: a pair counts when its orders together are
    # more than the two products' own sales among the new orders explain.
    for n in range(30):
        deliver(100 + n, [10 + n % 5, 15 + n % 5])
    deliver(0)
    assert new_pair not in fbt_ids(client)  # one order is not a pattern yet
    deliver(1)
    deliver(2)
    response = client.get(
        f"/api/v1/recommendations?shop={SHOP}&context=product&product_id={100 + A}&limit=3"
    ).get_json()
    first = response["items"][0]
    assert first["product_id"] == new_pair  # no retrain in between
    assert first["reason"] == "Often bought together in recent orders"
    time.sleep(1.1)
    train_shop(settings, SHOP)  # the models learn the pair; the recent count starts over
    after = client.get(
        f"/api/v1/recommendations?shop={SHOP}&context=product&product_id={100 + A}&limit=3"
    ).get_json()["items"]
    assert new_pair in [item["product_id"] for item in after]
    assert all(item["strategy"] != "recent_pairs" for item in after)
