"""The signed webhook inbox: HMAC before parsing, receipts stored first, dedupe, ping, queue."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from config import Settings, load_settings
from connectors.signatures import sign_body
from plugin import create_app
from plugin.webhooks import MAX_BODY_BYTES, WOOCOMMERCE_SECRET_KEY
from storage.db import open_shop_db
from storage.orders import read_purchase_lines
from storage.receipts import get_receipt, list_receipts
from storage.shop_settings import set_shop_setting
from worker.queues import QUEUE_DEFAULT, get_queue

SECRET = "test-app-secret"
WOO_SECRET = "whsec-local-123"  # the secret the real WooCommerce sample was signed with
SHOP = "test-shop"  # shoprec shop name of test-shop.myshopify.com
DOMAIN = "test-shop.myshopify.com"
WOO_SHOP = "coffee"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify"
WOO_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "platform_samples" / "woocommerce"


def sign_shopify(body: bytes, secret: str = SECRET) -> str:
    return sign_body(secret, body)


def woo_sample(name: str) -> dict[str, Any]:
    path = WOO_SAMPLES / name
    if not path.is_file():
        pytest.skip(f"WooCommerce sample {path} is absent (it lives beside the checkout)")
    return json.loads(path.read_text())


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    settings = load_settings({}, data_dir=tmp_path / "data", **overrides)
    for shop in (SHOP, WOO_SHOP):
        db = open_shop_db(settings.data_dir, shop)
        if shop == WOO_SHOP:
            set_shop_setting(db, WOOCOMMERCE_SECRET_KEY, WOO_SECRET, "test")
        db.close()
    return settings


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, shopify_api_secret=SECRET)


@pytest.fixture
def client(app_settings: Settings) -> FlaskClient:
    return create_app(app_settings, {"TESTING": True}).test_client()


@pytest.fixture
def shop_rows(app_settings: Settings) -> Iterator[Any]:
    def rows(sql: str, shop: str = SHOP) -> list[tuple[Any, ...]]:
        db = open_shop_db(app_settings.data_dir, shop, create=False)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    yield rows


def post_shopify(
    client: FlaskClient,
    topic: str,
    body: bytes,
    *,
    webhook_id: str = "wh-1",
    signature: str | None = None,
    shop: str = DOMAIN,
) -> Any:
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Hmac-Sha256": sign_shopify(body) if signature is None else signature,
    }
    return client.post(
        "/webhooks/shopify", data=body, headers=headers, content_type="application/json"
    )


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_valid_product_and_order_deliveries_land_in_the_store(
    client: FlaskClient, shop_rows: Any
) -> None:
    r1 = post_shopify(
        client, "products/create", fixture_bytes("products_create.json"), webhook_id="a"
    )
    r2 = post_shopify(
        client, "products/update", fixture_bytes("products_update.json"), webhook_id="b"
    )
    r3 = post_shopify(client, "orders/create", fixture_bytes("orders_create.json"), webhook_id="c")
    assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200]
    assert r3.get_json()["ok"] is True
    assert shop_rows("SELECT product_id, price, inventory FROM products ORDER BY 1") == [
        ("632910392", 199.0, 30),
        ("921728736", 19.5, 13),
    ]
    assert shop_rows("SELECT order_id, status, source FROM orders") == [
        ("450789469", "paid", "shopify")
    ]
    assert shop_rows("SELECT count(*) FROM order_lines") == [(2,)]
    assert shop_rows("SELECT status, count(*) FROM webhook_receipts GROUP BY 1") == [
        ("processed", 3)
    ]


def test_tampered_body_is_refused_and_nothing_stored(
    client: FlaskClient, shop_rows: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = fixture_bytes("orders_create.json")
    signature = sign_shopify(body)
    with caplog.at_level(logging.WARNING, logger="plugin.webhooks"):
        response = post_shopify(
            client, "orders/create", body.replace(b"199.00", b"0.01"), signature=signature
        )
    assert response.status_code == 401
    payload = response.get_json()
    assert payload["ok"] is False and payload["status"] == 401
    assert payload["code"] == "invalid_signature" and payload["errors"] == [payload["error"]]
    assert shop_rows("SELECT count(*) FROM webhook_receipts") == [(0,)]
    assert shop_rows("SELECT count(*) FROM orders") == [(0,)]
    assert "refused" in caplog.text and SECRET not in caplog.text


def test_missing_app_secret_fails_closed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)  # SHOPIFY_API_SECRET unset
    client = create_app(settings, {"TESTING": True}).test_client()
    body = fixture_bytes("orders_create.json")
    response = post_shopify(client, "orders/create", body, signature=sign_body("", body))
    assert response.status_code == 401
    assert "no webhook secret" in response.get_json()["error"]


def test_missing_signature_header_is_refused(client: FlaskClient) -> None:
    response = post_shopify(
        client, "orders/create", fixture_bytes("orders_create.json"), signature=""
    )
    assert response.status_code == 401


def test_duplicate_delivery_stores_one_receipt(client: FlaskClient, shop_rows: Any) -> None:
    body = fixture_bytes("orders_create.json")
    first = post_shopify(client, "orders/create", body, webhook_id="dup-1")
    second = post_shopify(client, "orders/create", body, webhook_id="dup-1")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["duplicate"] is True
    assert first.get_json()["receipt_id"] == second.get_json()["receipt_id"]
    assert shop_rows("SELECT delivery_id FROM webhook_receipts") == [("dup-1",)]


def test_malformed_json_with_good_signature_is_stored_and_rejected(
    client: FlaskClient, app_settings: Settings
) -> None:
    body = b'{"id": 1, "created_at": '
    response = post_shopify(client, "orders/create", body, webhook_id="bad-1")
    assert response.status_code == 200
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        [receipt] = list_receipts(db)
        assert receipt["status"] == "rejected"
        assert "body is not valid JSON" in receipt["error"]
        assert bytes(get_receipt(db, receipt["receipt_id"])["body"]) == body  # kept as signed
    finally:
        db.close()


def test_headers_are_stored_without_the_signature(
    client: FlaskClient, app_settings: Settings
) -> None:
    post_shopify(client, "products/create", fixture_bytes("products_create.json"))
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        headers = json.loads(get_receipt(db, 1)["headers"])
    finally:
        db.close()
    assert headers["x-shopify-topic"] == "products/create"
    assert "x-shopify-hmac-sha256" not in headers


def test_unknown_or_invalid_shop_domain_is_404(client: FlaskClient) -> None:
    body = fixture_bytes("orders_create.json")
    assert (
        post_shopify(client, "orders/create", body, shop="nobody.myshopify.com").status_code == 404
    )
    assert post_shopify(client, "orders/create", body, shop="evil.example.com").status_code == 404
    woo = client.post("/webhooks/woocommerce/nobody", data=b"webhook_id=1")
    assert woo.status_code == 404 and woo.get_json()["code"] == "unknown_shop"


def test_oversized_body_is_413(client: FlaskClient, shop_rows: Any) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    response = post_shopify(client, "orders/create", body)
    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    assert shop_rows("SELECT count(*) FROM webhook_receipts") == [(0,)]


def test_cancelled_and_refunded_orders_never_count_as_purchases(
    client: FlaskClient, app_settings: Settings
) -> None:
    for i, name in enumerate(
        ["orders_create.json", "orders_cancelled.json", "orders_updated_partial_refund.json"]
    ):
        assert (
            post_shopify(
                client, "orders/updated", fixture_bytes(name), webhook_id=f"o{i}"
            ).status_code
            == 200
        )
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        purchases = read_purchase_lines(db)
        statuses = dict(db.execute("SELECT order_id, status FROM orders").fetchall())
    finally:
        db.close()
    assert statuses["450789471"] == "cancelled"
    assert "450789471" not in set(purchases["order_id"])
    # The refund line (-1) is stored but is not a purchase.
    assert sorted(purchases.loc[purchases["order_id"] == "450789470", "quantity"]) == [1, 2]


def test_shopify_cancellation_update_removes_an_order_from_purchases(
    client: FlaskClient, app_settings: Settings
) -> None:
    order = json.loads(fixture_bytes("orders_create.json"))
    post_shopify(client, "orders/create", json.dumps(order).encode(), webhook_id="c1")
    order["cancelled_at"] = "2026-05-02T00:00:00Z"
    post_shopify(client, "orders/updated", json.dumps(order).encode(), webhook_id="c2")
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        assert read_purchase_lines(db).empty
    finally:
        db.close()


def test_customers_redact_erases_the_customer_and_data_request_is_exported(
    client: FlaskClient, app_settings: Settings, shop_rows: Any
) -> None:
    post_shopify(client, "orders/create", fixture_bytes("orders_create.json"), webhook_id="o")
    assert shop_rows("SELECT count(*) FROM customers") == [(1,)]
    redact = post_shopify(
        client, "customers/redact", fixture_bytes("customers_redact.json"), webhook_id="r"
    )
    request = post_shopify(
        client,
        "customers/data_request",
        fixture_bytes("customers_data_request.json"),
        webhook_id="d",
    )
    assert (redact.status_code, request.status_code) == (200, 200)
    assert shop_rows("SELECT count(*) FROM customers") == [(0,)]
    assert shop_rows("SELECT customer_id, country FROM orders") == [(None, "")]
    assert shop_rows("SELECT DISTINCT customer_id FROM order_lines") == [(None,)]
    # The stored order and the redact request held the email: their bodies are gone.
    assert shop_rows("SELECT count(*) FROM webhook_receipts WHERE instr(body, 'buyer@')") == [
        (1,)  # only the data request, received after the redaction
    ]
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        statuses = {r["topic"]: (r["status"], r["error"]) for r in list_receipts(db)}
    finally:
        db.close()
    assert statuses["customers/redact"] == ("processed", None)
    assert statuses["customers/data_request"] == ("processed", None)
    # Received after the redaction: the export holds the order, but no customer any more.
    export = app_settings.data_dir / SHOP / "privacy" / "data_request-9999.json"
    data = json.loads(export.read_text())
    assert data["customers"] == [] and [o["order_id"] for o in data["orders"]] == ["450789469"]


# --- WooCommerce --------------------------------------------------------------------------


def post_woo_sample(
    client: FlaskClient, delivery: dict[str, Any], body: bytes | None = None
) -> Any:
    raw = delivery["raw_body"].encode() if body is None else body
    return client.post(f"/webhooks/woocommerce/{WOO_SHOP}", data=raw, headers=delivery["headers"])


def test_real_woo_delivery_is_verified_and_stored(client: FlaskClient, shop_rows: Any) -> None:
    delivery = woo_sample("webhook_delivery_order_created.json")
    response = post_woo_sample(client, delivery)
    assert response.status_code == 200
    assert shop_rows("SELECT order_id, customer_id, status FROM orders", WOO_SHOP) == [
        ("18", "3", "paid")
    ]
    assert shop_rows("SELECT line_key, quantity FROM order_lines ORDER BY 1", WOO_SHOP) == [
        ("10#1", 1),
        ("12#1", 1),
        ("14#1", 3),
    ]
    assert shop_rows("SELECT delivery_id, topic FROM webhook_receipts", WOO_SHOP) == [
        ("fb31cefa96c3a4723f9fbe202f440bd5", "order.created")
    ]


def test_real_woo_delivery_tampered_is_401(client: FlaskClient, shop_rows: Any) -> None:
    delivery = woo_sample("webhook_delivery_order_created.json")
    body = delivery["raw_body"].replace('"quantity":3', '"quantity":30').encode()
    assert post_woo_sample(client, delivery, body).status_code == 401
    assert shop_rows("SELECT count(*) FROM webhook_receipts", WOO_SHOP) == [(0,)]


def test_woo_without_a_stored_secret_fails_closed(
    client: FlaskClient, app_settings: Settings
) -> None:
    db = open_shop_db(app_settings.data_dir, WOO_SHOP, create=False)
    set_shop_setting(db, WOOCOMMERCE_SECRET_KEY, "", "test")
    db.close()
    delivery = woo_sample("webhook_delivery_order_created.json")
    assert post_woo_sample(client, delivery).status_code == 401


def test_real_woo_ping_gets_200_and_is_not_stored(client: FlaskClient, shop_rows: Any) -> None:
    ping = woo_sample("webhook_delivery_ping.json")
    response = client.post(
        f"/webhooks/woocommerce/{WOO_SHOP}",
        data=ping["raw_body"].encode(),
        headers={"User-Agent": ping["headers"]["User-Agent"]},
        content_type=ping["headers"]["Content-Type"],
    )
    assert response.status_code == 200 and response.get_json()["ping"] is True
    assert shop_rows("SELECT count(*) FROM webhook_receipts", WOO_SHOP) == [(0,)]
    assert shop_rows("SELECT count(*) FROM orders", WOO_SHOP) == [(0,)]


# --- the queue path (real Redis) ----------------------------------------------------------


@pytest.mark.redis
def test_with_redis_the_receipt_is_enqueued_and_a_worker_applies_it(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    settings = make_settings(tmp_path, shopify_api_secret=SECRET, redis_url=url)
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))  # what the job process reads
    monkeypatch.delenv("REDIS_URL", raising=False)
    client = create_app(settings, {"TESTING": True}).test_client()
    response = post_shopify(client, "orders/create", fixture_bytes("orders_create.json"))
    assert response.status_code == 200
    receipt_id = response.get_json()["receipt_id"]
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    try:
        assert get_receipt(db, receipt_id)["status"] == "pending"  # only queued so far
        queue = get_queue(QUEUE_DEFAULT, redis_conn)
        job_id = f"receipt-test-shop-{receipt_id}"
        assert queue.job_ids == [job_id]
        SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []
        assert get_receipt(db, receipt_id)["status"] == "processed"
        assert len(read_purchase_lines(db)) == 2
    finally:
        db.close()


# --- shop name mapping, shop/redact, out-of-order -----------------------------------------


def test_shop_redact_delivery_deletes_the_shop_folder(
    client: FlaskClient, app_settings: Settings
) -> None:
    body = json.dumps({"shop_id": 954889, "shop_domain": DOMAIN}).encode()
    folder = app_settings.data_dir / SHOP
    assert (folder / "shop.db").is_file()
    response = post_shopify(client, "shop/redact", body, webhook_id="redact-1")
    assert response.status_code == 200
    assert not folder.exists()
    # Later deliveries for the shop find no shop: 404, nothing recreated.
    again = post_shopify(client, "orders/create", fixture_bytes("orders_create.json"))
    assert again.status_code == 404 and not folder.exists()


def test_late_product_update_does_not_overwrite_a_newer_one(
    client: FlaskClient, shop_rows: Any
) -> None:
    payload = json.loads(fixture_bytes("products_update.json"))
    newer = json.dumps({**payload, "title": "Newer", "updated_at": "2026-05-02T12:00:00Z"})
    older = json.dumps({**payload, "title": "Older", "updated_at": "2026-05-01T12:00:00Z"})
    post_shopify(client, "products/update", newer.encode(), webhook_id="new")
    late = post_shopify(client, "products/update", older.encode(), webhook_id="old")
    assert late.status_code == 200
    assert shop_rows("SELECT title FROM products") == [("Newer",)]


def test_the_full_domain_is_not_a_shop_name(client: FlaskClient, app_settings: Settings) -> None:
    open_shop_db(app_settings.data_dir, "other.myshopify.com").close()
    body = fixture_bytes("orders_create.json")
    response = post_shopify(client, "orders/create", body, shop="other.myshopify.com")
    assert response.status_code == 404  # shop 'other' does not exist; the folder name is not used


def test_previous_secret_still_verifies_during_a_rotation(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, shopify_api_secret="new-secret", shopify_api_secret_previous=SECRET
    )
    client = create_app(settings, {"TESTING": True}).test_client()
    body = fixture_bytes("orders_create.json")
    assert post_shopify(client, "orders/create", body, webhook_id="old-key").status_code == 200
    new_sig = sign_shopify(body, "new-secret")
    assert (
        post_shopify(client, "orders/create", body, webhook_id="new", signature=new_sig).status_code
        == 200
    )
    forged = sign_shopify(body, "neither")
    assert (
        post_shopify(client, "orders/create", body, webhook_id="x", signature=forged).status_code
        == 401
    )
