"""The recommendations JSON API: the contract, limits, slots, per-shopper rules, bad input.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient
from storefront_client import (
    API,
    ITEM_KEYS,
    SHOP,
    ask,
    assert_canonical_error,
    ids,
)

from config import Settings
from engine.slot_limits import limits_for
from plugin import create_app
from storage.catalog import set_inventory
from storage.orders import popular_products


def test_happy_path_has_the_contract_keys(client: FlaskClient, anchor: str) -> None:
    response = ask(client, product_id=anchor, limit=5)
    body = response.get_json()
    assert set(body) == {"shop", "context", "slot", "request_id", "identity", "items", "widget"}
    assert body["identity"] == "anonymous"
    assert (body["shop"], body["context"], body["slot"]) == (
        SHOP,
        "product",
        "frequently_bought_together",
    )
    assert len(body["request_id"]) == 32
    assert len(body["items"]) == 5
    for position, item in enumerate(body["items"], start=1):
        assert ITEM_KEYS <= set(item)
        assert item["position"] == position and item["reason"] and item["title"]
        assert item["url"].startswith("/demo/product/")
    assert anchor not in ids(response)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    personal = ask(client, product_id=anchor, session_id="s-1")
    assert personal.headers["Cache-Control"] == "private, max-age=60"
    assert len(personal.get_json()["items"]) == 8  # settings.default_limit


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_limit_is_respected(client: FlaskClient, anchor: str, limit: int) -> None:
    # A context never shows more than its maximum (engine.slot_limits), whatever is asked.
    expected = min(limit, limits_for("home").maximum)
    assert len(ids(ask(client, context="home", slot="trending", limit=limit))) == expected


def test_every_slot_answers(client: FlaskClient, anchor: str, db: sqlite_utils.Database) -> None:
    cart = ",".join(popular_products(db, limit=3))
    for context, slot, anchors in [
        ("product", "also_viewed", anchor),
        ("product", "similar", anchor),
        ("cart", "complete_the_look", cart),
        ("cart", "upgrade", cart),
        ("cart", "dont_forget", cart),
    ]:
        body = ask(client, context=context, slot=slot, product_id=anchors).get_json()
        assert body["slot"] == slot and body["items"], (context, slot)
        shown = [i["product_id"] for i in body["items"]]
        assert len(set(shown)) == len(shown)
        assert not set(anchors.split(",")) & set(shown)


def test_out_of_stock_product_is_left_out(
    settings: Settings, client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    before = ids(ask(client, product_id=anchor, limit=4))
    assert set_inventory(db, before[0], 0)
    # A fresh app: the unavailable set is cached per process for a few seconds.
    after = ids(ask(create_app(settings).test_client(), product_id=anchor, limit=4))
    assert before[0] not in after
    assert len(after) == 4


def test_dismissed_product_is_hidden_from_that_shopper_only(
    client: FlaskClient, anchor: str
) -> None:
    shown = ids(ask(client, product_id=anchor, session_id="sess-a"))
    event = {"shop": SHOP, "type": "dismiss", "product_id": shown[0], "session_id": "sess-a"}
    assert client.post("/api/v1/events", json=event).status_code == 202
    assert shown[0] not in ids(ask(client, product_id=anchor, session_id="sess-a"))
    assert shown[0] in ids(ask(client, product_id=anchor, session_id="sess-b"))


def test_anonymous_dismissal_lasts_across_sessions_for_that_visitor(
    client: FlaskClient, anchor: str
) -> None:
    first = ask(client, product_id=anchor, session_id="tab-1", visitor_id="v-1")
    assert first.headers["Cache-Control"] == "private, max-age=60"
    hidden = ids(first)[0]
    event = {"shop": SHOP, "type": "dismiss", "product_id": hidden, "session_id": "tab-1"}
    assert client.post("/api/v1/events", json={**event, "visitor_id": "v-1"}).status_code == 202
    # A new tab (new session id) of the same browser: still gone; another browser: shown.
    assert hidden not in ids(ask(client, product_id=anchor, session_id="tab-2", visitor_id="v-1"))
    assert hidden in ids(ask(client, product_id=anchor, session_id="tab-3", visitor_id="v-2"))
    visitor_only = ask(client, product_id=anchor, visitor_id="v-1")
    assert visitor_only.headers["Cache-Control"] == "private, max-age=60"


def test_unknown_shop_is_404(client: FlaskClient) -> None:
    for shop in ("nosuchshop", "../etc", "UPPER", "x" * 300):
        response = client.get(API, query_string={"shop": shop, "context": "home"})
        assert_canonical_error(response, 404, "unknown shop")


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"context": "bogus"}, "context must be one of"),
        ({"context": "product", "slot": "trending"}, "slot must be one of"),
        ({"limit": "0"}, "limit must be an integer between 1 and 50"),
        ({"limit": "999"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "\u0663"}, "limit"),  # an Arabic-Indic digit: isdigit() but not a limit
        ({"product_id": "p" * 500}, "product_id must be 1-128 characters"),
        ({"product_id": "p001\x00"}, "product_id"),
        ({"customer_id": "c\n1"}, "customer_id"),
        ({"session_id": "\x1b[31m"}, "session_id"),
        ({"visitor_id": "v" * 129}, "visitor_id must be 1-128 characters"),
        ({"shop": ""}, "shop is required"),
    ],
)
def test_bad_parameters_are_400_in_the_canonical_shape(
    client: FlaskClient, params: dict[str, str], word: str
) -> None:
    query = {"shop": SHOP, "context": "product", **params}
    body = assert_canonical_error(client.get(API, query_string=query), 400, word)
    assert body["code"] == "invalid_parameter"


def test_every_problem_is_named_at_once(client: FlaskClient) -> None:
    query = {"shop": SHOP, "context": "product", "slot": "nope", "limit": "x"}
    body = assert_canonical_error(client.get(API, query_string=query), 400)
    assert len(body["errors"]) == 2


JUNK_GETS = [
    API,
    API + "?shop=demo",
    API + "?context=home",
    API + "?shop=demo&context=home&limit=",
    API + "?shop=demo&context=home&limit=1e3",
    API + "?shop=%00&context=home",
    API + "?shop=demo&context=home&product_id=" + "%FF%FE" * 40,
    API + "?shop=demo&context=cart&product_id=" + ",".join(f"p{i}" for i in range(80)),
    API + "?shop=demo&context=home&context=cart&slot=&slot=upgrade",
    API + "?shop=demo&context=%F0%9F%92%A5",
    "/api/v1/nothing",
    "/api/v1/widgets/",
    "/api/v1/widgets/bogus?shop=demo",
    "/api/v1/widgets/home?shop=demo&limit=0",
    "/api/v1/widgets/home?shop=nope",
    "/healthz?x=%00",
]


@pytest.mark.parametrize("url", JUNK_GETS)
def test_junk_requests_never_500(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code < 500
    if "/widgets/" in url:
        assert response.mimetype == "text/html"
        assert "Traceback" not in response.get_data(as_text=True)
    else:
        assert response.is_json


def test_methods_not_allowed_answer_json(client: FlaskClient) -> None:
    response = client.delete(API)
    assert_canonical_error(response, 405)


def test_unexpected_errors_never_leak_a_traceback(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(params: Any) -> Any:
        raise RuntimeError("secret internals at /srv/shoprec")

    monkeypatch.setattr(app.extensions["shoprec.recommendations"], "recommend", broken)
    response = client.get(API, query_string={"shop": SHOP, "context": "home"})
    body = assert_canonical_error(response, 500)
    assert body["code"] == "internal_error" and "secret" not in response.get_data(as_text=True)
    widget = client.get("/api/v1/widgets/home", query_string={"shop": SHOP})
    assert widget.status_code == 500 and "secret" not in widget.get_data(as_text=True)
