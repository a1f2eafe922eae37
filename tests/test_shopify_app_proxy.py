"""The app proxy: Shopify's signature checked, then the storefront's own answer."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from config import Settings
from connectors.signatures import sign_shopify_proxy
from plugin import create_app

SECRET = "proxy-secret"


@pytest.fixture
def client(trained_settings: Settings) -> FlaskClient:
    settings = dataclasses.replace(trained_settings, shopify_api_secret=SECRET)
    return create_app(settings, {"TESTING": True}).test_client()


def proxied(params: list[tuple[str, str]], secret: str = SECRET) -> str:
    base = [
        ("shop", "demo.myshopify.com"),
        ("logged_in_customer_id", ""),
        ("path_prefix", "/apps/shoprec"),
        ("timestamp", str(int(time.time()))),
        *params,
    ]
    return urlencode([*base, ("signature", sign_shopify_proxy(secret, base))])


def test_signed_request_gets_the_storefront_answer(client: FlaskClient) -> None:
    query = [("context", "home"), ("limit", "4")]
    via_proxy = client.get(f"/apps/shoprec/recommendations?{proxied(query)}")
    direct = client.get("/api/v1/recommendations?shop=demo&context=home&limit=4")
    assert via_proxy.status_code == 200, via_proxy.get_json()
    mine, theirs = via_proxy.get_json(), direct.get_json()
    assert mine["shop"] == "demo" and len(mine["items"]) == 4
    assert [i["product_id"] for i in mine["items"]] == [i["product_id"] for i in theirs["items"]]
    assert via_proxy.headers["Cache-Control"].startswith("private")


def test_forged_or_tampered_signature_is_refused(client: FlaskClient) -> None:
    forged = proxied([("context", "home")], secret="not-the-secret")
    assert client.get(f"/apps/shoprec/recommendations?{forged}").status_code == 401
    tampered = proxied([("context", "home")]).replace("demo.myshopify", "other.myshopify")
    response = client.get(f"/apps/shoprec/recommendations?{tampered}")
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_signature"


def test_unknown_shop_and_bad_parameters_are_4xx_json(client: FlaskClient) -> None:
    base = [
        ("shop", "nobody.myshopify.com"),
        ("timestamp", str(int(time.time()))),
        ("context", "home"),
    ]
    query = urlencode([*base, ("signature", sign_shopify_proxy(SECRET, base))])
    assert client.get(f"/apps/shoprec/recommendations?{query}").status_code == 404
    bad = client.get(f"/apps/shoprec/recommendations?{proxied([('limit', 'lots')])}")
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]


def test_the_documented_proxy_vector() -> None:
    params = [
        ("extra", "1"),
        ("extra", "2"),
        ("shop", "shop-name.myshopify.com"),
        ("logged_in_customer_id", "1"),
        ("path_prefix", "/apps/awesome_reviews"),
        ("timestamp", "1317327555"),
    ]
    expected = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
    assert sign_shopify_proxy("hush", params) == expected
