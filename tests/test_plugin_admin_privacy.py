"""The admin's privacy page: Shopify data requests and erasures as the owner sees them, the
export downloadable by that shop's logins only, and the event retention setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import Settings, load_settings
from connectors.signatures import sign_body
from storage.db import open_shop_db
from storage.events import insert_events
from storage.privacy_requests import list_privacy_requests
from storage.receipts import list_receipts
from storage.retention import RETENTION_SETTING
from storage.shop_settings import get_shop_setting
from tests.admin_client import add_admin_user, csrf_of, log_in, make_admin_app
from worker.receipts import process_receipt
from worker.retention import purge_old_events

SECRET = "test-app-secret"
SHOP, DOMAIN = "test-shop", "test-shop.myshopify.com"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify"
BUYER_EMAIL = "buyer@example.test"


def _post_webhook(client: FlaskClient, topic: str, name: str, webhook_id: str) -> None:
    body = (FIXTURES / name).read_bytes()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": DOMAIN,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Hmac-Sha256": sign_body(SECRET, body),
    }
    response = client.post(
        "/webhooks/shopify", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", shopify_api_secret=SECRET)


@pytest.fixture
def app(app_settings: Settings) -> Flask:
    add_admin_user(app_settings, SHOP, user="alice")
    add_admin_user(app_settings, "other-shop", user="bob")
    app = make_admin_app(app_settings)
    webhooks = app.test_client()
    _post_webhook(webhooks, "orders/create", "orders_create.json", "o-1")
    _post_webhook(webhooks, "customers/data_request", "customers_data_request.json", "d-1")
    return app


def _export_url(app_settings: Settings) -> str:
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        [export] = list_privacy_requests(db, "export")
    finally:
        db.close()
    return f"/admin/{SHOP}/privacy/exports/{export.request_id}"


def test_the_data_request_webhooks_export_is_listed_and_downloads_for_its_owner(
    app: Flask, app_settings: Settings
) -> None:
    alice = app.test_client()
    log_in(alice, user="alice")
    page = alice.get(f"/admin/{SHOP}/privacy")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    url = _export_url(app_settings)
    row = html.split('id="data-requests"', 1)[1].split("</table>", 1)[0]
    assert "207119551" in row and "shopify" in row and "exported" in row
    assert f'href="{url}"' in row and "data_request-9999.json" in row
    assert BUYER_EMAIL not in html  # the page names the customer by id, not by email
    assert f'href="/admin/{SHOP}/privacy"' in html  # the nav links to the page
    with alice.get(url) as download:  # a file response: closed when read
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["Cache-Control"] == "no-store"
        data = json.loads(download.get_data(as_text=True))
    assert [c["email"] for c in data["customers"]] == [BUYER_EMAIL]
    assert [o["order_id"] for o in data["orders"]] == ["450789469"]


def test_another_shops_admin_and_anonymous_visitors_cannot_download_it(
    app: Flask, app_settings: Settings
) -> None:
    url = _export_url(app_settings)
    bob = app.test_client()
    log_in(bob, user="bob")
    for attempt in (url, url.replace(SHOP, "other-shop"), f"/admin/{SHOP}/privacy"):
        response = bob.get(attempt)
        assert response.status_code == 404, attempt
        assert BUYER_EMAIL not in response.get_data(as_text=True)
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/admin/login")


def test_an_erasure_is_listed_and_takes_the_export_with_it(
    app: Flask, app_settings: Settings
) -> None:
    url = _export_url(app_settings)
    _post_webhook(app.test_client(), "customers/redact", "customers_redact.json", "r-1")
    alice = app.test_client()
    log_in(alice, user="alice")
    assert alice.get(url).status_code == 404
    html = alice.get(f"/admin/{SHOP}/privacy").get_data(as_text=True)
    requests = html.split('id="data-requests"', 1)[1].split("</table>", 1)[0]
    assert "erased" in requests and url not in requests
    erasures = html.split('id="redactions"', 1)[1].split("</table>", 1)[0]
    cells = [c.split("</td>")[0] for c in erasures.split("<tbody>", 1)[1].split("<td")[1:]]
    # date, customer, source, customers, events, orders, order lines, webhook bodies, exports
    assert [c.split(">", 1)[1] for c in cells[1:]] == [
        "207119551",
        "shopify",
        "1",
        "0",
        "1",
        "2",
        "3",
        "1",
    ]
    assert not list((app_settings.data_dir / SHOP / "privacy").glob("*.json"))


def test_the_page_shows_retention_oldest_event_and_last_purge(
    app: Flask, app_settings: Settings
) -> None:
    alice = app.test_client()
    log_in(alice, user="alice")
    html = alice.get(f"/admin/{SHOP}/privacy").get_data(as_text=True)
    assert "13 months</strong> (the default)" in html
    assert '<span id="oldest-event">none</span>' in html and ">never</span>" in html
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        insert_events(
            db,
            [
                {"ts": ts, "type": "view", "product_id": "p", "session_id": "s"}
                for ts in ("2001-01-01T00:00:00", "2099-01-01T00:00:00")
            ],
        )
        purge_old_events(db)
    finally:
        db.close()
    html = alice.get(f"/admin/{SHOP}/privacy").get_data(as_text=True)
    assert '<span id="oldest-event">2099-01-01T00:00:00</span>' in html
    assert "1 events before" in html and "(13 months kept)" in html


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "event_retention_months must be whole months from 1 to 120, got 0"),
        ("121", "event_retention_months must be whole months from 1 to 120, got 121"),
        ("13.5", "event_retention_months must be whole months, got &#39;13.5&#39;"),
        ("a year", "event_retention_months must be whole months, got &#39;a year&#39;"),
    ],
)
def test_the_settings_form_refuses_nonsense_periods(
    app: Flask, app_settings: Settings, typed: str, message: str
) -> None:
    alice = app.test_client()
    log_in(alice, user="alice")
    response = alice.post(
        f"/admin/{SHOP}/settings/retention",
        data={"csrf_token": csrf_of(alice), RETENTION_SETTING: typed},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        assert get_shop_setting(db, RETENTION_SETTING) is None
    finally:
        db.close()


def test_a_valid_period_is_stored_and_shown(app: Flask, app_settings: Settings) -> None:
    alice = app.test_client()
    log_in(alice, user="alice")
    response = alice.post(
        f"/admin/{SHOP}/settings/retention",
        data={"csrf_token": csrf_of(alice), RETENTION_SETTING: "24"},
    )
    assert response.status_code == 302
    html = alice.get(f"/admin/{SHOP}/privacy").get_data(as_text=True)
    assert '<strong id="retention-months">24 months</strong>;' in html
    settings_page = alice.get(f"/admin/{SHOP}/settings").get_data(as_text=True)
    assert 'name="event_retention_months" value="24"' in settings_page


def test_a_replayed_data_request_rewrites_its_export_and_keeps_one_row(
    app: Flask, app_settings: Settings
) -> None:
    url = _export_url(app_settings)
    db = open_shop_db(app_settings.data_dir, SHOP, create=False)
    try:
        [receipt] = [r for r in list_receipts(db) if r["topic"] == "customers/data_request"]
    finally:
        db.close()
    result = process_receipt(app_settings, SHOP, receipt["receipt_id"], force=True)
    assert result["export"] == "data_request-9999.json"
    assert _export_url(app_settings) == url  # the same row (one row, else this unpacking fails)
