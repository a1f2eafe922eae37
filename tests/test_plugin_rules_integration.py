"""The business rules end to end: shop settings, catalog rows and orders read per request."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlite_utils

from config import Settings
from plugin import create_app
from plugin.recommendations import ExpiringSets, RecommendationService, build_service
from plugin.request_params import MAX_EXCLUDE_IDS, RecommendationParams
from storage.catalog import get_products, upsert_products
from storage.demo_shop import DEFAULT_NOW
from storage.orders import upsert_order_lines, upsert_orders
from storage.shop_settings import set_shop_setting
from worker.training import models_dir

SHOP = "demo"
NOW = DEFAULT_NOW.replace(tzinfo=UTC)
DECEMBER = datetime(2026, 12, 10, 12, tzinfo=UTC)
JUNE = datetime(2027, 6, 15, 12, tzinfo=UTC)


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
    assert filled and {i["reason"] for i in filled} == {"Popular right now"}
    assert {shown[i["product_id"]]["category"] for i in items} == {"Coffee"}
