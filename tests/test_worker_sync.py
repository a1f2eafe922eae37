"""Shopify backfill and incremental sync against a fake GraphQL Admin API (`responses`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
import sqlite_utils

from config import Settings, load_settings
from connectors.http_client import RetryPolicy, new_session
from connectors.shopify.api import ShopifyClient
from connectors.shopify.auth import TokenSet
from storage.connections import get_connection, save_connection
from storage.db import open_shop_db
from storage.sync_state import get_sync_state
from tests.shopify_platform import API_VERSION, DOMAIN, FakeShopify, order_node, product_node
from worker.shopify_sync import ShopifySource, shopify_client_for
from worker.sync import sync_all, sync_resource
from worker.sync_run import run_shop_sync

SHOP = "test-shop"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Crash(Exception):
    """Stands for the worker being killed mid-backfill."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {},
        data_dir=tmp_path / "data",
        shopify_api_key="key",
        shopify_api_secret="secret",
        shopify_api_version=API_VERSION,
    )


def connect(
    db: sqlite_utils.Database,
    token: str = "shpat_first",
    expires_at: str | None = None,
    refresh: str | None = "shprt_0",
) -> None:
    tokens = TokenSet(token, "read_products,read_orders", refresh, expires_at)
    save_connection(
        db,
        "shopify",
        DOMAIN,
        tokens.as_credentials(),
        scope=tokens.scope,
        access_expires_at=expires_at,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    db = open_shop_db(settings.data_dir, SHOP)
    connect(db)
    yield db
    db.close()


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    shop = FakeShopify(
        products=[product_node(n) for n in range(7)],
        orders=[order_node(n, [n % 7, (n + 1) % 7], customer=n % 3) for n in range(5)],
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        shop.install(rsps)
        yield shop


def client(settings: Settings, db: sqlite_utils.Database, waits: list[float]) -> ShopifyClient:
    return shopify_client_for(settings, db, sleep=waits.append, clock=lambda: NOW)


def rows(db: sqlite_utils.Database, sql: str) -> list[tuple[Any, ...]]:
    return db.execute(sql).fetchall()


def test_backfill_pages_through_throttle_and_502(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    # Products come in 4 pages of 2; the 2nd call is throttled, the 4th answers 502.
    fake.faults.extend(["ok", "throttled", "ok", "502"])
    waits: list[float] = []
    source = ShopifySource(client(settings, db, waits))
    report = sync_all(db, source, ("products", "orders"), now=NOW)
    assert report["status"] == "ok"
    products, orders = report["resources"]
    assert (products["pages"], products["records"]) == (4, 7)
    assert (orders["pages"], orders["records"]) == (3, 5)
    assert rows(db, "SELECT count(*) FROM products") == [(7,)]
    assert rows(db, "SELECT count(*), count(DISTINCT order_id) FROM order_lines") == [(10, 5)]
    assert rows(db, "SELECT count(*) FROM customers") == [(3,)]
    # The throttled answer was waited out for (requested 870 - available 70) / 100 per s.
    assert 8.0 in source.client.throttle_waits
    assert len(fake.calls) == 4 + 1 + 1 + 3  # 4 product pages + retried throttle + 502 retry
    row = rows(
        db,
        "SELECT product_id, title, category, tags, price, inventory, image_url, url "
        "FROM products WHERE product_id = '1001'",
    )
    assert row == [
        (
            "1001",
            "Product 1",
            "Mugs",
            "kitchen|t1",
            10.0,
            5,
            "https://cdn.example/p1.jpg",
            "https://test-shop.myshopify.com/products/product-1",
        )
    ]
    assert rows(db, "SELECT product_id FROM inventory_items WHERE inventory_item_id = '10019'") == [
        ("1001",)
    ]
    state = get_sync_state(db, "shopify:orders")
    assert state is not None and state["status"] == "idle" and state["last_synced_at"]


def test_killed_backfill_resumes_without_duplicates_or_gaps(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    fake.products = [product_node(n) for n in range(9)]  # 5 pages of 2
    source = ShopifySource(client(settings, db, []))

    def kill_on_third(page: int) -> None:
        if page == 3:
            raise Crash("killed after page 3")

    with pytest.raises(Crash):
        sync_resource(db, source, "products", now=NOW, on_page=kill_on_third)
    assert rows(db, "SELECT count(*) FROM products") == [(6,)]
    state = get_sync_state(db, "shopify:products")
    assert state is not None and state["cursor"] == "6" and state["last_synced_at"] is None

    cursors_before = len(fake.calls)
    report = sync_resource(db, source, "products", now=NOW)
    assert report.mode == "backfill" and report.resumed_from == "6"
    # Resumed at the 4th page: pages 4 and 5 only, nothing fetched twice.
    assert [c["variables"]["after"] for c in fake.calls[cursors_before:]] == ["6", "8"]
    assert rows(db, "SELECT count(*), count(DISTINCT product_id) FROM products") == [(9, 9)]
    assert sorted(r[0] for r in rows(db, "SELECT product_id FROM products")) == [
        str(1000 + n) for n in range(9)
    ]


def test_failed_page_keeps_the_cursor_and_records_the_error(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    fake.faults.extend(["ok"] + ["502"] * 5)  # page 2 fails through every retry
    source = ShopifySource(
        ShopifyClient(
            new_session(),
            DOMAIN,
            API_VERSION,
            TokenSet("shpat_first"),
            api_key="k",
            api_secret="s",
            on_tokens=lambda t: None,
            sleep=lambda s: None,
            policy=RetryPolicy(max_attempts=5),
        )
    )
    with pytest.raises(Exception, match="502"):
        sync_resource(db, source, "products", now=NOW)
    state = get_sync_state(db, "shopify:products")
    assert state is not None and state["status"] == "failed" and "502" in state["error"]
    assert state["cursor"] == "2"  # page 1 applied and acknowledged, page 2 not lost
    report = sync_resource(db, source, "products", now=NOW)
    assert report.resumed_from == "2"
    assert rows(db, "SELECT count(*) FROM products") == [(7,)]


def test_incremental_sync_asks_only_for_updates_and_skips_stale(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    source = ShopifySource(client(settings, db, []))
    sync_all(db, source, ("products",), now=NOW)
    # Later: one product changed on the platform (updated after the watermark).
    fake.products[3] = product_node(3, updated_at="2026-06-01T13:00:00Z", price="12.50")
    report = sync_all(db, source, ("products",), now=NOW + timedelta(hours=2))
    assert report["resources"][0]["mode"] == "incremental"
    assert report["resources"][0]["records"] == 1
    assert "updated_at:>'2026-06-01T11:50:00Z'" == fake.calls[-1]["variables"]["query"]
    assert rows(db, "SELECT price FROM products WHERE product_id = '1003'") == [(12.5,)]


def test_token_is_refreshed_before_expiry_and_the_new_pair_stored(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    connect(db, expires_at=(NOW + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S"))
    source = ShopifySource(client(settings, db, []))
    source.fetch("products", None, None)
    assert fake.tokens_issued == 1
    assert fake.calls[0]["token"] == "shpat_1"
    connection = get_connection(db, "shopify")
    assert connection is not None
    assert connection.credentials["access_token"] == "shpat_1"
    assert connection.credentials["refresh_token"] == "shprt_1"
    assert connection.access_expires_at == "2026-06-01T13:00:00"


def test_401_refreshes_once_then_retries(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    fake.token = "shpat_rotated_elsewhere"  # the stored token is no longer valid
    source = ShopifySource(client(settings, db, []))
    page = source.fetch("products", None, None)
    assert page.records == 2
    assert [c["token"] for c in fake.calls] == ["shpat_first", "shpat_1"]


def test_403_marks_the_connection_broken(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    fake.faults.append("403")
    source = ShopifySource(client(settings, db, []))
    report = sync_all(db, source, ("products",), now=NOW)
    assert report["status"] == "broken" and "403" in report["error"]
    connection = get_connection(db, "shopify")
    assert connection is not None and connection.status == "broken"
    assert "shpat" not in (connection.status_reason or "")


def test_run_shop_sync_reports_per_resource(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    fake.webhook_topics.append("ORDERS_CREATE")  # still subscribed; the others were dropped
    result = run_shop_sync(settings, SHOP, "shopify", sleep=lambda s: None)
    assert result["status"] == "ok" and result["rejected"] == 0
    assert [r["resource"] for r in result["resources"]] == ["products", "orders"]
    assert result["webhooks"] == {"registered": 9, "problems": []}
    assert len(fake.webhook_topics) == 9


def test_uninstalled_shop_is_not_synced_nor_marked_broken(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    from storage.connections import mark_uninstalled

    mark_uninstalled(db, "shopify", "app/uninstalled received")
    result = run_shop_sync(settings, SHOP, "shopify", sleep=lambda s: None)
    assert result["status"] == "uninstalled" and fake.calls == []
    connection = get_connection(db, "shopify")
    assert connection is not None and connection.status == "uninstalled"


def test_orders_with_more_lines_than_a_page_are_completed(
    settings: Settings, db: sqlite_utils.Database, fake: FakeShopify
) -> None:
    fake.orders = [order_node(1, [n % 7 for n in range(140)]), order_node(2, [1, 2])]
    source = ShopifySource(client(settings, db, []))
    report = sync_resource(db, source, "orders", now=NOW)
    assert report.records == 2
    # 140 lines: 25 with the page, then 100 + 15 through the order's own lineItems query.
    line_calls = [c for c in fake.calls if "ShoprecOrderLines" in c["query"]]
    assert [c["variables"]["after"] for c in line_calls] == ["25", "125"]
    assert rows(db, "SELECT count(*) FROM order_lines WHERE order_id = '5001'") == [(140,)]
    assert rows(db, "SELECT sum(quantity) FROM order_lines WHERE order_id = '5001'") == [(140,)]
