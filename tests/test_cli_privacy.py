"""`shoprec privacy export|erase` for CSV and WooCommerce shops: the same export and erasure
as Shopify's webhooks, logged for the admin's privacy page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from plugin.cli.main import cli
from storage.customers import upsert_customers
from storage.db import open_shop_db
from storage.events import insert_events
from storage.orders import upsert_order_lines, upsert_orders
from storage.privacy_requests import list_privacy_requests, record_privacy_request

SHOP = "woo"
ADA, BOB = "cust-ada", "cust-bob"
ADA_EMAIL = "ada@example.test"


def _event(ts: str, customer: str | None, visitor: str, product: str = "p1") -> dict[str, object]:
    return {
        "ts": ts,
        "customer_id": customer,
        "visitor_id": visitor,
        "type": "view",
        "product_id": product,
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A WooCommerce-like shop: Ada bought twice and browsed logged in and out on her
    browser; Bob shares nothing with her but once used her browser, logged in as himself."""
    data = tmp_path / "data"
    db = open_shop_db(data, SHOP)
    upsert_customers(
        db,
        [
            {"customer_id": ADA, "email": ADA_EMAIL, "first_name": "Ada", "country": "GB"},
            {"customer_id": BOB, "email": "bob@example.test", "country": "FR"},
        ],
    )
    upsert_orders(
        db,
        [
            {
                "order_id": "o1",
                "customer_id": ADA,
                "created_at": "2026-03-01T10:00:00",
                "country": "GB",
            },
            {
                "order_id": "o2",
                "customer_id": BOB,
                "created_at": "2026-03-02T10:00:00",
                "country": "FR",
            },
        ],
    )
    upsert_order_lines(
        db,
        [
            ("o1", "p1#1", "p1", ADA, "2026-03-01T10:00:00", 2, 9.5),
            ("o1", "p2#1", "p2", ADA, "2026-03-01T10:00:00", 1, 20.0),
            ("o2", "p1#1", "p1", BOB, "2026-03-02T10:00:00", 1, 9.5),
        ],
    )
    insert_events(
        db,
        [
            _event("2026-03-01T09:00:00", ADA, "v-ada"),
            _event("2026-03-01T08:00:00", None, "v-ada", "p2"),  # before she logged in
            _event("2026-03-03T08:00:00", BOB, "v-ada", "p3"),  # Bob on her browser
            _event("2026-03-02T09:00:00", BOB, "v-bob"),
            _event("2026-03-02T08:00:00", None, "v-bob"),
        ],
    )
    db.close()
    return data


def _invoke(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "--shop", SHOP, "privacy", *args], input=stdin
    )
    return result.exit_code, result.output


def _db(data_dir: Path) -> sqlite_utils.Database:
    return open_shop_db(data_dir, SHOP, create=False)


