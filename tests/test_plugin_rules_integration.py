"""The business rules end to end: shop settings, catalog rows and orders read per request."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask.testing import FlaskClient
from signed_shoppers import customer_token

from config import Settings, load_settings
from demo.shop import DEFAULT_NOW
from engine.base import RecommendationRequest
from plugin import create_app
from plugin.storefront.request_params import MAX_EXCLUDE_IDS, RecommendationParams
from serving.service import ExpiringSets, RecommendationService, build_service
from storage.catalog import get_products, set_inventory, upsert_products
from storage.events import insert_events
from storage.orders import upsert_order_lines, upsert_orders
from storage.receipts import store_receipt
from storage.shop_settings import set_shop_setting
from worker.receipts import process_receipt
from worker.training import models_dir

SHOP = "demo"
NOW = DEFAULT_NOW.replace(tzinfo=UTC)
DECEMBER = datetime(2026, 12, 10, 12, tzinfo=UTC)
JUNE = datetime(2027, 6, 15, 12, tzinfo=UTC)
SHOPIFY_FIXTURES = Path(__file__).parent / "fixtures" / "shopify"


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    """This test's own copy of the trained demo shop."""
    return trained_settings


def answer_at(settings: Settings, when: datetime, **kwargs: Any) -> list[dict[str, Any]]:
    service = build_service(settings)
    service = RecommendationService(
        settings, service.model_cache, today=lambda: when, unavailable=ExpiringSets(0)
    )
    base: dict[str, Any] = {"shop": SHOP, "context": "home", "slot": "trending", "limit": 8}
    return service.recommend(RecommendationParams(**{**base, **kwargs}))["items"]


def ids_at(settings: Settings, when: datetime, **kwargs: Any) -> list[str]:
    return [item["product_id"] for item in answer_at(settings, when, **kwargs)]


def strategies_at(settings: Settings, when: datetime, **kwargs: Any) -> list[str]:
    return [item["strategy"] for item in answer_at(settings, when, **kwargs)]


