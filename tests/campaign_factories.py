"""Tiny builders for the campaign tests: a shopper who may be emailed, orders, views, and the
process environment RQ jobs read their settings from."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from storage.catalog import get_products
from storage.clock import to_iso
from storage.customers import upsert_customers
from storage.events import insert_events
from storage.orders import popular_products, upsert_order_lines, upsert_orders
from storage.shop_settings import set_shop_setting

SECRET = "campaign-test-secret"
PUBLIC_URL = "https://recs.example.test"
KLAVIYO_KEY = "pk_test_0123456789"
MAILCHIMP_KEY = "0123456789abcdef0123456789abcdef-us6"
MANDRILL_KEY = "md-test-key"
CUSTOMER = "cust-ada"
EMAIL = "ada@example.com"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture_json(*parts: str) -> Any:
    """A recorded platform payload from tests/fixtures."""
    return json.loads(FIXTURES.joinpath(*parts).read_text())


def job_environment(monkeypatch: pytest.MonkeyPatch, data_dir: Path, redis_url: str) -> None:
    """Jobs call load_settings() themselves: point the environment at this test's data."""
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHOPREC_SECRET_KEY", SECRET)
    monkeypatch.setenv("SHOPREC_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KLAVIYO_API_KEY", KLAVIYO_KEY)
    monkeypatch.setenv("MAILCHIMP_API_KEY", MAILCHIMP_KEY)
    monkeypatch.setenv("MAILCHIMP_TRANSACTIONAL_KEY", MANDRILL_KEY)


def use_provider(db: sqlite_utils.Database, push: dict[str, Any], **campaigns: Any) -> None:
    """Store the shop's campaigns setting with this push target."""
    set_shop_setting(db, "campaigns", {"push": push, **campaigns}, changed_by="test")


def add_shopper(
    db: sqlite_utils.Database, customer_id: str = CUSTOMER, accepts_marketing: int = 1
) -> None:
    """A shopper with an email, subscribed unless told otherwise."""
    upsert_customers(
        db,
        [
            {
                "customer_id": customer_id,
                "email": EMAIL if customer_id == CUSTOMER else f"{customer_id}@example.com",
                "first_name": "Ada",
                "accepts_marketing": accepts_marketing,
                "created_at": "2026-01-01T00:00:00",
            }
        ],
    )


def add_order(
    db: sqlite_utils.Database,
    order_id: str,
    at: datetime,
    customer_id: str = CUSTOMER,
    product_id: str | None = None,
    status: str = "paid",
) -> dict[str, Any]:
    """Store a one-line order; return the stored order row."""
    product_id = product_id or popular_products(db, limit=1)[0]
    price = get_products(db, [product_id])[product_id]["price"]
    row = {
        "order_id": order_id,
        "customer_id": customer_id,
        "created_at": to_iso(at),
        "status": status,
        "source": "shopify",
    }
    upsert_orders(db, [row])
    upsert_order_lines(
        db, [(order_id, f"{product_id}#1", product_id, customer_id, to_iso(at), 1, price)]
    )
    return row


def add_view(
    db: sqlite_utils.Database, product_id: str, at: datetime, customer_id: str = CUSTOMER
) -> str:
    """Store a product view by the shopper; return its time as store text."""
    insert_events(
        db,
        [{"ts": to_iso(at), "type": "view", "product_id": product_id, "customer_id": customer_id}],
    )
    return to_iso(at)


def days(n: float) -> timedelta:
    return timedelta(days=n)
