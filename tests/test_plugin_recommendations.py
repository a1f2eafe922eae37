"""The recommendation service: per-request rules, the untrained fallback, and its caches."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from config import Settings, load_settings
from demo.shop import DEFAULT_NOW, generate_demo_shop
from engine.errors import InputError
from plugin.storefront.request_params import RecommendationParams
from serving.model_cache import ModelCache
from serving.service import (
    FALLBACK_NEWEST,
    FALLBACK_POPULAR,
    ExpiringSets,
    RecommendationService,
    build_service,
    serving_profile,
)
from storage.catalog import get_products, unavailable_product_ids, upsert_products
from storage.db import open_shop_db
from storage.events import insert_events
from storage.orders import popular_products, upsert_order_lines, upsert_orders
from worker.training import models_dir, train_shop

SHOP = "demo"
NOW = DEFAULT_NOW.replace(tzinfo=UTC)  # the demo data's "today"


@pytest.fixture(scope="module")
def raw_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo shop, not trained."""
    data_dir = tmp_path_factory.mktemp("raw") / "data"
    db = open_shop_db(data_dir, SHOP)
    generate_demo_shop(db, seed=7, n_customers=150, days=180)
    db.close()
    return data_dir


@pytest.fixture(scope="module")
def trained_data(raw_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("trained") / "data"
    shutil.copytree(raw_data, data_dir)
    train_shop(load_settings({}, data_dir=data_dir), SHOP)
    return data_dir


def _copy(source: Path, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(source, data_dir)
    return load_settings({}, data_dir=data_dir)


@pytest.fixture
def trained(trained_data: Path, tmp_path: Path) -> Settings:
    return _copy(trained_data, tmp_path)


@pytest.fixture
def untrained(raw_data: Path, tmp_path: Path) -> Settings:
    return _copy(raw_data, tmp_path)


def service_for(settings: Settings, now: datetime = NOW) -> RecommendationService:
    """The real service, with the clock at `now` and no stock cache (every call reads stock)."""
    service = build_service(settings)
    return RecommendationService(
        settings, service.model_cache, today=lambda: now, unavailable=ExpiringSets(0)
    )


@pytest.fixture
def db_of() -> Iterator[Any]:
    opened: list[sqlite_utils.Database] = []

    def _open(settings: Settings) -> sqlite_utils.Database:
        opened.append(open_shop_db(settings.data_dir, SHOP, create=False))
        return opened[-1]

    yield _open
    for db in opened:
        db.close()


def params(**kwargs: Any) -> RecommendationParams:
    base: dict[str, Any] = {"shop": SHOP, "context": "home", "slot": "for_you", "limit": 8}
    return RecommendationParams(**{**base, **kwargs})


def available_best_sellers(db: sqlite_utils.Database) -> list[str]:
    hidden = unavailable_product_ids(db, NOW.date().isoformat())
    return [p for p in popular_products(db, limit=100) if p not in hidden]


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["product_id"] for item in answer["items"]]


def test_answer_shape(trained: Settings) -> None:
    answer = service_for(trained).recommend(params(limit=5))
    assert list(answer) == ["shop", "context", "slot", "request_id", "identity", "items"]
    assert answer["identity"] == "anonymous"
    assert [item["position"] for item in answer["items"]] == [1, 2, 3, 4, 5]
    assert all(
        item["strategy"] not in (FALLBACK_POPULAR[0], FALLBACK_NEWEST[0])
        for item in answer["items"]
    )
    assert service_for(trained).recommend(params())["request_id"] != answer["request_id"]


def test_draft_and_expired_products_are_left_out(trained: Settings, db_of: Any) -> None:
    db = db_of(trained)
    anchor = popular_products(db, limit=1)[0]
    service = service_for(trained)
    ask = params(context="product", slot="similar", product_ids=(anchor,), limit=6)
    first, second, *_ = ids(service.recommend(ask))
    upsert_products(
        db,
        [
            {"product_id": first, "status": "draft"},
            {"product_id": second, "available_until": "2026-10-31"},
        ],
    )
    after = ids(service.recommend(ask))
    assert first not in after and second not in after and len(after) == 6
    # Two days earlier the product was still on sale, so it was shown.
    assert second in ids(service_for(trained, NOW - timedelta(days=2)).recommend(ask))


def test_recently_bought_is_left_out_for_that_customer(trained: Settings, db_of: Any) -> None:
    db = db_of(trained)
    service = service_for(trained)
    customer = db.execute(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL ORDER BY created_at LIMIT 1"
    ).fetchone()[0]
    target = ids(service.recommend(params(customer_id=customer)))[0]
    bought_at = (NOW - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    upsert_orders(db, [{"order_id": "t-1", "customer_id": customer, "created_at": bought_at}])
    upsert_order_lines(db, [("t-1", f"{target}#1", target, customer, bought_at, 1, 10.0)])
    assert target not in ids(service.recommend(params(customer_id=customer)))
    # Bought 40 days before "today": old enough to be shown again.
    assert target in ids(
        service_for(trained, NOW + timedelta(days=37)).recommend(params(customer_id=customer))
    )


def test_dismissals_count_by_customer_and_by_session(trained: Settings, db_of: Any) -> None:
    db = db_of(trained)
    service = service_for(trained)
    shown = ids(service.recommend(params(context="home", slot="trending")))
    insert_events(
        db,
        [
            {
                "ts": "2026-11-01T10:00:00",
                "type": "dismiss",
                "product_id": shown[0],
                "customer_id": "c-x",
            },
            {
                "ts": "2026-11-01T10:00:00",
                "type": "dismiss",
                "product_id": shown[1],
                "session_id": "s-y",
            },
        ],
    )
    by_customer = ids(service.recommend(params(slot="trending", customer_id="c-x")))
    by_session = ids(service.recommend(params(slot="trending", session_id="s-y")))
    assert shown[0] not in by_customer and shown[1] in by_customer
    assert shown[1] not in by_session and shown[0] in by_session


def test_products_deleted_since_training_are_dropped(trained: Settings, db_of: Any) -> None:
    db = db_of(trained)
    service = service_for(trained)
    shown = ids(service.recommend(params(slot="trending", limit=4)))
    with db.conn:
        db.conn.execute("DELETE FROM products WHERE product_id = ?", (shown[0],))
    after = ids(service.recommend(params(slot="trending", limit=4)))
    assert shown[0] not in after and len(after) == 4


def test_untrained_shop_gets_best_sellers_with_an_honest_reason(
    untrained: Settings, db_of: Any
) -> None:
    db = db_of(untrained)
    assert not models_dir(untrained, SHOP).exists() or not any(
        models_dir(untrained, SHOP).iterdir()
    )
    top = available_best_sellers(db)
    answer = service_for(untrained).recommend(
        params(context="product", slot="similar", product_ids=(top[0],), limit=5)
    )
    assert ids(answer) == top[1:6]
    categories = {p: r["category"] for p, r in get_products(db, ids(answer)).items()}
    assert [item["reason"] for item in answer["items"]] == [
        f"Best seller in {categories[p]}" for p in ids(answer)
    ]
    assert {item["strategy"] for item in answer["items"]} == {FALLBACK_POPULAR[0]}


def test_fallback_applies_the_rules_and_fills_with_new_products(
    untrained: Settings, db_of: Any
) -> None:
    db = db_of(untrained)
    top = available_best_sellers(db)
    insert_events(
        db,
        [
            {
                "ts": "2026-11-01T10:00:00",
                "type": "dismiss",
                "product_id": top[0],
                "session_id": "s-1",
            }
        ],
    )
    answer = service_for(untrained).recommend(params(session_id="s-1", limit=50))
    assert top[0] not in ids(answer) and top[1] == ids(answer)[0]
    with db.conn:
        db.conn.execute("DELETE FROM order_lines")
    fresh = service_for(untrained).recommend(params(limit=3))
    assert {item["strategy"] for item in fresh["items"]} == {FALLBACK_NEWEST[0]}
    assert all(item["reason"].startswith("Latest in ") for item in fresh["items"])
    assert len(fresh["items"]) == 3


def test_expiring_sets_recompute_after_the_ttl() -> None:
    clock = [100.0]
    cache = ExpiringSets(5.0, clock=lambda: clock[0])
    calls: list[int] = []

    def compute() -> set[str]:
        calls.append(1)
        return {f"v{len(calls)}"}

    assert cache.get(("a", "d"), compute) == {"v1"}
    clock[0] += 4.9
    assert cache.get(("a", "d"), compute) == {"v1"}
    assert cache.get(("b", "d"), compute) == {"v2"}  # per shop
    clock[0] += 0.2
    assert cache.get(("a", "d"), compute) == {"v3"}
    clock[0] += 5.1
    assert cache.get(("c", "e"), compute) == {"v4"}
    assert len(cache._values) == 1  # the other keys had expired and were dropped


def test_model_cache_reloads_only_when_the_folder_changes(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    loaded: list[Path] = []

    def loader(directory: Path) -> object:
        loaded.append(directory)
        return object()

    cache = ModelCache(lambda shop: folder / shop, loader)
    assert cache.get("s") is None and loaded == []
    (folder / "s").mkdir(parents=True)
    (folder / "s" / "items.npz").write_bytes(b"1")
    first = cache.get("s")
    assert cache.get("s") is first and cache.loads == 1
    stat = (folder / "s" / "items.npz").stat()
    os.utime(folder / "s" / "items.npz", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cache.get("s") is not first and cache.loads == 2
    shutil.rmtree(folder / "s")
    assert cache.get("s") is None


def test_model_cache_sees_a_retrain(trained: Settings) -> None:
    service = service_for(trained)
    service.recommend(params())
    service.recommend(params())
    assert service.model_cache.loads == 1
    folder = models_dir(trained, SHOP)
    for path in folder.iterdir():
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    service.recommend(params())
    assert service.model_cache.loads == 2


def test_limit_is_cut_to_the_context_maximum(trained: Settings, db_of: Any) -> None:
    cart = tuple(available_best_sellers(db_of(trained))[:2])
    service = service_for(trained)
    cart_ask = params(context="cart", slot="complete_the_look", product_ids=cart, limit=10)
    assert len(ids(service.recommend(cart_ask))) == 4
    assert len(ids(service.recommend(params(context="home", limit=50)))) == 12
    assert len(ids(service.recommend(params(context="home", limit=3)))) == 3


def test_a_profile_changes_one_request_and_is_cached_apart(trained: Settings) -> None:
    service = build_service(trained)  # with the serving cache: keys must tell profiles apart
    service._now = lambda: NOW  # type: ignore[method-assign]
    ask = params(slot="trending", limit=6)
    plain = ids(service.recommend(ask))
    profile = {"rules": {"home/trending": {"blocked_products": [plain[0]]}}}
    varied = ids(service.recommend(ask, profile=profile))
    assert plain[0] not in varied and varied[0] == plain[1]
    assert ids(service.recommend(ask)) == plain
    assert ids(service.recommend(ask, profile=profile)) == varied
    assert service.serving_cache is not None and service.serving_cache.hits >= 2
    # The key is a hash of the content: other key order, same key; other content, other key.
    same = {"weights": {}, "rules": {"home/trending": {"blocked_products": [plain[0]]}}}
    assert serving_profile(same).key == serving_profile(profile).key != serving_profile(None).key
    assert (
        serving_profile({"rules": {"home": {"exploration": 0.2}}}).key
        != serving_profile(profile).key
    )


def test_profile_weights_reblend_the_models(trained: Settings, db_of: Any) -> None:
    anchor = available_best_sellers(db_of(trained))[0]
    service = service_for(trained)
    ask = params(context="product", slot="also_viewed", product_ids=(anchor,), limit=8)
    plain = service.recommend(ask)["items"]
    popular = {"weights": {"product/also_viewed": {"popularity": 1.0}}}
    varied = service.recommend(ask, profile=popular)["items"]
    assert [i["product_id"] for i in varied] != [i["product_id"] for i in plain]
    assert {i["strategy"] for i in varied} <= {"popularity", "exploration", "pinned"}


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"weight": {}}, "profile has unknown keys ['weight']"),
        ({"weights": {"home": {"magic": 1}}}, "weights source must be one of"),
        ({"weights": [1]}, "profile.weights must map"),
        ({"rules": {"home": {"exploration": 0.9}}}, "rules.home.exploration must be between"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_problem(
    trained: Settings, profile: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        service_for(trained).recommend(params(), profile=profile)


def test_an_untrained_shops_upgrade_is_still_pricier(untrained: Settings, db_of: Any) -> None:
    db = db_of(untrained)
    sellers = available_best_sellers(db)[:20]
    by_price = sorted(sellers, key=lambda p: get_products(db, [p])[p]["price"])
    anchor = by_price[len(by_price) // 2]  # a mid-priced cart item: both sides exist
    ask = params(context="cart", slot="upgrade", product_ids=(anchor,), limit=4)
    got = ids(service_for(untrained).recommend(ask))
    prices = {p: r["price"] for p, r in get_products(db, [anchor, *got]).items()}
    assert got and all(prices[p] > prices[anchor] for p in got)
    # The other cart slots have no price rule: the same best sellers include cheaper ones.
    look = params(context="cart", slot="complete_the_look", product_ids=(anchor,), limit=4)
    shown = ids(service_for(untrained).recommend(look))
    look_prices = {p: r["price"] for p, r in get_products(db, shown).items()}
    assert any(price <= prices[anchor] for price in look_prices.values())