def test_out_of_season_item_is_hidden_in_june_and_shown_in_december(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    top = ids_at(settings, DECEMBER)[0]
    upsert_products(db, [{"product_id": top, "season_tags": "christmas"}])
    assert ids_at(settings, DECEMBER)[0] == top
    june = ids_at(settings, JUNE)
    assert top not in june and len(june) == 8


def test_blocked_category_is_hidden_during_its_dates_then_back(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    before = ids_at(settings, NOW)
    category = get_products(db, [before[0]])[before[0]]["category"]
    rules = {
        "default": {
            "blocked_categories": [
                {"category": category, "start": "2026-11-01", "end": "2026-11-05"}
            ]
        }
    }
    set_shop_setting(db, "rules", rules, changed_by="test")
    during = ids_at(settings, NOW)
    shown = get_products(db, during)
    assert len(during) == 8 and all(shown[p]["category"] != category for p in during)
    after = ids_at(settings, NOW + timedelta(days=5))
    assert before[0] in after


def test_bought_category_moves_down_for_that_customer(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    customer = "rules-customer"
    before = ids_at(settings, NOW, customer_id=customer)
    products = get_products(db, before)
    category = products[before[0]]["category"]
    top_before = [products[p]["category"] for p in before[:2]].count(category)
    bought = db.execute(
        "SELECT product_id FROM products WHERE category = ? AND product_id NOT IN "
        f"({', '.join('?' for _ in before)}) LIMIT 1",
        (category, *before),
    ).fetchone()[0]
    at = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    upsert_orders(db, [{"order_id": "r-1", "customer_id": customer, "created_at": at}])
    upsert_order_lines(db, [("r-1", f"{bought}#1", bought, customer, at, 1, 10.0)])
    after = ids_at(settings, NOW, customer_id=customer)
    categories = get_products(db, after)
    assert top_before >= 1
    assert [categories[p]["category"] for p in after[:2]].count(category) == 0
    # 14 days on, the push-down has ended.
    later = ids_at(settings, NOW + timedelta(days=14), customer_id=customer)
    assert later[0] == before[0]


def test_exclude_parameter_through_the_api(settings: Settings) -> None:
    client = create_app(settings, {"TESTING": True}).test_client()
    query = {"shop": SHOP, "context": "home", "slot": "trending", "limit": 6}
    shown = [
        i["product_id"]
        for i in client.get("/api/v1/recommendations", query_string=query).json["items"]
    ]
    excluded = client.get(
        "/api/v1/recommendations",
        query_string={**query, "exclude": f"{shown[0]},{shown[1]}"},
    ).json["items"]
    repeated = client.get(
        f"/api/v1/recommendations?shop={SHOP}&context=home&slot=trending&limit=6"
        f"&exclude={shown[0]}&exclude={shown[2]}"
    ).json["items"]
    assert {shown[0], shown[1]}.isdisjoint(i["product_id"] for i in excluded) and len(excluded) == 6
    assert {shown[0], shown[2]}.isdisjoint(i["product_id"] for i in repeated)
    too_many = ",".join(f"x{i}" for i in range(MAX_EXCLUDE_IDS + 1))
    bad = client.get("/api/v1/recommendations", query_string={**query, "exclude": too_many})
    assert bad.status_code == 400 and f"at most {MAX_EXCLUDE_IDS} exclude values" in bad.text


def test_an_invalid_rules_setting_falls_back_to_the_defaults(
    settings: Settings, db: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    set_shop_setting(db, "rules", {"home": {"exploration": 0.5}}, changed_by="test")
    assert len(ids_at(settings, NOW)) == 8
    assert "rules.home.exploration must be between 0 and 0.2, got 0.5" in caplog.text
    assert date(2026, 11, 1) == NOW.date()


def test_untrained_shop_keeps_the_hard_rules(settings: Settings, db: sqlite_utils.Database) -> None:
    shutil.rmtree(models_dir(settings, SHOP))
    before = ids_at(settings, NOW)
    assert before and all(
        item == "popular_fallback" for item in strategies_at(settings, NOW)[: len(before)]
    )
    set_shop_setting(db, "rules", {"home": {"blocked_products": [before[0]]}}, changed_by="test")
    upsert_products(db, [{"product_id": before[1], "season_tags": "summer"}])
    after = ids_at(settings, NOW)
    assert before[0] not in after and before[1] not in after and after[0] == before[2]


def test_a_short_list_is_filled_with_popular_items_to_the_context_minimum(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    categories = [r[0] for r in db.execute("SELECT DISTINCT category FROM products")]
    others = [c for c in categories if c != "Coffee"]
    set_shop_setting(db, "rules", {"home": {"blocked_categories": others}}, changed_by="test")
    items = answer_at(settings, NOW, limit=8)
    shown = get_products(db, [i["product_id"] for i in items])
    filled = [i for i in items if i["strategy"] == "popular_fallback"]
    assert len(items) == 6  # home's minimum, although the engine's pool held fewer Coffee items
    assert filled and {i["reason"] for i in filled} == {"Best seller in Coffee"}
    assert {shown[i["product_id"]]["category"] for i in items} == {"Coffee"}


# -- signals take effect on the next request, through the app and its serving cache --------


def app_ids(client: FlaskClient, **query: Any) -> list[str]:
    response = client.get("/api/v1/recommendations", query_string={"shop": SHOP, **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["product_id"] for item in response.get_json()["items"]]


@pytest.fixture(params=["local", "redis"])
def client(request: pytest.FixtureRequest, settings: Settings) -> FlaskClient:
    """The app over the trained shop, its serving cache in-process or in a real Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_conn")  # skips without Redis, flushes the test DB
        url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        settings = load_settings({}, data_dir=settings.data_dir, redis_url=url)
    return create_app(settings, {"TESTING": True}).test_client()


def test_a_purchase_webhook_shows_on_the_customers_next_request(
    settings: Settings, db: sqlite_utils.Database, client: FlaskClient
) -> None:
    customer = db.execute(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL ORDER BY created_at LIMIT 1"
    ).fetchone()[0]
    token = customer_token(settings, customer)
    ask = {"context": "home", "slot": "for_you", "customer_token": token, "limit": 8}
    before = app_ids(client, **ask)
    bought = before[0]
    category = get_products(db, [bought])[bought]["category"]
    payload = json.loads((SHOPIFY_FIXTURES / "orders_create.json").read_text())
    payload |= {"id": 990001, "created_at": datetime.now(UTC).isoformat()}
    payload["customer"] = {**payload["customer"], "id": customer}
    payload["line_items"] = [{**payload["line_items"][0], "id": 1, "product_id": bought}]
    receipt_id, _ = store_receipt(
        db, "shopify", "orders/create", "rules-order-1", {}, json.dumps(payload).encode()
    )
    assert process_receipt(settings, SHOP, receipt_id)["status"] == "processed"
    after = app_ids(client, **ask)
    shown = get_products(db, after)
    assert bought not in after and len(after) == 8
    # ... and the bought category is pushed down (for_you: x0.5 for 14 days).
    before_cats = [get_products(db, before)[p]["category"] for p in before]
    after_cats = [shown[p]["category"] for p in after]
    assert before_cats[0] == category != after_cats[0]
    assert after_cats[:3].count(category) < before_cats[:3].count(category)


def test_a_dismissal_shows_on_the_visitors_next_request_only(
    db: sqlite_utils.Database, client: FlaskClient
) -> None:
    ask = {"context": "home", "slot": "trending", "limit": 8}
    shown = app_ids(client, visitor_id="v-1", **ask)
    assert app_ids(client, visitor_id="v-1", **ask) == shown  # the shared, cached answer
    event = {"shop": SHOP, "type": "dismiss", "product_id": shown[0], "visitor_id": "v-1"}
    assert client.post("/api/v1/events", json=event).status_code == 202
    again = app_ids(client, visitor_id="v-1", **ask)
    assert shown[0] not in again and len(again) == 8
    assert app_ids(client, visitor_id="v-2", **ask) == shown
    assert app_ids(client, **ask) == shown


def test_a_stock_out_shows_on_the_next_request_even_from_a_cached_answer(
    db: sqlite_utils.Database, client: FlaskClient
) -> None:
    ask = {"context": "home", "slot": "trending", "limit": 6}
    shown = app_ids(client, **ask)
    assert set_inventory(db, shown[0], 0)  # e.g. the admin or a sync: no cache bump
    after = app_ids(client, **ask)
    assert shown[0] not in after and after[: len(shown) - 1] == shown[1:]


def test_a_rules_or_weights_change_shows_on_the_next_request(
    db: sqlite_utils.Database, client: FlaskClient
) -> None:
    ask = {"context": "home", "slot": "trending", "limit": 6}
    shown = app_ids(client, **ask)
    assert app_ids(client, **ask) == shown
    set_shop_setting(db, "rules", {"home": {"blocked_products": [shown[1]]}}, "owner")
    blocked = app_ids(client, **ask)
    assert shown[1] not in blocked and blocked[0] == shown[0]
    set_shop_setting(db, "weights", {"home/trending": {"content": 0.1, "popularity": 1}}, "owner")
    reweighted = app_ids(client, **ask)
    assert reweighted != blocked and shown[1] not in reweighted
    set_shop_setting(db, "rules", {}, "owner")
    set_shop_setting(db, "weights", {}, "owner")
    assert app_ids(client, **ask) == shown


def test_a_rules_or_weights_change_shows_on_a_shoppers_next_request(
    db: sqlite_utils.Database, client: FlaskClient
) -> None:
    """The personal path (session and visitor ids, never a cached answer) keeps the parsed
    settings per settings change: each change still shows on the very next request."""
    ask = {"context": "home", "slot": "for_you", "limit": 6, "visitor_id": "v-memo"}
    shown = app_ids(client, session_id="s-memo-1", **ask)
    assert app_ids(client, session_id="s-memo-2", **ask) == shown
    set_shop_setting(db, "rules", {"home": {"blocked_products": [shown[1]]}}, "owner")
    blocked = app_ids(client, session_id="s-memo-3", **ask)
    assert shown[1] not in blocked and blocked[0] == shown[0]
    set_shop_setting(db, "weights", {"home/for_you": {"content": 0.1, "popularity": 1}}, "owner")
    reweighted = app_ids(client, session_id="s-memo-4", **ask)
    assert reweighted != blocked and shown[1] not in reweighted
    set_shop_setting(db, "rules", {}, "owner")
    set_shop_setting(db, "weights", {}, "owner")
    assert app_ids(client, session_id="s-memo-5", **ask) == shown


def test_default_lists_are_diverse_where_the_catalog_allows(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    for slot in ("for_you", "trending"):
        shown = ids_at(settings, NOW, slot=slot, limit=6)
        categories = [r["category"] for r in get_products(db, shown).values()]
        assert len(shown) == 6
        assert max(categories.count(c) for c in categories) <= 2 and len(set(categories)) >= 3


def test_exploration_gives_a_slot_to_a_rarely_shown_relevant_item(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    with db.conn:  # nothing is new, so only impressions can make an item explorable
        db.conn.execute("UPDATE products SET created_at = '2020-01-01T00:00:00'")
    plain = answer_at(settings, NOW, limit=8)
    assert "exploration" not in {i["strategy"] for i in plain}  # the shop records no impressions
    deeper = ids_at(settings, NOW, limit=12)
    rare = deeper[-1]
    assert rare not in [i["product_id"] for i in plain]
    at = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    products = [r[0] for r in db.execute("SELECT product_id FROM products")]
    insert_events(
        db,
        [
            {"ts": at, "type": "impression", "product_id": pid, "request_id": f"r{n}"}
            for pid in products
            for n in range(2 if pid == rare else 30)
        ],
    )
    explored = [i for i in answer_at(settings, NOW, limit=8) if i["strategy"] == "exploration"]
    assert [i["product_id"] for i in explored] == [rare]
    assert not explored[0]["reason"].startswith("New in")  # the model's own, true reason
    # Two weeks later those impressions no longer count: nothing is known to be rare.
    later = answer_at(settings, NOW + timedelta(days=15), limit=8)
    assert "exploration" not in {i["strategy"] for i in later}


def test_for_you_follows_a_concentrated_shoppers_categories_past_the_usual_cap(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    # The shoppers whose purchases sit most in one category: calibrated caps (the for_you
    # default) let their list follow that, where the usual cap (4 of 12) would stop it.
    rows = db.execute(
        "SELECT l.customer_id, p.category, COUNT(*) AS n FROM order_lines l "
        "JOIN products p USING (product_id) WHERE l.customer_id IS NOT NULL "
        "GROUP BY 1, 2 ORDER BY n DESC LIMIT 5"
    ).fetchall()
    off = {"home/for_you": {"calibrate_categories": False}}
    grew = 0
    for customer, category, _ in rows:
        set_shop_setting(db, "rules", None)
        calibrated = ids_at(settings, NOW, slot="for_you", customer_id=customer, limit=12)
        set_shop_setting(db, "rules", off)
        capped = ids_at(settings, NOW, slot="for_you", customer_id=customer, limit=12)
        count = {
            name: [r["category"] for r in get_products(db, shown).values()].count(category)
            for name, shown in (("calibrated", calibrated), ("capped", capped))
        }
        assert count["capped"] <= 4
        cats = {r["category"] for r in get_products(db, calibrated).values()}
        assert len(cats) >= 3  # the spread over categories still holds
        grew += count["calibrated"] > count["capped"]
        # Short lists too: a pool in the shopper's two categories gets a third's best seller.
        set_shop_setting(db, "rules", None)
        for limit in (6, 8):
            shown = ids_at(settings, NOW, slot="for_you", customer_id=customer, limit=limit)
            assert len({r["category"] for r in get_products(db, shown).values()}) >= 3
    assert grew >= 1


def test_a_product_added_after_training_borrows_its_lookalikes_pairs(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    # A best seller's "Deluxe" edition arrives by import after the last training: its page
    # gets what shoppers buy with the original, and says so, before any retrain.
    best = db.execute(
        "SELECT l.product_id, p.title, p.category FROM order_lines l JOIN products p "
        "USING (product_id) GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
    ).fetchone()
    upsert_products(
        db,
        [
            {
                "product_id": "deluxe-1",
                "title": f"{best[1]} Deluxe",
                "category": best[2],
                "price": 99.0,
                "inventory": 5,
                "status": "active",
            }
        ],
    )
    items = answer_at(
        settings,
        NOW,
        context="product",
        slot="frequently_bought_together",
        product_ids=("deluxe-1",),
    )
    reasons = [item["reason"] for item in items]
    assert len(items) >= 4 and "deluxe-1" not in [item["product_id"] for item in items]
    assert any(r.endswith(", a similar product") for r in reasons), reasons
    assert not all(r.startswith(("Best seller", "Popular", "Trending")) for r in reasons)


def test_a_pool_whose_other_categories_are_all_out_of_season_still_spans_three(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    # The engine's pool for a product's also_viewed spans several categories, but in June
    # every item of it outside the product's own category is out of season: the spread (3
    # categories) and the cap (2 of 6) must then come from best sellers of other categories,
    # though the pool itself looked diverse enough not to need them.
    anchor = db.execute(
        "SELECT product_id FROM products WHERE status = 'active' AND inventory > 0 "
        "ORDER BY product_id LIMIT 1 OFFSET 60"
    ).fetchone()[0]
    own = get_products(db, [anchor])[anchor]["category"]
    models = build_service(settings).model_cache.get(SHOP)
    ask = RecommendationRequest("product", "also_viewed", product_ids=(anchor,), limit=40)
    pool = [r.product_id for r in models.recommend(ask)]
    facts = get_products(db, pool)
    assert len({facts[p]["category"] for p in pool}) >= 3  # the pool itself looks diverse
    elsewhere = [p for p in pool if facts[p]["category"] != own]
    upsert_products(db, [{"product_id": p, "season_tags": "christmas"} for p in elsewhere])
    shown = ids_at(
        settings, JUNE, context="product", slot="also_viewed", product_ids=(anchor,), limit=6
    )
    categories = [r["category"] for r in get_products(db, shown).values()]
    assert len(shown) == 6 and not set(shown) & set(elsewhere)
    assert len(set(categories)) >= 3 and categories.count(own) <= 2
