"""The widget's paths under the shop's /apps/shoprec: script, recommendations and events.

Events through the app proxy keep only Shopify's signed identity: the shop and customer the
page names are replaced by the signed ones, and an unsigned request stores nothing.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from config import Settings
from connectors.signatures import sign_shopify_proxy
from plugin import create_app

SECRET = "proxy-secret"


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return dataclasses.replace(trained_settings, shopify_api_secret=SECRET)


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings, {"TESTING": True}).test_client()


def signed(
    customer: str = "", secret: str = SECRET, extra: tuple[tuple[str, str], ...] = ()
) -> str:
    """The query Shopify's proxy adds (and signs) to the page's own parameters `extra`."""
    params = [
        *extra,
        ("shop", "demo.myshopify.com"),
        ("logged_in_customer_id", customer),
        ("path_prefix", "/apps/shoprec"),
        ("timestamp", str(int(time.time()))),
    ]
    return urlencode([*params, ("signature", sign_shopify_proxy(secret, params))])


def stored(settings: Settings, visitor: str) -> list[tuple[str, str, str | None]]:
    conn = sqlite3.connect(settings.data_dir / "demo" / "shop.db")
    try:
        return conn.execute(
            "SELECT type, product_id, customer_id FROM events WHERE visitor_id = ? "
            "ORDER BY event_id",
            (visitor,),
        ).fetchall()
    finally:
        conn.close()


def event(visitor: str, **fields: object) -> dict[str, object]:
    return {"shop": "demo", "type": "view", "product_id": "P1", "visitor_id": visitor, **fields}


def test_events_take_the_signed_customer_not_the_pages(
    client: FlaskClient, settings: Settings
) -> None:
    body = [
        event("v-in", customer_id="someone-else", customer_token="forged"),
        event("v-in", type="add_to_cart", shop="another-shop"),
    ]
    answer = client.post(
        f"/apps/shoprec/api/v1/events?{signed('4242')}",
        data=json.dumps(body),
        content_type="text/plain",
    )
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["stored"] == 2
    assert stored(settings, "v-in") == [("view", "P1", "4242"), ("add_to_cart", "P1", "4242")]


def test_logged_out_events_keep_no_customer(client: FlaskClient, settings: Settings) -> None:
    answer = client.post(
        f"/apps/shoprec/api/v1/events?{signed('')}",
        data=json.dumps(event("v-out", customer_id="claimed")),
    )
    assert answer.status_code == 202
    assert stored(settings, "v-out") == [("view", "P1", None)]


def test_unsigned_or_forged_events_store_nothing(client: FlaskClient, settings: Settings) -> None:
    body = json.dumps(event("v-forged"))
    assert client.post("/apps/shoprec/api/v1/events", data=body).status_code == 401
    forged = client.post(f"/apps/shoprec/api/v1/events?{signed('1', 'wrong')}", data=body)
    assert forged.status_code == 401 and forged.get_json()["code"] == "invalid_signature"
    assert stored(settings, "v-forged") == []


def test_bad_events_get_the_storefront_validators_answer(client: FlaskClient) -> None:
    answer = client.post(
        f"/apps/shoprec/api/v1/events?{signed()}", data=json.dumps(event("v", type="purchase"))
    )
    assert answer.status_code == 400
    assert "type must be one of" in answer.get_json()["error"]
    junk = client.post(f"/apps/shoprec/api/v1/events?{signed()}", data=b"{not json")
    assert junk.status_code == 400 and junk.get_json()["code"] == "invalid_json"


def test_recommendations_and_script_under_the_widgets_own_paths(client: FlaskClient) -> None:
    query = signed(extra=(("context", "home"), ("limit", "4")))
    mine = client.get(f"/apps/shoprec/api/v1/recommendations?{query}")
    theirs = client.get(f"/apps/shoprec/recommendations?{query}")
    assert mine.status_code == 200, mine.get_json()
    ids = [i["product_id"] for i in mine.get_json()["items"]]
    assert len(ids) == 4 and ids == [i["product_id"] for i in theirs.get_json()["items"]]
    assert client.get("/apps/shoprec/api/v1/recommendations?context=home").status_code == 401
    with client.get("/apps/shoprec/widget.js") as script, client.get("/api/v1/widget.js") as usual:
        assert script.status_code == 200 and script.mimetype == "text/javascript"
        assert script.data == usual.data