def test_export_writes_the_customers_data_and_logs_it(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ada.json"
    code, output = _invoke(data_dir, "export", "--customer", ADA, "--out", str(out))
    assert code == 0, output
    assert f"export written: {out} (1 customers, 1 orders, 2 events)" in output
    data = json.loads(out.read_text())
    assert [c["email"] for c in data["customers"]] == [ADA_EMAIL]
    assert [(o["order_id"], len(o["lines"])) for o in data["orders"]] == [("o1", 2)]
    # Her own event and her browser's anonymous one; not Bob's, even on her browser.
    assert [(e["customer_id"], e["product_id"]) for e in data["events"]] == [
        (None, "p2"),
        (ADA, "p1"),
    ]
    db = _db(data_dir)
    try:
        [logged] = list_privacy_requests(db, "export")
    finally:
        db.close()
    assert (logged.source, logged.customer_id, logged.status) == ("cli", ADA, "exported")
    assert logged.email_hint == ""  # no email given: none logged
    assert logged.counts == {"customers": 1, "orders": 1, "events": 2}
    kept = data_dir / SHOP / "privacy" / (logged.export_file or "")
    assert json.loads(kept.read_text()) == data  # the copy the admin offers


def test_export_by_email_only_finds_the_customer(data_dir: Path) -> None:
    code, output = _invoke(data_dir, "export", "--email", ADA_EMAIL, "--out", "-")
    assert code == 0, output
    assert json.loads(output)["customers"][0]["customer_id"] == ADA
    db = _db(data_dir)
    try:
        [logged] = list_privacy_requests(db, "export")
    finally:
        db.close()
    # The resolved id is logged (an erasure finds the export by it); the email only masked.
    assert (logged.customer_id, logged.email_hint) == (ADA, "a…@example.test")


def test_erase_keeps_the_redaction_semantics_and_logs_it(data_dir: Path) -> None:
    assert _invoke(data_dir, "export", "--customer", ADA)[0] == 0
    code, output = _invoke(data_dir, "erase", "--customer", ADA, "--email", ADA_EMAIL, "--yes")
    assert code == 0, output
    assert "erased: 1 customers, 2 events, 1 orders, 2 order_lines, 0 receipt_bodies" in output
    db = _db(data_dir)
    try:
        assert db.execute("SELECT customer_id FROM customers").fetchall() == [(BOB,)]
        # Her order stays as a guest order: no customer, no country, lines intact.
        assert db.execute(
            "SELECT order_id, customer_id, country FROM orders ORDER BY 1"
        ).fetchall() == [
            ("o1", None, ""),
            ("o2", BOB, "FR"),
        ]
        assert db.execute(
            "SELECT order_id, product_id, customer_id, quantity, unit_price FROM order_lines "
            "ORDER BY 1, 2"
        ).fetchall() == [
            ("o1", "p1", None, 2, 9.5),
            ("o1", "p2", None, 1, 20.0),
            ("o2", "p1", BOB, 1, 9.5),
        ]
        # Her events and her browser's anonymous one are gone; Bob's stay, also on her browser.
        assert db.execute("SELECT customer_id, visitor_id FROM events ORDER BY ts").fetchall() == [
            (None, "v-bob"),
            (BOB, "v-bob"),
            (BOB, "v-ada"),
        ]
        [export] = list_privacy_requests(db, "export")
        [erasure] = list_privacy_requests(db, "erasure")
    finally:
        db.close()
    # The export made for her was deleted with her data.
    assert (export.status, export.export_file) == ("erased", None)
    assert not list((data_dir / SHOP / "privacy").glob("*.json"))
    assert (erasure.source, erasure.customer_id, erasure.status) == ("cli", ADA, "erased")
    assert erasure.counts == {
        "customers": 1,
        "events": 2,
        "orders": 1,
        "order_lines": 2,
        "receipt_bodies": 0,
        "exports": 1,
    }


def test_erase_asks_first_and_a_no_changes_nothing(data_dir: Path) -> None:
    code, output = _invoke(data_dir, "erase", "--customer", ADA, stdin="n\n")
    assert code == 1 and "This cannot be undone" in output and "Aborted" in output
    db = _db(data_dir)
    try:
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM events").fetchone() == (5,)
        assert list_privacy_requests(db, "erasure") == []
    finally:
        db.close()


def test_a_request_naming_nobody_or_an_unknown_shop_is_refused(
    data_dir: Path, tmp_path: Path
) -> None:
    code, output = _invoke(data_dir, "export")
    assert code == 2 and "give --customer, --email or both" in output
    code, output = _invoke(tmp_path / "empty", "erase", "--customer", ADA, "--yes")
    assert code == 1 and "no shop named 'woo'" in output


def test_an_erasure_run_again_adds_to_its_row(data_dir: Path) -> None:
    db = _db(data_dir)
    try:
        for events in (2, 1):
            record_privacy_request(
                db,
                kind="erasure",
                source="shopify",
                external_id="receipt-7",
                customer_id=ADA,
                email=None,
                status="erased",
                counts={"events": events, "customers": 1 if events == 2 else 0},
            )
        [erasure] = list_privacy_requests(db, "erasure")
    finally:
        db.close()
    assert erasure.counts == {"events": 3, "customers": 1}
