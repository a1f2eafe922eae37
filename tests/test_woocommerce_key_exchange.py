"""shoprec's side of WooCommerce's key exchange: who may start it, and that a state works once,
for its own shop and store only (the store is the `responses` stand-in of the connect tests;
tests/woo_store runs the same exchange against a real WooCommerce)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlite_utils

from config import Settings, load_settings
from storage.connections import get_connection
from storage.db import open_shop_db
from storage.shop_settings import all_shop_settings, set_shop_setting
from tests.woocommerce_platform import STORE, FakeWooCommerce, product, serve_healthz
from worker.woocommerce_key_exchange import (
    STATE_TTL_S,
    CallbackConnectFailed,
    CallbackRefused,
    ConnectRequestRefused,
    connect_signature,
    finish_key_exchange,
    start_key_exchange,
)

SHOP = "coffee"
PUBLIC = "https://recs.example.test"
SECRET = "identity-secret-of-coffee"
NOW = 1_800_000_000.0


def no_dns(host: str) -> list[str]:
    return []


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", public_url=PUBLIC)


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    handle = open_shop_db(settings.data_dir, SHOP)
    set_shop_setting(handle, "identity_secret", SECRET, "test")
    yield handle
    handle.close()


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    store = FakeWooCommerce(products=[product(n) for n in range(3)], orders=[])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        store.install(rsps)
        serve_healthz(rsps, PUBLIC)
        yield store


def start(settings: Settings, db: sqlite_utils.Database, **change: object) -> str:
    args = {"store_url": STORE, "expires": str(int(NOW) + 600), "secret": SECRET}
    args.update(change)
    signature = connect_signature(
        str(args["secret"]), SHOP, str(args["store_url"]), int(str(args["expires"]))
    )
    return start_key_exchange(
        settings, db, SHOP, str(args["store_url"]), str(args["expires"]), signature, now=NOW
    )


def callback_body(state: str, **change: str) -> bytes:
    body = {
        "key_id": 7,
        "user_id": state,
        "consumer_key": "ck_0123456789abcdef",
        "consumer_secret": "cs_0123456789abcdef",
        "key_permissions": "read_write",
    }
    body.update(change)
    return json.dumps(body).encode()


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["user_id"][0]


def test_a_signed_start_sends_the_owner_to_the_stores_authorize_page(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    url = start(settings, db)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{STORE}/wc-auth/v1/authorize"
    assert query["scope"] == "read_write" and query["app_name"] == "shoprec"
    assert query["callback_url"] == f"{PUBLIC}/woocommerce/connect/{SHOP}/callback"
    assert query["return_url"] == f"{PUBLIC}/woocommerce/connect/{SHOP}/done"
    assert len(query["user_id"]) >= 40
    # Only its hash is kept, under a name the settings audit redacts.
    assert query["user_id"] not in json.dumps(all_shop_settings(db))


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"secret": "someone-elses-secret"}, "not signed"),
        ({"expires": str(int(NOW) - 1)}, "expired"),
        ({"expires": str(int(NOW) + 86_400)}, "too long"),
        ({"store_url": "javascript:alert(1)"}, "store_url"),
    ],
)
def test_a_start_without_the_shops_signature_is_refused(
    settings: Settings, db: sqlite_utils.Database, change: dict, reason: str
) -> None:
    with pytest.raises(ConnectRequestRefused, match=reason):
        start(settings, db, **change)


def test_a_start_is_refused_while_shoprec_has_no_https_public_url(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    plain = load_settings({}, data_dir=settings.data_dir, public_url="http://recs.example.test")
    with pytest.raises(ConnectRequestRefused, match="https"):
        start(plain, db)


def test_the_callback_connects_the_store_the_state_was_issued_for_once(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    state = state_of(start(settings, db))
    result = finish_key_exchange(settings, db, SHOP, callback_body(state), now=NOW, resolve=no_dns)
    assert result["store_url"] == STORE
    connection = get_connection(db, "woocommerce")
    assert connection is not None and connection.shop_domain == STORE
    assert connection.credentials["consumer_key"] == "ck_0123456789abcdef"
    assert {h["delivery_url"] for h in fake.webhooks} == {f"{PUBLIC}/webhooks/woocommerce/{SHOP}"}
    with pytest.raises(CallbackRefused, match="unknown, used or expired"):
        finish_key_exchange(settings, db, SHOP, callback_body(state), now=NOW, resolve=no_dns)


def test_a_stranger_cannot_attach_keys(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    state = state_of(start(settings, db))
    for forged in ("guess", state[:-1] + ("A" if state[-1] != "A" else "B"), ""):
        with pytest.raises(CallbackRefused):
            finish_key_exchange(settings, db, SHOP, callback_body(forged), now=NOW)
    assert get_connection(db, "woocommerce") is None
    # The real state still works after the forgeries.
    finish_key_exchange(settings, db, SHOP, callback_body(state), now=NOW, resolve=no_dns)
    assert get_connection(db, "woocommerce") is not None


def test_another_shops_state_and_an_expired_state_are_refused(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    other = open_shop_db(settings.data_dir, "tea")
    try:
        set_shop_setting(other, "identity_secret", "tea-secret", "test")
        signature = connect_signature("tea-secret", "tea", STORE, int(NOW) + 600)
        tea_state = state_of(
            start_key_exchange(
                settings, other, "tea", STORE, str(int(NOW) + 600), signature, now=NOW
            )
        )
    finally:
        other.close()
    with pytest.raises(CallbackRefused):
        finish_key_exchange(settings, db, SHOP, callback_body(tea_state), now=NOW)
    state = state_of(start(settings, db))
    with pytest.raises(CallbackRefused):
        finish_key_exchange(settings, db, SHOP, callback_body(state), now=NOW + STATE_TTL_S + 1)
    assert get_connection(db, "woocommerce") is None


def test_a_new_start_replaces_the_pending_state(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    first, second = state_of(start(settings, db)), state_of(start(settings, db))
    with pytest.raises(CallbackRefused):
        finish_key_exchange(settings, db, SHOP, callback_body(first), now=NOW)
    finish_key_exchange(settings, db, SHOP, callback_body(second), now=NOW, resolve=no_dns)


@pytest.mark.parametrize(
    "body",
    [
        b"consumer_key=ck_1&consumer_secret=cs_1",
        b"[]",
        callback_body("s", consumer_key="not-a-key"),
        callback_body("s", consumer_secret=""),
    ],
)
def test_a_malformed_callback_is_refused(
    settings: Settings, db: sqlite_utils.Database, body: bytes
) -> None:
    with pytest.raises(CallbackRefused):
        finish_key_exchange(settings, db, SHOP, body, now=NOW)


def test_read_only_keys_are_refused_and_the_state_is_spent(
    settings: Settings, db: sqlite_utils.Database, fake: FakeWooCommerce
) -> None:
    state = state_of(start(settings, db))
    with pytest.raises(CallbackConnectFailed, match="read_write"):
        finish_key_exchange(
            settings, db, SHOP, callback_body(state, key_permissions="read"), now=NOW
        )
    assert get_connection(db, "woocommerce") is None
