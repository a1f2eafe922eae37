"""The key exchange's three HTTP stops (Flask test client; the store is the `responses`
stand-in; tests/woo_store drives the same routes from a real WooCommerce)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import responses

from config import Settings, load_settings
from plugin import create_app
from storage.connections import get_connection
from storage.db import open_shop_db
from storage.shop_settings import set_shop_setting
from tests.woocommerce_platform import STORE, FakeWooCommerce, product, serve_healthz
from worker.woocommerce_key_exchange import connect_signature

SHOP = "coffee"
PUBLIC = "https://recs.example.test"
SECRET = "identity-secret-of-coffee"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = load_settings({}, data_dir=tmp_path / "data", public_url=PUBLIC)
    db = open_shop_db(settings.data_dir, SHOP)
    set_shop_setting(db, "identity_secret", SECRET, "test")
    db.close()
    return settings


@pytest.fixture
def client(settings: Settings) -> Any:
    return create_app(settings, {"TESTING": True}).test_client()


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    store = FakeWooCommerce(products=[product(1)], orders=[])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        store.install(rsps)
        serve_healthz(rsps, PUBLIC)
        yield store


def start_query(secret: str = SECRET, store_url: str = STORE) -> str:
    expires = int(time.time()) + 600
    signature = connect_signature(secret, SHOP, store_url, expires)
    return urlencode({"store_url": store_url, "expires": expires, "signature": signature})


def keys(state: str) -> str:
    return json.dumps(
        {
            "key_id": 3,
            "user_id": state,
            "consumer_key": "ck_" + "a" * 40,
            "consumer_secret": "cs_" + "b" * 40,
            "key_permissions": "read_write",
        }
    )


def test_connect_callback_and_return_page(client: Any, settings: Settings, fake: Any) -> None:
    answer = client.get(f"/woocommerce/connect/{SHOP}?{start_query()}")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{STORE}/wc-auth/v1/authorize"
    state = parse_qs(target.query)["user_id"][0]

    done = client.post(
        f"/woocommerce/connect/{SHOP}/callback", data=keys(state), content_type="application/json"
    )
    assert done.status_code == 200 and done.get_json()["ok"] is True
    assert "sync" in done.get_json()["backfill"]
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    try:
        assert get_connection(db, "woocommerce").shop_domain == STORE
    finally:
        db.close()

    page = client.get(f"/woocommerce/connect/{SHOP}/done?success=1&user_id={state}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-connect-result="connected"' in text
    assert f"{STORE}/wp-admin/admin.php?page=shoprec" in text
    assert page.headers["Cache-Control"] == "no-store"

    again = client.post(
        f"/woocommerce/connect/{SHOP}/callback", data=keys(state), content_type="application/json"
    )
    assert again.status_code == 403 and again.get_json()["error"] == "refused"


def test_refusals(client: Any) -> None:
    forged = client.get(f"/woocommerce/connect/{SHOP}?{start_query(secret='guess')}")
    assert forged.status_code == 403
    assert "identity secret" in forged.get_data(as_text=True)
    assert "Location" not in forged.headers
    unknown = client.get(f"/woocommerce/connect/nosuchshop?{start_query()}")
    assert unknown.status_code == 404
    stranger = client.post(
        f"/woocommerce/connect/{SHOP}/callback",
        data=keys("made-up-state"),
        content_type="application/json",
    )
    assert stranger.status_code == 403
    nothing = client.get(f"/woocommerce/connect/{SHOP}/done?success=1&user_id=made-up-state")
    assert nothing.status_code == 404
    denied = client.get(f"/woocommerce/connect/{SHOP}/done?success=0&user_id=made-up-state")
    assert 'data-connect-result="failed"' in denied.get_data(as_text=True)


def test_the_state_escapes_no_markup(client: Any) -> None:
    page = client.get(f"/woocommerce/connect/{SHOP}?store_url=%3Cscript%3E&expires=1&signature=x")
    assert page.status_code == 403
    assert "<script>" not in page.get_data(as_text=True)
