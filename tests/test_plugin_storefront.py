"""The storefront HTTP API against a small real demo shop, trained once per module.

Each test works on its own copy of the trained data folder, so a test that sets stock,
renames a product or stores events cannot change what another test sees.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from config import Settings, load_settings
from plugin import create_app
from plugin.request_params import MAX_EVENT_BATCH
from storage.catalog import set_inventory, upsert_products
from storage.orders import popular_products

SHOP = "demo"
API = "/api/v1/recommendations"
ERROR_KEYS = {"ok", "error", "errors", "status", "code"}
ITEM_KEYS = {"product_id", "title", "price", "url", "image_url", "reason"}
NASTY_TITLE = "<script>alert(1)</script> \"quoted\" & 'single'"


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    """This test's own copy of the trained demo shop."""
    return trained_settings


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def ask(client: FlaskClient, **params: Any) -> Any:
    query = {"shop": SHOP, "context": "product", **params}
    response = client.get(API, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def ids(response: Any) -> list[str]:
    return [item["product_id"] for item in response.get_json()["items"]]


def assert_canonical_error(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["ok"] is False and body["status"] == status and body["errors"]
    assert body["error"] == "; ".join(body["errors"])
    for word in words:
        assert word in body["error"]
    return body


def test_happy_path_has_the_contract_keys(client: FlaskClient, anchor: str) -> None:
    response = ask(client, product_id=anchor, limit=5)
    body = response.get_json()
    assert set(body) == {"shop", "context", "slot", "request_id", "items"}
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
    assert len(ids(ask(client, context="home", slot="trending", limit=limit))) == limit


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


JUNK_BODIES: list[Any] = [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b"null",
    b"42",
    b'"text"',
    b"{}",
    b"[1, 2]",
    b'{"shop": "demo"}',
    b'{"shop": "demo", "type": "view"}',
    b'{"shop": ["demo"], "type": "view", "product_id": "p001"}',
    b'{"shop": "demo", "type": "view", "product_id": {"a": 1}}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "position": "x"}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "ts": "yesterday"}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "ts": 12}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "slot": "<b>"}',
    b'{"shop": "../x", "type": "view", "product_id": "p001"}',
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("body", JUNK_BODIES)
def test_junk_event_bodies_never_500(client: FlaskClient, body: bytes) -> None:
    response = client.post("/api/v1/events", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert set(response.get_json()) == ERROR_KEYS


def test_methods_not_allowed_answer_json(client: FlaskClient) -> None:
    response = client.delete(API)
    assert_canonical_error(response, 405)


def event_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM events WHERE session_id LIKE 'beacon-%' ORDER BY event_id"))


def test_single_event_is_stored(client: FlaskClient, db: sqlite_utils.Database) -> None:
    event = {
        "shop": SHOP,
        "type": "click",
        "product_id": "p002",
        "session_id": "beacon-1",
        "customer_id": "c001",
        "request_id": "r" * 32,
        "slot": "similar",
        "strategy": "content",
        "position": 3,
        "context": "product",
    }
    response = client.post("/api/v1/events", json=event)
    assert response.status_code == 202
    assert response.get_json() == {"ok": True, "stored": 1}
    [row] = event_rows(db)
    assert {k: row[k] for k in event if k != "shop"} == {
        k: v for k, v in event.items() if k != "shop"
    }
    assert len(row["ts"]) == 19  # server time, store format


def test_batch_is_stored_as_plain_text_beacon(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    batch = [
        {
            "shop": SHOP,
            "type": "impression",
            "product_id": f"p00{i}",
            "session_id": "beacon-2",
            "ts": "2026-11-20T10:00:00Z",
            "position": i,
        }
        for i in range(1, 4)
    ]
    response = client.post("/api/v1/events", data=json.dumps(batch), content_type="text/plain")
    assert response.status_code == 202 and response.get_json()["stored"] == 3
    assert [r["product_id"] for r in event_rows(db)] == ["p001", "p002", "p003"]
    assert event_rows(db)[0]["ts"] == "2026-11-20T10:00:00"
    again = client.post("/api/v1/events", json=batch)
    assert again.get_json()["stored"] == 0  # the same beacon twice is stored once


def test_bad_event_names_the_field_and_index(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    batch = [
        {"shop": SHOP, "type": "view", "product_id": "p001", "session_id": "beacon-3"},
        {"shop": SHOP, "type": "purchase", "product_id": "p002", "session_id": "beacon-3"},
    ]
    response = client.post("/api/v1/events", json=batch)
    body = assert_canonical_error(response, 400, "events[1].type must be one of")
    assert body["code"] == "invalid_event"
    assert event_rows(db) == []  # nothing of a bad batch is stored


def test_oversized_batch_is_refused(client: FlaskClient, db: sqlite_utils.Database) -> None:
    batch = [
        {"shop": SHOP, "type": "view", "product_id": f"p{i}", "session_id": "beacon-4"}
        for i in range(MAX_EVENT_BATCH + 1)
    ]
    assert_canonical_error(client.post("/api/v1/events", json=batch), 413, "at most 100")
    assert event_rows(db) == []


def test_events_for_unknown_shop_are_404(client: FlaskClient) -> None:
    event = {"shop": "other", "type": "view", "product_id": "p001"}
    assert_canonical_error(client.post("/api/v1/events", json=event), 404, "unknown shop")


def test_cors_echoes_origin_and_answers_preflight(client: FlaskClient, anchor: str) -> None:
    origin = "https://shop.example.com"
    response = client.get(
        API, query_string={"shop": SHOP, "context": "home"}, headers={"Origin": origin}
    )
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in response.headers["Vary"]
    preflight = client.options(
        "/api/v1/events", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in client.get(API).headers


def test_titles_are_exact_in_json_and_escaped_in_html(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    target = ids(ask(client, product_id=anchor, limit=3))[0]
    upsert_products(db, [{"product_id": target, "title": NASTY_TITLE}])
    items = ask(client, product_id=anchor, limit=3).get_json()["items"]
    assert items[0]["product_id"] == target and items[0]["title"] == NASTY_TITLE
    response = client.get(
        "/api/v1/widgets/product", query_string={"shop": SHOP, "product_id": anchor, "limit": 3}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; &#39;single&#39;" in html
    assert html.count('class="shoprec-card"') == 3
    assert re.search(r"shoprec_rid=[0-9a-f]{32}&amp;", html)
    assert "shoprec_slot=frequently_bought_together" in html and "shoprec_pos=1" in html


def test_unsafe_urls_never_become_links(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    target = ids(ask(client, product_id=anchor, limit=2))[0]
    upsert_products(
        db,
        [
            {
                "product_id": target,
                "url": "javascript:alert(1)",
                "image_url": "data:image/svg+xml,<svg onload=alert(1)>",
            }
        ],
    )
    html = client.get(
        "/api/v1/widgets/product", query_string={"shop": SHOP, "product_id": anchor, "limit": 2}
    ).get_data(as_text=True)
    assert "javascript:" not in html and "data:image" not in html


def test_widget_bad_input_is_a_harmless_fragment(client: FlaskClient) -> None:
    response = client.get("/api/v1/widgets/product", query_string={"shop": SHOP, "limit": "abc"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert text.strip().startswith("<!--") and text.strip().endswith("-->")


def test_widget_script_is_served_and_small(client: FlaskClient) -> None:
    for url in ("/static/widget.js", "/api/v1/widget.js"):
        response = client.get(url)
        assert response.status_code == 200
        assert "javascript" in response.mimetype
        body = response.get_data()
        assert b"data-shoprec" in body or b"[data-shoprec]" in body
        assert len(gzip.compress(body)) < 8 * 1024
        response.close()
    source = (Path(__file__).resolve().parents[1] / "plugin" / "static" / "widget.js").read_text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source


def test_healthz_without_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "redis": "absent", "shops": 1}


def test_healthz_degraded_when_redis_does_not_answer(settings: Settings) -> None:
    dead = load_settings({}, data_dir=settings.data_dir, redis_url="redis://127.0.0.1:1/0")
    body = create_app(dead).test_client().get("/healthz").get_json()
    assert body == {"status": "degraded", "redis": "down", "shops": 1}


@pytest.mark.redis
def test_healthz_with_redis(settings: Settings, redis_conn: Any) -> None:
    kwargs = redis_conn.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    live = load_settings({}, data_dir=settings.data_dir, redis_url=url)
    body = create_app(live).test_client().get("/healthz").get_json()
    assert body == {"status": "ok", "redis": "ok", "shops": 1}


# The demo storefront (blueprint 'demo') that `shoprec demo` serves.


def test_demo_home_lists_categories_and_embeds_the_widget(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="tile"') >= 12 * 3
    assert 'data-shoprec="home"' in html and "/static/widget.js" in html
    assert "/demo/product/p001" in html


def test_demo_product_page_has_three_placeholders(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    upsert_products(
        db,
        [
            {
                "product_id": "p001",
                "title": NASTY_TITLE,
                "description": "<p>Rich <b>crema</b></p><script>x()</script>",
            }
        ],
    )
    response = client.get("/demo/product/p001")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for slot in ("frequently_bought_together", "also_viewed", "similar"):
        assert f'data-slot="{slot}"' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "Rich crema" in html and "<b>crema" not in html
    assert client.get("/demo/product/nope").status_code == 404


def test_demo_cart_page(client: FlaskClient) -> None:
    html = client.get("/demo/cart?items=p001,p002,nope").get_data(as_text=True)
    assert 'data-product-ids="p001,p002"' in html
    assert html.count('data-shoprec="cart"') == 3
    assert "Your cart is empty" in client.get("/demo/cart").get_data(as_text=True)


def test_demo_category_images_are_svg(client: FlaskClient) -> None:
    response = client.get("/demo/static/img/home-decor.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and ">H</text>" in svg and "Home Decor" in svg
    assert client.get("/demo/static/img/..%2Fx.svg").status_code == 404


def test_demo_pages_without_a_shop_explain_what_to_run(tmp_path: Path) -> None:
    client = create_app(load_settings({}, data_dir=tmp_path / "empty")).test_client()
    response = client.get("/")
    assert response.status_code == 404 and "shoprec demo" in response.get_data(as_text=True)


def test_oversized_body_is_413(client: FlaskClient) -> None:
    body = b'{"shop": "demo", "pad": "' + b"x" * 300_000 + b'"}'
    response = client.post("/api/v1/events", data=body, content_type="text/plain")
    assert_canonical_error(response, 413)


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
