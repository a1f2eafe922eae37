"""Applying stored receipts: every topic's effect, rejection kept with its reason, replays."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlite_utils

from config import Settings
from serving.generations import generation_key
from storage.catalog import get_products, upsert_products
from storage.customers import get_customer
from storage.events import insert_events
from storage.orders import read_purchase_lines
from storage.receipts import get_receipt, list_receipts, store_receipt
from worker.jobs import process_receipt_job
from worker.queues import QUEUE_DEFAULT, get_queue
from worker.receipt_batch import apply_receipts
from worker.receipts import enqueue_receipt, process_receipt, receipt_job_id

SHOP = "demo"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify"
WOO_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "platform_samples" / "woocommerce"


def woo_sample_bytes(name: str) -> bytes:
    path = WOO_SAMPLES / name
    if not path.is_file():
        pytest.skip(f"WooCommerce sample {path} is absent (it lives beside the checkout)")
    return path.read_bytes()


@pytest.fixture
def db(shop_db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    yield shop_db


def store(db: sqlite_utils.Database, platform: str, topic: str, body: bytes, delivery: str) -> int:
    receipt_id, _ = store_receipt(db, platform, topic, delivery, {"x-test": "1"}, body)
    return receipt_id


def shopify(db: sqlite_utils.Database, topic: str, name: str) -> int:
    return store(db, "shopify", topic, (FIXTURES / name).read_bytes(), f"{topic}:{name}")


def test_shopify_product_update_then_delete_archives(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    first = process_receipt(settings, SHOP, shopify(db, "products/update", "products_update.json"))
    assert first["status"] == "processed" and first["changed"]["products"] == 1
    second = process_receipt(settings, SHOP, shopify(db, "products/delete", "products_delete.json"))
    assert second["status"] == "processed"
    product = get_products(db, ["632910392"])["632910392"]
    assert (product["status"], product["title"], product["price"]) == (
        "archived",
        "IPod Nano - 8GB",
        199.0,
    )


def test_delete_of_an_unknown_product_creates_nothing(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    result = process_receipt(settings, SHOP, shopify(db, "products/delete", "products_delete.json"))
    assert result["status"] == "processed"
    assert db.execute("SELECT count(*) FROM products").fetchone()[0] == 0


def test_shopify_customer_create(settings: Settings, db: sqlite_utils.Database) -> None:
    process_receipt(settings, SHOP, shopify(db, "customers/create", "customers_create.json"))
    customer = get_customer(db, "706405506")
    assert customer is not None and customer["country"] == "DE"
    assert customer["accepts_marketing"] == 1


def test_inventory_level_is_left_pending_with_a_note(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    upsert_products(
        db, [{"product_id": "632910392", "title": "Nano", "price": 1.0, "inventory": 9}]
    )
    rid = shopify(db, "inventory_levels/update", "inventory_levels_update.json")
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "pending"
    receipt = get_receipt(db, rid)
    assert receipt["status"] == "pending" and "808950810" in receipt["error"]
    assert get_products(db, ["632910392"])["632910392"]["inventory"] == 9  # not faked


def test_bad_payload_is_rejected_kept_and_not_raised(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    body = json.dumps({"id": 5, "created_at": "2026-01-01", "line_items": [{"product_id": 1}]})
    rid = store(db, "shopify", "orders/create", body.encode(), "bad")
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "rejected"
    [row] = list_receipts(db, status="rejected")
    assert row["receipt_id"] == rid
    assert row["error"] == "order.line_items[0].quantity is missing"
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_unhandled_topic_is_rejected_with_its_name(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    rid = store(db, "woocommerce", "coupon.created", b'{"id": 3}', "coupon")
    assert process_receipt(settings, SHOP, rid)["status"] == "rejected"
    assert get_receipt(db, rid)["error"] == "woocommerce topic 'coupon.created' is not handled"


def test_processed_receipt_is_skipped_unless_forced(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    rid = shopify(db, "orders/create", "orders_create.json")
    assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    assert process_receipt(settings, SHOP, rid).get("skipped") is True
    replay = process_receipt(settings, SHOP, rid, force=True)
    assert replay["status"] == "processed" and replay["changed"]["order_lines"] == 0  # idempotent
    assert len(read_purchase_lines(db)) == 2


def test_missing_receipt_or_shop_is_reported(settings: Settings, db: sqlite_utils.Database) -> None:
    assert process_receipt(settings, SHOP, 999)["status"] == "missing"
    assert process_receipt(settings, "no-such-shop", 1)["status"] == "missing"


def test_real_woo_order_then_trash_cancels_it(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    delivery = json.loads(woo_sample_bytes("webhook_delivery_order_created.json"))
    rid = store(db, "woocommerce", "order.created", delivery["raw_body"].encode(), "w1")
    assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    assert sorted(read_purchase_lines(db)["product_id"]) == ["10", "12", "14"]
    rid = store(db, "woocommerce", "order.deleted", b'{"id": 18}', "w2")
    assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    assert read_purchase_lines(db).empty


def test_real_woo_product_and_customer(settings: Settings, db: sqlite_utils.Database) -> None:
    for topic, name in (("product.updated", "product.json"), ("customer.created", "customer.json")):
        rid = store(db, "woocommerce", topic, woo_sample_bytes(name), topic)
        assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    assert get_products(db, ["11"])["11"]["price"] == 10.0
    assert get_customer(db, "2")["email"] == "alice@example.test"
    rid = store(db, "woocommerce", "product.deleted", b'{"id": 11}', "del")
    process_receipt(settings, SHOP, rid)
    assert get_products(db, ["11"])["11"]["status"] == "archived"


def test_job_entry_point_reads_settings_from_the_environment(
    settings: Settings, db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    rid = shopify(db, "products/create", "products_create.json")
    result: dict[str, Any] = process_receipt_job(SHOP, rid)
    assert result["status"] == "processed"
    assert json.loads(json.dumps(result)) == result  # JSON-able for RQ's serializer


def test_job_id_has_no_dots() -> None:
    assert receipt_job_id("x.myshopify.com", 7) == "receipt-x_myshopify_com-7"


@pytest.mark.redis
def test_enqueue_twice_gives_one_job(redis_conn: redis.Redis) -> None:
    queue = get_queue(QUEUE_DEFAULT, redis_conn)
    first = enqueue_receipt(queue, "demo", 4)
    second = enqueue_receipt(queue, "demo", 4)
    assert first.id == second.id == "receipt-demo-4"
    assert queue.count == 1


def test_customers_redact_by_email_only_removes_row_events_and_links(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    process_receipt(settings, SHOP, shopify(db, "orders/create", "orders_create.json"))
    insert_events(
        db,
        [
            {
                "ts": "2026-05-01T00:00:00",
                "customer_id": "207119551",
                "type": "view",
                "product_id": "632910392",
            },
            {
                "ts": "2026-05-01T00:00:00",
                "customer_id": "other",
                "type": "view",
                "product_id": "632910392",
            },
        ],
    )
    body = json.dumps(
        {"shop_domain": SHOP, "customer": {"email": "buyer@example.test"}, "orders_to_redact": []}
    ).encode()
    rid = store(db, "shopify", "customers/redact", body, "redact")
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "processed"
    assert result["redacted"] == {
        "customers": 1,
        "events": 1,
        "orders": 1,
        "order_lines": 2,
        "receipt_bodies": 2,
    }
    assert get_customer(db, "207119551") is None
    assert db.execute("SELECT customer_id FROM events").fetchall() == [("other",)]
    assert len(read_purchase_lines(db)) == 2  # anonymous lines still train co-purchases


def test_customers_redact_for_another_shop_is_rejected(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    rid = shopify(db, "customers/redact", "customers_redact.json")  # test-shop.myshopify.com
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "rejected" and "is not this shop ('demo')" in result["error"]


def test_cli_reprocess_replays_a_fixed_receipt(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli

    body = json.dumps({"id": 5, "created_at": "2026-01-01", "line_items": [{"product_id": 1}]})
    rid = store(db, "shopify", "orders/create", body.encode(), "bad-then-fixed")
    args = ["--data-dir", str(settings.data_dir), "--shop", SHOP, "worker", "reprocess"]
    failed = CliRunner().invoke(cli, [*args, "--receipt-id", str(rid)])
    assert failed.exit_code == 1 and "quantity is missing" in failed.output
    missing = CliRunner().invoke(cli, [*args, "--receipt-id", "999"])
    assert missing.exit_code == 1 and "no receipt 999" in missing.output
    fixed = shopify(db, "orders/create", "orders_create.json")
    done = CliRunner().invoke(cli, [*args, "--receipt-id", str(fixed)])
    assert done.exit_code == 0 and "status=processed" in done.output
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 1


# --- out-of-order updates, inventory, privacy files, uninstall ----------------------------


def product_body(title: str, updated_at: str, price: str = "10.00") -> bytes:
    payload = json.loads((FIXTURES / "products_update.json").read_text())
    payload.update(title=title, updated_at=updated_at)
    payload["variants"][0]["price"] = price
    return json.dumps(payload).encode()


def test_out_of_order_product_updates_keep_the_newest(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    newer = store(
        db, "shopify", "products/update", product_body("New", "2026-05-02T10:00:00Z", "12.00"), "n"
    )
    older = store(
        db, "shopify", "products/update", product_body("Old", "2026-05-01T10:00:00Z", "9.00"), "o"
    )
    assert process_receipt(settings, SHOP, newer)["changed"]["products"] == 1
    late = process_receipt(settings, SHOP, older)
    assert late["status"] == "processed" and late["changed"]["stale_skipped"] == 1
    product = get_products(db, ["632910392"])["632910392"]
    assert (product["title"], product["price"]) == ("New", 12.0)
    versions = db.execute("SELECT platform_updated_at FROM record_versions").fetchall()
    assert versions == [("2026-05-02T10:00:00",)]


def test_inventory_level_updates_the_mapped_product(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    process_receipt(settings, SHOP, shopify(db, "products/update", "products_update.json"))
    payload = json.loads((FIXTURES / "products_update.json").read_text())
    item = str(payload["variants"][0]["inventory_item_id"])
    body = json.dumps(
        {
            "inventory_item_id": int(item),
            "location_id": 905684977,
            "available": 0,
            "updated_at": "2026-05-03T12:00:00-04:00",
        }
    ).encode()
    result = process_receipt(
        settings, SHOP, store(db, "shopify", "inventory_levels/update", body, "i")
    )
    assert result["status"] == "processed" and result["product_id"] == "632910392"
    expected = sum(
        v.get("inventory_quantity") or 0
        for v in payload["variants"][1:]
        if v.get("inventory_item_id")
    )
    assert get_products(db, ["632910392"])["632910392"]["inventory"] == expected


def test_shop_redact_deletes_the_shop_folder(settings: Settings, db: sqlite_utils.Database) -> None:
    body = json.dumps({"shop_id": 1, "shop_domain": "demo.myshopify.com"}).encode()
    rid = store(db, "shopify", "shop/redact", body, "sr")
    folder = settings.data_dir / SHOP
    assert (folder / "shop.db").is_file()
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "processed" and result["deleted"] is True
    assert not folder.exists()


def test_shop_redact_for_another_shop_is_rejected(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    body = json.dumps({"shop_id": 1, "shop_domain": "other.myshopify.com"}).encode()
    result = process_receipt(settings, SHOP, store(db, "shopify", "shop/redact", body, "x"))
    assert result["status"] == "rejected" and "other.myshopify.com" in result["error"]
    assert (settings.data_dir / SHOP / "shop.db").is_file()


def test_app_uninstalled_drops_the_token(settings: Settings, db: sqlite_utils.Database) -> None:
    from storage.connections import get_connection, save_connection

    save_connection(db, "shopify", "demo.myshopify.com", {"access_token": "shpat_x"})
    body = json.dumps({"id": 1, "domain": "demo.myshopify.com"}).encode()
    result = process_receipt(settings, SHOP, store(db, "shopify", "app/uninstalled", body, "u"))
    assert result["status"] == "processed"
    connection = get_connection(db, "shopify")
    assert connection is not None and connection.status == "uninstalled"
    assert connection.credentials == {}


def test_data_request_writes_the_customers_export(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    process_receipt(settings, SHOP, shopify(db, "orders/create", "orders_create.json"))
    body = (FIXTURES / "customers_data_request.json").read_bytes()
    rid = store(db, "shopify", "customers/data_request", body.replace(b"test-shop", b"demo"), "d")
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "processed", result
    data = json.loads((settings.data_dir / SHOP / "privacy" / result["export"]).read_text())
    assert [c["email"] for c in data["customers"]] == ["buyer@example.test"]
    assert [o["order_id"] for o in data["orders"]] == ["450789469"]
    assert data["orders"][0]["lines"]


def test_unparseable_body_stays_in_the_inbox_with_its_error(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    rid = store(db, "shopify", "orders/create", b'{"id": 1, "line_items": "nope"', "bad")
    result = process_receipt(settings, SHOP, rid)
    assert result["status"] == "rejected"
    receipt = get_receipt(db, rid)
    assert receipt is not None and receipt["status"] == "rejected"
    assert "not valid JSON" in receipt["error"] and bytes(receipt["body"])


def test_enqueued_receipt_jobs_carry_a_retry(redis_conn: redis.Redis) -> None:
    job = enqueue_receipt(get_queue(QUEUE_DEFAULT, redis_conn), SHOP, 5)
    assert job.retries_left == 3 and job.retry_intervals == [10, 60, 300]


def test_late_inventory_level_is_ignored(settings: Settings, db: sqlite_utils.Database) -> None:
    process_receipt(settings, SHOP, shopify(db, "products/update", "products_update.json"))

    def level(available: int, at: str, delivery: str) -> dict[str, Any]:
        body = json.dumps(
            {
                "inventory_item_id": 808950810,
                "location_id": 1,
                "available": available,
                "updated_at": at,
            }
        ).encode()
        return process_receipt(
            settings, SHOP, store(db, "shopify", "inventory_levels/update", body, delivery)
        )

    assert level(4, "2026-05-03T12:00:00Z", "new")["inventory"] == 4 + 20
    assert level(9, "2026-05-02T12:00:00Z", "late").get("stale_skipped") == 1
    assert get_products(db, ["632910392"])["632910392"]["inventory"] == 24


def _woo_fixture(name: str) -> dict:
    return json.loads((FIXTURES.parent / "woocommerce" / name).read_text())


def test_woo_order_billing_never_rewrites_the_account(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    account = _woo_fixture("customer.json")  # customer 2: Alice Doe, alice@example.test
    rid = store(db, "woocommerce", "customer.updated", json.dumps(account).encode(), "c1")
    assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    order = _woo_fixture("order.json")
    # A later order of Alice's, bought as a gift: other billing name and email, or none.
    for n, billing in enumerate(
        [
            {"first_name": "Gift", "last_name": "Friend", "email": "friend@example.test"},
            {"first_name": "", "last_name": "", "email": ""},
        ]
    ):
        payload = {
            **order,
            "id": 40 + n,
            "customer_id": 2,
            "billing": {**order["billing"], **billing},
        }
        rid = store(db, "woocommerce", "order.created", json.dumps(payload).encode(), f"o{n}")
        assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    customer = get_customer(db, "2")
    assert customer is not None
    assert (customer["email"], customer["first_name"], customer["last_name"]) == (
        "alice@example.test",
        "Alice",
        "Doe",
    )
    # An order of a customer not synced yet creates that customer from its billing block.
    rid = store(db, "woocommerce", "order.created", json.dumps(order).encode(), "o9")
    process_receipt(settings, SHOP, rid)
    bob = get_customer(db, "3")
    assert bob is not None and (bob["email"], bob["first_name"]) == ("bob@example.test", "Bob")


def test_shopify_order_customer_never_blanks_a_known_customer(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    known = json.loads((FIXTURES / "customers_create.json").read_text())
    rid = store(db, "shopify", "customers/create", json.dumps(known).encode(), "c1")
    process_receipt(settings, SHOP, rid)
    order = json.loads((FIXTURES / "orders_create.json").read_text())
    # Without protected customer data access the order's customer carries no names or email.
    order["customer"] = {"id": known["id"], "first_name": None, "last_name": None, "email": None}
    rid = store(db, "shopify", "orders/create", json.dumps(order).encode(), "o1")
    assert process_receipt(settings, SHOP, rid)["status"] == "processed"
    customer = get_customer(db, str(known["id"]))
    assert customer is not None
    assert (customer["email"], customer["first_name"]) == (known["email"], known["first_name"])
    assert customer["last_name"] == known["last_name"]


@pytest.mark.redis
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_an_applied_batch_moves_the_shared_redis_generation_once(
    settings: Settings,
    db: sqlite_utils.Database,
    redis_conn: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker configured with Redis tells every host's caches (they read the counter, not
    this host's marker file) that the products changed: once per batch, not per receipt."""
    redis_url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    ids = [
        store(db, "shopify", "products/update", product_body(title, stamp), title)
        for title, stamp in [("One", "2026-05-01T10:00:00Z"), ("Two", "2026-05-02T10:00:00Z")]
    ]
    assert redis_conn.get(generation_key(SHOP)) is None
    outcome = apply_receipts(db, SHOP, ids)
    assert outcome.counts == {"processed": 2}
    assert int(redis_conn.get(generation_key(SHOP)) or 0) == 1
    # A batch that changed nothing (both already applied) leaves the counter alone.
    apply_receipts(db, SHOP, ids)
    assert int(redis_conn.get(generation_key(SHOP)) or 0) == 1
