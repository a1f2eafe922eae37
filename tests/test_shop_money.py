"""A shop's currency and locale: set in the admin, written the same way in the admin's
figures, the storefront answer the widget formats from, and email blocks."""

from __future__ import annotations

import dataclasses
import re

import pytest
from flask.testing import FlaskClient

from config import Settings
from email_blocks.signing import signed_url
from engine.errors import InputError
from engine.money import check_currency, check_locale, money_format
from plugin import create_app
from storage.db import open_shop_db
from storage.shop_settings import get_shop_setting
from tests.admin_client import csrf_of, logged_in_client

SECRET = "money-test-secret"


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return dataclasses.replace(trained_settings, secret_key=SECRET)


@pytest.fixture
def admin(settings: Settings) -> FlaskClient:
    return logged_in_client(settings)


def save_money(admin: FlaskClient, currency: str, locale: str) -> object:
    form = {"currency": currency, "locale": locale, "csrf_token": csrf_of(admin)}
    return admin.post("/admin/demo/settings/money", data=form)


def stored(settings: Settings, key: str) -> object:
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        return get_shop_setting(db, key)
    finally:
        db.close()


def test_codes_and_tags_are_checked_and_normalised() -> None:
    assert (check_currency(" eur "), check_locale("de-DE")) == ("EUR", "de_DE")
    for bad in ("EURO", "XYZ", "", 42):
        with pytest.raises(InputError, match="ISO 4217"):
            check_currency(bad)
    with pytest.raises(InputError, match="locale must be"):
        check_locale("klingon-Mars")
    # A stored typo never breaks a list: that part falls back to plain numbers / English.
    assert money_format("EURO", "xx_YY")(1234.5) == "1,234.50"


def test_the_owner_sets_the_currency_and_every_surface_follows(
    admin: FlaskClient, settings: Settings
) -> None:
    response = save_money(admin, "eur", "de-DE")
    assert response.status_code == 302
    assert (stored(settings, "currency"), stored(settings, "locale")) == ("EUR", "de_DE")
    settings_page = admin.get("/admin/demo/settings").get_data(as_text=True)
    assert "1.234,50\xa0€" in settings_page
    overview = admin.get("/admin/demo/overview").get_data(as_text=True)
    assert "\xa0€" in overview and "per 1,000 impressions" in overview
    # The storefront answer tells the widget how to write prices.
    shop = create_app(settings, {"TESTING": True}).test_client()
    answer = shop.get("/api/v1/recommendations?shop=demo&context=home").get_json()
    assert answer["widget"]["currency"] == "EUR" and answer["widget"]["locale"] == "de-DE"
    # Email blocks write them the same way.
    db = open_shop_db(settings.data_dir, "demo", create=False)
    sql = "SELECT customer_id FROM order_lines WHERE customer_id IS NOT NULL LIMIT 1"
    customer = db.execute(sql).fetchone()[0]
    db.close()
    params = {"shop": "demo", "campaign": "win_back", "format": "json", "customer_id": customer}
    response = shop.get(signed_url("", "/email/v1/block", SECRET, params))
    block = response.get_json()
    assert response.status_code == 200, block
    assert block["items"] and all(i["price"] is not None for i in block["items"])
    assert re.search(r"\d,\d\d\s€", block["text"]), block["text"]  # German: 24,50 €
    assert "€" in block["html"] and "$" not in block["html"]


def test_a_bad_currency_is_refused_beside_the_field(admin: FlaskClient, settings: Settings) -> None:
    response = save_money(admin, "EURO", "en_GB")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    money_section = page.split('id="money"', 1)[1].split("</section>", 1)[0]
    assert "currency must be an ISO 4217 code" in money_section
    assert stored(settings, "currency") is None and stored(settings, "locale") is None


def test_without_a_currency_prices_stay_plain(settings: Settings) -> None:
    shop = create_app(settings, {"TESTING": True}).test_client()
    answer = shop.get("/api/v1/recommendations?shop=demo&context=home").get_json()
    assert "currency" not in answer["widget"]
