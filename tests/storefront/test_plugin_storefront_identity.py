"""A shopper's personal lists go only to that shopper: a customer id counts when signed.

The sweep asks every storefront route (recommendations JSON for every context and slot, the
widget HTML fragment, the app proxy, events) on the trained demo shop as a shopper with a
purchase history, with no token, a forged, an expired and another shop's token, and checks
each answer is exactly the anonymous visitor's. A valid token gets the personal list, the
one the service computes for that customer in-process (as before signing existed).
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient
from signed_shoppers import customer_token, set_identity_open
from storefront_client import API, SHOP

from config import Settings
from connectors.signatures import sign_shopify_proxy
from engine.base import CONTEXT_SLOTS
from plugin import create_app
from plugin.storefront.browse_signals import browse_job_id
from plugin.storefront.request_params import RecommendationParams
from plugin.storefront.shopper_identity import ensure_identity_secret, rotate_api_key
from plugin.storefront.shopper_tokens import MAX_TOKEN_TTL_S, make_shopper_token
from serving.service import build_service
from storage.db import open_shop_db
from storage.orders import popular_products
from worker.queues import QUEUE_EMAIL, get_queue

PROXY_SECRET = "proxy-secret"
SESSION, VISITOR = "sweep-session", "sweep-visitor"
SWEEP = [(context, slot) for context, slots in CONTEXT_SLOTS.items() for slot in slots]
BAD_TOKENS = ("unsigned", "forged", "expired", "overlong", "cross_shop", "garbage")


def _redis_url(conn: redis.Redis) -> str:
    kw = conn.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


@pytest.fixture
def settings(trained_settings: Settings, redis_conn: redis.Redis) -> Settings:
    """The trained demo shop with a second shop beside it, a proxy secret and real Redis."""
    open_shop_db(trained_settings.data_dir, "other", create=True).close()
    return dataclasses.replace(
        trained_settings, shopify_api_secret=PROXY_SECRET, redis_url=_redis_url(redis_conn)
    )


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def shopper(db: sqlite_utils.Database) -> str:
    """The customer with the most order lines: plenty for a personal list to show."""
    row = db.execute(
        "SELECT customer_id FROM order_lines WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1"
    ).fetchone()
    return str(row[0])


def bad_token(settings: Settings, kind: str, customer: str) -> str | None:
    """A customer_token for `customer` that must prove nothing."""
    now = int(time.time())
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    secret = ensure_identity_secret(db, "test")
    db.close()
    if kind == "unsigned":
        return None
    if kind == "forged":
        return make_shopper_token("f" * 64, SHOP, customer, now + 600)
    if kind == "expired":
        return make_shopper_token(secret, SHOP, customer, now - 1)
    if kind == "overlong":
        return make_shopper_token(secret, SHOP, customer, now + MAX_TOKEN_TTL_S + 600)
    if kind == "cross_shop":
        # Valid at shop "other" (its own secret, its name): worthless at demo.
        other = open_shop_db(settings.data_dir, "other", create=False)
        other_secret = ensure_identity_secret(other, "test")
        other.close()
        return make_shopper_token(other_secret, "other", customer, now + 600)
    return f"{customer}.{now + 600}.signed"


def query(context: str, slot: str, anchors: list[str], **extra: Any) -> dict[str, Any]:
    base = {"shop": SHOP, "context": context, "slot": slot, "limit": 8}
    base |= {"session_id": SESSION, "visitor_id": VISITOR}
    if context in ("product", "cart", "post_purchase"):
        base["product_id"] = anchors[:1] if context == "product" else anchors[:2]
    return base | {k: v for k, v in extra.items() if v is not None}


def listed(client: FlaskClient, params: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
    response = client.get(API, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return [(i["product_id"], i["reason"]) for i in body["items"]], body["identity"]


def fragment(client: FlaskClient, params: dict[str, Any]) -> str:
    context = params.pop("context")
    response = client.get(f"/api/v1/widgets/{context}", query_string=params)
    assert response.status_code == 200
    # The request id differs per answer; everything else must be the same bytes.
    return re.sub(r"[0-9a-f]{32}", "RID", response.get_data(as_text=True))


def bought_titles(db: sqlite_utils.Database, customer: str) -> set[str]:
    rows = db.execute(
        "SELECT DISTINCT p.title FROM order_lines l JOIN products p USING (product_id) "
        "WHERE l.customer_id = ?",
        (customer,),
    )
    return {r[0] for r in rows}


def test_sweep_every_storefront_list_is_anonymous_without_a_valid_token(
    client: FlaskClient, settings: Settings, db: sqlite_utils.Database, shopper: str
) -> None:
    anchors = popular_products(db, limit=2)
    # Reasons may name the page's own products ("Bought together with <anchor>").
    anchor_titles = {
        r[0] for r in db.execute("SELECT title FROM products WHERE product_id IN (?, ?)", anchors)
    }
    titles = bought_titles(db, shopper) - anchor_titles
    for context, slot in SWEEP:
        anonymous, label = listed(client, query(context, slot, anchors))
        assert label == "anonymous"
        html = fragment(client, query(context, slot, anchors))
        for reason in (r for _, r in anonymous):
            assert not any(title in reason for title in titles), (context, slot, reason)
        for kind in BAD_TOKENS:
            token = bad_token(settings, kind, shopper)
            claimed = query(context, slot, anchors, customer_id=shopper, customer_token=token)
            where = (context, slot, kind)
            assert listed(client, claimed) == (anonymous, "anonymous"), where
            assert fragment(client, claimed) == html, where
        # The app proxy without a logged-in customer: no claim of the query counts either.
        route = [(k, v) for k, v in query(context, slot, anchors).items() if k != "shop"]
        flat = [(k, x) for k, v in route for x in (v if isinstance(v, list) else [v])]
        flat = [(k, str(v)) for k, v in flat]
        proxy_anonymous = proxy_list(client, flat)
        assert proxy_anonymous[1] == "anonymous"
        for kind in (*BAD_TOKENS, "valid"):
            token = (
                customer_token(settings, shopper)
                if kind == "valid"
                else bad_token(settings, kind, shopper)
            )
            claim = [("customer_id", shopper)] + ([("customer_token", token)] if token else [])
            assert proxy_list(client, flat + claim) == proxy_anonymous, (context, slot, kind)


def test_a_valid_token_serves_the_personal_list_as_before(
    client: FlaskClient, settings: Settings, db: sqlite_utils.Database, shopper: str
) -> None:
    anchors = popular_products(db, limit=2)
    token = customer_token(settings, shopper)
    service = build_service(settings)
    differs = []
    for context, slot in SWEEP:
        signed, label = listed(client, query(context, slot, anchors, customer_token=token))
        assert label == "customer"
        params = query(context, slot, anchors)
        in_process = service.recommend(
            RecommendationParams(
                shop=SHOP,
                context=context,
                slot=slot,
                product_ids=tuple(params.get("product_id", ())),
                customer_id=shopper,
                session_id=SESSION,
                visitor_id=VISITOR,
                limit=8,
            )
        )
        assert signed == [(i["product_id"], i["reason"]) for i in in_process["items"]]
        anonymous, _ = listed(client, params)
        if signed != anonymous:
            differs.append((context, slot))
    # The shopper's history shows where lists are personal: home and every email slot.
    assert {("home", "for_you"), ("email", "because_you_bought")} <= set(differs)
    personal = dict(
        listed(client, query("email", "because_you_bought", [], customer_token=token))[0]
    )
    assert any(
        title in reason for reason in personal.values() for title in bought_titles(db, shopper)
    )


def test_the_api_key_or_open_mode_trusts_customer_id(
    client: FlaskClient, settings: Settings, db: sqlite_utils.Database, shopper: str
) -> None:
    ask = query("home", "for_you", [], customer_id=shopper)
    signed = listed(
        client, query("home", "for_you", [], customer_token=customer_token(settings, shopper))
    )
    key, _ = rotate_api_key(db, "test")
    response = client.get(API, query_string=ask, headers={"X-Shoprec-Key": key})
    assert [(i["product_id"], i["reason"]) for i in response.get_json()["items"]] == signed[0]
    assert response.get_json()["identity"] == "customer"
    wrong = client.get(API, query_string=ask, headers={"X-Shoprec-Key": key + "x"})
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "invalid_api_key"
    set_identity_open(settings)
    assert listed(client, ask) == (signed[0], "open")


def proxied(params: list[tuple[str, str]], customer: str = "") -> str:
    base = [
        ("shop", "demo.myshopify.com"),
        ("logged_in_customer_id", customer),
        ("path_prefix", "/apps/shoprec"),
        ("timestamp", str(int(time.time()))),
        *params,
    ]
    return urlencode([*base, ("signature", sign_shopify_proxy(PROXY_SECRET, base))])


def proxy_list(client: FlaskClient, params: list[tuple[str, str]], customer: str = "") -> Any:
    response = client.get(f"/apps/shoprec/recommendations?{proxied(params, customer)}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [(i["product_id"], i["reason"]) for i in body["items"]], body["identity"]


def test_app_proxy_answers_only_for_the_signed_logged_in_customer(
    client: FlaskClient, settings: Settings, db: sqlite_utils.Database, shopper: str
) -> None:
    other = db.execute(
        "SELECT customer_id FROM order_lines WHERE customer_id NOT IN (?, '') "
        "GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1",
        (shopper,),
    ).fetchone()[0]
    home = [("context", "home"), ("slot", "for_you"), ("session_id", SESSION)]
    anonymous = proxy_list(client, home)
    assert anonymous[1] == "anonymous"
    token = customer_token(settings, shopper)
    for claim in ([("customer_id", shopper)], [("customer_token", token)]):
        assert proxy_list(client, home + claim) == anonymous
    as_shopper = proxy_list(client, home, customer=shopper)
    assert as_shopper[1] == "customer" and as_shopper[0] != anonymous[0]
    # Signed for the shopper, claiming the other customer: the answer is the shopper's.
    assert proxy_list(client, home + [("customer_id", other)], customer=shopper) == as_shopper
    direct = query("home", "for_you", [], customer_token=token)
    direct.pop("visitor_id")
    assert listed(client, direct)[0] == as_shopper[0]


def view(product: str, customer: str, token: str | None) -> dict[str, Any]:
    event = {"shop": SHOP, "type": "view", "product_id": product, "customer_id": customer}
    event |= {"session_id": SESSION, "visitor_id": VISITOR}
    event["ts"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return event | ({"customer_token": token} if token else {})


def test_events_are_attributed_and_start_timers_only_when_signed(
    client: FlaskClient,
    settings: Settings,
    db: sqlite_utils.Database,
    shopper: str,
    redis_conn: redis.Redis,
) -> None:
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    before = db.execute("SELECT count(*) FROM events WHERE customer_id = ?", (shopper,))
    count = before.fetchone()[0]
    products = popular_products(db, limit=len(BAD_TOKENS) + 1)
    batch = [
        view(product, shopper, bad_token(settings, kind, shopper))
        for product, kind in zip(products, BAD_TOKENS, strict=False)
    ]
    response = client.post("/api/v1/events", json=batch)
    assert response.status_code == 202 and response.get_json()["stored"] == len(BAD_TOKENS)
    assert queue.job_ids == []
    after = db.execute("SELECT count(*) FROM events WHERE customer_id = ?", (shopper,))
    assert after.fetchone()[0] == count
    stored = db.execute(
        "SELECT count(*) FROM events WHERE session_id = ? AND customer_id IS NULL", (SESSION,)
    )
    assert stored.fetchone()[0] == len(BAD_TOKENS)
    # An anonymous visitor's dismissal still works, by visitor id.
    dismissed = products[0]
    dismiss = {"shop": SHOP, "type": "dismiss", "product_id": dismissed, "visitor_id": VISITOR}
    assert client.post("/api/v1/events", json=dismiss).status_code == 202
    trending = listed(client, query("home", "trending", [], limit=20))[0]
    assert dismissed not in [pid for pid, _ in trending]
    signed = view(products[-1], shopper, customer_token(settings, shopper))
    assert client.post("/api/v1/events", json=signed).status_code == 202
    assert queue.job_ids == [browse_job_id(SHOP, shopper, signed["ts"][:10])]
    last = db.execute("SELECT customer_id FROM events ORDER BY event_id DESC LIMIT 1")
    assert last.fetchone()[0] == shopper


def test_a_signed_shoppers_session_id_alone_reveals_no_purchase(
    client: FlaskClient, settings: Settings, db: sqlite_utils.Database, shopper: str
) -> None:
    """Whoever holds a session id gets that session's own views at most: serving never goes
    from a session to the customer who signed events in it, nor to their orders."""
    token = customer_token(settings, shopper)
    viewed = popular_products(db, limit=3)
    batch = [view(product, shopper, token) for product in viewed]
    assert client.post("/api/v1/events", json=batch).status_code == 202
    titles = bought_titles(db, shopper) - {
        r[0] for r in db.execute("SELECT title FROM products WHERE product_id IN (?, ?, ?)", viewed)
    }
    for context, slot in SWEEP:
        ask = query(context, slot, viewed)
        ask.pop("visitor_id")
        items, label = listed(client, ask)
        assert label == "anonymous"
        for _, reason in items:
            assert "you bought" not in reason, (context, slot, reason)
            assert not any(title in reason for title in titles), (context, slot, reason)


def test_events_with_the_api_key_or_in_open_mode_keep_the_customer(
    client: FlaskClient, settings: Settings, db: sqlite_utils.Database, shopper: str
) -> None:
    key, _ = rotate_api_key(db, "test")
    product = popular_products(db, limit=1)[0]
    event = view(product, shopper, None) | {"session_id": "keyed"}
    wrong = client.post("/api/v1/events", json=event, headers={"X-Shoprec-Key": "srk_x_y"})
    assert wrong.status_code == 401
    keyed = client.post("/api/v1/events", json=event, headers={"X-Shoprec-Key": key})
    assert keyed.status_code == 202
    set_identity_open(settings)
    opened = client.post("/api/v1/events", json=event | {"session_id": "opened"})
    assert opened.status_code == 202
    rows = db.execute(
        "SELECT session_id, customer_id FROM events WHERE session_id IN ('keyed', 'opened') "
        "ORDER BY session_id"
    )
    assert [tuple(r) for r in rows] == [("keyed", shopper), ("opened", shopper)]
