"""WooCommerce connect, backfill, incremental sync and webhook reconciliation (`responses`)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
import sqlite_utils
from click.testing import CliRunner

from config import Settings, load_settings
from connectors.http_client import new_session
from connectors.woocommerce.api import WooCommerceClient
from plugin.cli.main import cli
from storage.connections import get_connection
from storage.db import open_shop_db
from storage.shop_settings import get_shop_setting
from tests.woocommerce_platform import STORE, FakeWooCommerce, customer, order, product
from worker.sync_run import run_shop_sync
from worker.woocommerce_sync import WEBHOOK_SECRET_KEY, WooCommerceSource, connect_woocommerce

SHOP = "coffee"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", public_url="https://recs.example.test")


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    store = FakeWooCommerce(
        products=[product(n) for n in range(230)],
        customers=[customer(n) for n in range(3)],
        orders=[order(n, [n % 5, (n + 2) % 5], customer_n=n % 3) for n in range(12)],
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        store.install(rsps)
        yield store


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    db = open_shop_db(settings.data_dir, SHOP)
    yield db
    db.close()


def rows(db: sqlite_utils.Database, sql: str) -> list[tuple[Any, ...]]:
    return db.execute(sql).fetchall()


def test_connect_checks_keys_stores_them_and_registers_webhooks(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    result = connect_woocommerce(settings, db, SHOP, STORE + "/", "ck_test", "cs_test")
    assert sorted(result["webhooks"]["created"]) == sorted(
        [
            "order.created",
            "order.updated",
            "product.created",
            "product.updated",
            "product.deleted",
            "customer.created",
            "customer.updated",
        ]
    )
    secret = get_shop_setting(db, WEBHOOK_SECRET_KEY)
    assert isinstance(secret, str) and len(secret) >= 32
    assert {h["secret_seen"] for h in fake.webhooks} == {secret}
    assert {h["delivery_url"] for h in fake.webhooks} == {
        "https://recs.example.test/webhooks/woocommerce/coffee"
    }
    auth = fake.requests[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"ck_test:cs_test").decode()
    connection = get_connection(db, "woocommerce")
    assert connection is not None and connection.shop_domain == STORE


def test_bad_keys_store_nothing(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    fake.faults.append("401")
    with pytest.raises(Exception, match="cannot list resources"):
        connect_woocommerce(settings, db, SHOP, STORE, "ck_bad", "cs_bad")
    assert get_connection(db, "woocommerce") is None
    assert fake.webhooks == []


def test_backfill_pages_by_100_through_a_429_and_a_502(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    connect_woocommerce(settings, db, SHOP, STORE, "ck_test", "cs_test")
    fake.per_page_seen.clear()  # the key check reads one product
    fake.faults.extend(["ok", "429", "ok", "502"])  # products p1, p2 (429 then ok), p3 (502)
    waits: list[float] = []
    result = run_shop_sync(settings, SHOP, "woocommerce", sleep=waits.append)
    assert result["status"] == "ok", result
    products, customers, orders = result["resources"]
    assert (products["pages"], products["records"]) == (3, 230)
    assert customers["records"] == 3 and orders["records"] == 12
    assert set(fake.per_page_seen) == {100}
    assert 3.0 in waits  # the 429's Retry-After was honoured
    assert rows(db, "SELECT count(*) FROM products") == [(230,)]
    assert rows(db, "SELECT count(*) FROM orders WHERE status = 'paid'") == [(12,)]
    assert rows(db, "SELECT count(*) FROM order_lines") == [(24,)]
    assert rows(db, "SELECT count(*) FROM customers") == [(3,)]


def test_incremental_sync_uses_modified_after_and_reactivates_disabled_webhooks(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    connect_woocommerce(settings, db, SHOP, STORE, "ck_test", "cs_test")
    run_shop_sync(settings, SHOP, "woocommerce", sleep=lambda s: None)
    fake.webhooks[0]["status"] = "disabled"  # WooCommerce gave up after failed deliveries
    fake.webhooks.pop()  # and one was deleted by hand
    fake.products[7] = product(7, modified="2099-01-01T00:00:00", price="21.00")
    before = len(fake.requests)
    result = run_shop_sync(settings, SHOP, "woocommerce", sleep=lambda s: None)
    assert result["webhooks"]["reactivated"] == ["order.created"]
    assert result["webhooks"]["created"] == ["customer.updated"]
    assert [r["mode"] for r in result["resources"]] == ["incremental"] * 3
    product_calls = [r for r in fake.requests[before:] if "/products" in r.url]
    assert all("modified_after=" in r.url and "dates_are_gmt=true" in r.url for r in product_calls)
    assert result["resources"][0]["records"] == 1
    assert rows(db, "SELECT price FROM products WHERE product_id = '107'") == [(21.0,)]


def test_401_during_sync_marks_the_connection_broken(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    connect_woocommerce(settings, db, SHOP, STORE, "ck_test", "cs_test")
    fake.faults.append("401")
    result = run_shop_sync(settings, SHOP, "woocommerce", sleep=lambda s: None)
    assert result["status"] == "broken"
    connection = get_connection(db, "woocommerce")
    assert connection is not None and connection.status == "broken"
    assert "cannot list resources" in (connection.status_reason or "")
    assert "cs_test" not in (connection.status_reason or "")


def test_plain_http_store_is_signed_with_oauth1_in_the_query() -> None:
    fake = FakeWooCommerce(products=[product(1)], store="http://local.test")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        client = WooCommerceClient(new_session(), "http://local.test", "ck_x", "cs_x")
        page = WooCommerceSource(client).fetch("products", None, None)
    assert page.records == 1
    url = fake.requests[0].url
    assert "oauth_signature_method=HMAC-SHA256" in url and "oauth_consumer_key=ck_x" in url
    assert "Authorization" not in fake.requests[0].headers
    assert "cs_x" not in url


def test_cli_connect_then_sync(settings: Settings, fake: FakeWooCommerce) -> None:
    fake.products = fake.products[:20]
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "--shop", SHOP]
    env = {"SHOPREC_PUBLIC_URL": "https://recs.example.test"}
    result = runner.invoke(
        cli,
        [*base, "connect", "woocommerce", "--url", STORE, "--key", "ck_test", "--secret", "cs_t"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "webhooks created 7" in result.output
    assert "woocommerce products: backfill, 1 pages, 20 records" in result.output
    assert "cs_t" not in result.output
    again = runner.invoke(cli, [*base, "sync"], env=env)
    assert again.exit_code == 0, again.output
    assert "woocommerce orders: incremental" in again.output
    full = runner.invoke(cli, [*base, "sync", "--full"], env=env)
    assert "woocommerce products: backfill, 1 pages, 20 records" in full.output, full.output
    every = runner.invoke(
        cli, ["--data-dir", str(settings.data_dir), "sync", "--all-shops"], env=env
    )
    assert every.exit_code == 0 and "coffee: woocommerce" in every.output, every.output
    nothing = runner.invoke(cli, ["--data-dir", str(settings.data_dir), "--shop", "x", "sync"])
    assert nothing.exit_code == 1 and "no shop named 'x'" in nothing.output


def test_sync_keeps_account_identity_over_order_billing(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    # Every fake order bills "Bob Roe <bob@example.test>", whoever the account is.
    fake.orders.append(order(50, [1], customer_n=7))  # an account the customers list lacks
    connect_woocommerce(settings, db, SHOP, STORE, "ck_test", "cs_test")
    for _ in range(2):  # a backfill, then a full sync again
        run_shop_sync(settings, SHOP, "woocommerce", sleep=lambda s: None)
        assert rows(
            db, "SELECT customer_id, email, first_name, last_name FROM customers ORDER BY 1"
        ) == [
            ("300", "buyer0@example.test", "B0", "Doe"),
            ("301", "buyer1@example.test", "B1", "Doe"),
            ("302", "buyer2@example.test", "B2", "Doe"),
            ("307", "bob@example.test", "Bob", "Roe"),  # created from its order's billing
        ]
