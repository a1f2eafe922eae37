"""The Shopify OAuth install: HMAC, state nonce, token exchange, webhooks, backfill queued."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import redis
import responses
from flask.testing import FlaskClient

from config import Settings, load_settings
from connectors.signatures import sign_shopify_query
from plugin import create_app
from plugin.shopify_install import STATE_COOKIE
from storage.connections import get_connection
from storage.db import open_shop_db, shop_exists
from tests.shopify_platform import API_VERSION, DOMAIN, FakeShopify, pixel_settings_problems
from worker import shopify_sync
from worker.queues import QUEUE_SYNC, get_queue
from worker.sync_run import sync_job_id

SECRET = "app-secret"
SHOP = "test-shop"


def make_settings(tmp_path: Path, **extra: Any) -> Settings:
    return load_settings(
        {},
        data_dir=tmp_path / "data",
        shopify_api_key="app-key",
        shopify_api_secret=SECRET,
        shopify_api_version=API_VERSION,
        shopify_scopes="read_products,read_orders",
        public_url="https://recs.example.test",
        secret_key="flask-secret",
        **extra,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings, {"TESTING": True}).test_client()


def signed(params: dict[str, str], secret: str = SECRET) -> str:
    pairs = list(params.items())
    return urlencode([*pairs, ("hmac", sign_shopify_query(secret, pairs))])


def start_install(client: FlaskClient, shop: str = DOMAIN) -> str:
    """Run /shopify/install; return the state nonce Shopify would echo back."""
    query = signed({"shop": shop, "timestamp": str(int(time.time()))})
    response = client.get(f"/shopify/install?{query}")
    assert response.status_code == 302, response.get_json()
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", shop, "/admin/oauth/authorize")
    args = parse_qs(target.query)
    assert args["client_id"] == ["app-key"]
    assert args["scope"] == ["read_products,read_orders"]
    assert args["redirect_uri"] == ["https://recs.example.test/shopify/callback"]
    assert "grant_options[]" not in args  # offline token
    return args["state"][0]


def callback(client: FlaskClient, state: str, **extra: str) -> Any:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": DOMAIN,
        "state": state,
        "timestamp": str(int(time.time())),
        **extra,
    }
    return client.get(f"/shopify/callback?{signed(params)}")


def test_install_redirects_with_a_random_state(client: FlaskClient) -> None:
    first, second = start_install(client), start_install(client)
    assert first != second and len(first) == 32


@pytest.mark.parametrize(
    "shop", ["evil.com", "test-shop.myshopify.com.evil.com", "-x.myshopify.com", "../x"]
)
def test_install_refuses_foreign_shop_domains(client: FlaskClient, shop: str) -> None:
    query = signed({"shop": shop, "timestamp": str(int(time.time()))})
    response = client.get(f"/shopify/install?{query}")
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_shop"


def test_install_refuses_a_bad_hmac_and_an_old_timestamp(client: FlaskClient) -> None:
    forged = signed({"shop": DOMAIN, "timestamp": str(int(time.time()))}, secret="wrong")
    assert client.get(f"/shopify/install?{forged}").status_code == 401
    old = signed({"shop": DOMAIN, "timestamp": "1337178173"})
    assert client.get(f"/shopify/install?{old}").get_json()["code"] == "stale_request"


def test_full_install_stores_the_token_registers_webhooks_and_queues_the_backfill(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    url = redis_conn.connection_pool.connection_kwargs
    redis_url = f"redis://{url.get('host')}:{url.get('port')}/{url.get('db')}"
    settings = make_settings(tmp_path, redis_url=redis_url)
    client = create_app(settings, {"TESTING": True}).test_client()
    fake = FakeShopify()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        fake.install(rsps)
        state = start_install(client)
        response = callback(client, state)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["shop"] == SHOP and body["backfill"] == "queued"
    assert body["webhooks_registered"] == 9 and body["webhook_problems"] == []
    # The web pixel is activated with settings the extension's TOML accepts.
    assert body["web_pixel"] == "created" and fake.web_pixel is not None
    assert json.loads(fake.web_pixel["settings"]) == {
        "shoprec_url": "https://recs.example.test",
        "shop": SHOP,
        "storefront_events": "embed",
    }
    assert "shpat" not in response.get_data(as_text=True)
    assert "ORDERS_CREATE" in fake.webhook_topics and "APP_UNINSTALLED" in fake.webhook_topics
    # Webhooks were registered with the freshly exchanged token.
    assert {c["token"] for c in fake.calls} == {"shpat_1"}
    assert shop_exists(settings.data_dir, SHOP)
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    try:
        connection = get_connection(db, "shopify")
    finally:
        db.close()
    assert connection is not None and connection.status == "active"
    assert connection.credentials["access_token"] == "shpat_1"
    assert connection.credentials["refresh_token"] == "shprt_1"
    assert connection.access_expires_at is not None
    job = get_queue(QUEUE_SYNC, redis_conn).fetch_job(sync_job_id(SHOP, "shopify"))
    assert job is not None and list(job.args) == [SHOP, "shopify"]


def test_a_second_install_updates_the_web_pixel_it_made(client: FlaskClient) -> None:
    fake = FakeShopify()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        assert callback(client, start_install(client)).get_json()["web_pixel"] == "created"
        again = callback(client, start_install(client)).get_json()
    assert again["web_pixel"] == "updated"
    pixel_calls = [c for c in fake.calls if "ShoprecWebPixel" in c["query"]]
    assert [c["query"].split("{")[0].split("(")[0].split()[-1] for c in pixel_calls] == [
        "ShoprecWebPixelCreate",
        "ShoprecWebPixelCreate",
        "ShoprecWebPixel",
        "ShoprecWebPixelUpdate",
    ]
    assert pixel_calls[-1]["variables"]["id"] == "gid://shopify/WebPixel/7"


def test_a_refused_web_pixel_is_reported_and_the_install_goes_on(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings the extension's TOML does not accept (Shopify checks them on create).
    monkeypatch.setattr(shopify_sync, "PIXEL_STOREFRONT_EVENTS", "both")
    fake = FakeShopify()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        body = callback(client, start_install(client)).get_json()
    assert body["ok"] is True and body["webhooks_registered"] == 9
    assert body["web_pixel"].startswith("not activated: webPixelCreate: storefront_events fails")
    assert fake.web_pixel is None


@pytest.mark.parametrize("shop", ["test-shop", "a", "shop-with-a-long-name-0123456789"])
def test_the_pixel_settings_pass_the_extensions_own_validations(
    settings: Settings, shop: str
) -> None:
    encoded = json.dumps(shopify_sync.web_pixel_settings(settings, shop))
    assert pixel_settings_problems(encoded) == []
    assert pixel_settings_problems(json.dumps({"shoprec_url": "recs.example.test"})) != []


def test_callback_refuses_a_wrong_state(client: FlaskClient) -> None:
    start_install(client)
    response = callback(client, "0" * 32)
    assert response.status_code == 401 and response.get_json()["code"] == "bad_state"


def test_callback_without_the_state_cookie_is_refused(client: FlaskClient) -> None:
    state = start_install(client)
    client.delete_cookie(STATE_COOKIE, path="/shopify/callback")
    assert callback(client, state).status_code == 401


def test_callback_with_a_tampered_query_is_refused(client: FlaskClient) -> None:
    state = start_install(client)
    params = {"code": "abc", "shop": DOMAIN, "state": state, "timestamp": str(int(time.time()))}
    query = signed(params).replace("code=abc", "code=abd")
    assert client.get(f"/shopify/callback?{query}").status_code == 401


def test_install_needs_the_app_credentials(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data")
    client = create_app(settings, {"TESTING": True}).test_client()
    response = client.get(f"/shopify/install?shop={DOMAIN}")
    assert response.status_code == 503 and response.get_json()["code"] == "not_configured"


def test_install_request_at_the_embedded_app_url_goes_on_to_the_oauth_install(
    client: FlaskClient,
) -> None:
    """shopify.app.toml's app URL is /admin/shopify; Shopify's first (install) request there
    carries hmac and no session token, and must reach the OAuth install with its signature."""
    host = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGVzdC1zaG9w"
    query = signed({"host": host, "shop": DOMAIN, "timestamp": str(int(time.time()))})
    response = client.get(f"/admin/shopify?{query}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/shopify/install?{query}"
    grant = client.get(response.headers["Location"])
    assert grant.status_code == 302
    assert urlsplit(grant.headers["Location"]).path == "/admin/oauth/authorize"
    # Without hmac or token it is still refused.
    assert client.get(f"/admin/shopify?shop={DOMAIN}").status_code == 401
