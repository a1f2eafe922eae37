"""The serving cache: hits skip the engine, personal rules stay exact, bumps invalidate, a
dead Redis degrades to the in-process cache instead of failing."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
import redis
import sqlite_utils
from flask.testing import FlaskClient

from bench.realistic_traffic import seed_sessions
from config import Settings, load_settings
from engine.base import CONTEXT_SLOTS
from engine.shop_artifacts import load_shop_models
from plugin import create_app
from plugin.storefront.api import SERVICE_KEY
from serving.cache import ServingCache, ShopReaders
from serving.generations import bump_db_generation, generation_key, read_marker
from serving.model_cache import ModelCache
from serving.params import RecommendationParams
from serving.service import RecommendationService
from storage.catalog import set_inventory
from storage.db import models_dir, open_shop_db
from storage.orders import popular_products
from worker.training import train_shop

SHOP = "demo"
API = "/api/v1/recommendations"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(params=["local", "redis"])
def settings(request: pytest.FixtureRequest, trained_settings: Settings) -> Settings:
    """The trained demo shop, served with the in-process cache or with real Redis (DB 15)."""
    if request.param == "local":
        return trained_settings
    request.getfixturevalue("redis_conn")  # skips without Redis, flushes DB 15
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return load_settings({}, data_dir=trained_settings.data_dir, redis_url=url)


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings, {"TESTING": True}).test_client()


def service_of(client: FlaskClient) -> RecommendationService:
    service: RecommendationService = client.application.extensions[SERVICE_KEY]
    return service


def ask(client: FlaskClient, **params: Any) -> list[str]:
    query = {"shop": SHOP, "context": "product", **params}
    response = client.get(API, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["product_id"] for item in response.get_json()["items"]]


def test_a_repeated_anonymous_request_is_served_from_the_cache(
    client: FlaskClient, anchor: str, settings: Settings
) -> None:
    service = service_of(client)
    first = client.get(API, query_string={"shop": SHOP, "context": "product", "product_id": anchor})
    calls = service.engine_calls
    second = client.get(
        API, query_string={"shop": SHOP, "context": "product", "product_id": anchor}
    )
    assert calls == 1 and service.engine_calls == 1
    assert first.get_json()["items"] == second.get_json()["items"]
    assert first.get_json()["items"]
    assert first.get_json()["request_id"] != second.get_json()["request_id"]
    if settings.redis_url:
        conn = redis.Redis.from_url(settings.redis_url)
        assert conn.keys(f"shoprec:{SHOP}:r*")  # the entries really live in Redis
        conn.close()


def test_a_dismissal_hides_the_item_for_that_shopper_only(client: FlaskClient, anchor: str) -> None:
    service = service_of(client)
    shown = ask(client, product_id=anchor, session_id="sess-a")
    event = {"shop": SHOP, "type": "dismiss", "product_id": shown[0], "session_id": "sess-a"}
    assert client.post("/api/v1/events", json=event).status_code == 202
    assert shown[0] not in ask(client, product_id=anchor, session_id="sess-a")
    assert shown[0] in ask(client, product_id=anchor, session_id="sess-b")
    # Both shoppers were served from the one cached pool: the engine ran once.
    assert service.engine_calls == 1


def test_a_stock_out_through_the_webhook_path_drops_the_item_at_once(
    client: FlaskClient, anchor: str, db: sqlite_utils.Database
) -> None:
    before = ask(client, product_id=anchor)
    assert ask(client, product_id=anchor) == before  # cached
    assert set_inventory(db, before[0], 0)
    bump_db_generation(db)  # what worker.receipts does after a batch that touched products
    assert before[0] not in ask(client, product_id=anchor)


def test_a_retrain_invalidates(client: FlaskClient, anchor: str, settings: Settings) -> None:
    service = service_of(client)
    ask(client, product_id=anchor)
    ask(client, product_id=anchor)
    assert service.engine_calls == 1
    marker = read_marker(settings.shop_dir(SHOP))
    train_shop(settings, SHOP)
    assert read_marker(settings.shop_dir(SHOP)) != marker
    if settings.redis_url:
        conn = redis.Redis.from_url(settings.redis_url)
        assert int(conn.get(generation_key(SHOP)) or 0) == 1
        conn.close()
    ask(client, product_id=anchor)
    assert service.engine_calls == 2


def test_in_process_entries_expire_after_the_ttl(tmp_path: Any) -> None:
    now = [100.0]
    settings = load_settings({}, data_dir=tmp_path, cache_ttl_s=60)
    cache = ServingCache(settings, clock=lambda: now[0], max_entries=2)
    gen = cache.generation(SHOP)
    cache.set(SHOP, gen, ("k", 1), ["a"])
    now[0] += 59
    assert cache.get(SHOP, gen, ("k", 1)) == ["a"]
    now[0] += 2
    assert cache.get(SHOP, gen, ("k", 1)) is None
    # Bounded: the least recently used entry goes first.
    for key in ("x", "y", "z"):
        cache.set(SHOP, gen, key, key)
    assert cache.get(SHOP, gen, "x") is None and cache.get(SHOP, gen, "z") == "z"


def test_a_dead_redis_degrades_quickly_and_still_answers(
    trained_settings: Settings, anchor_of_trained: str
) -> None:
    dead = load_settings({}, data_dir=trained_settings.data_dir, redis_url=DEAD_REDIS)
    client = create_app(dead, {"TESTING": True}).test_client()
    service = service_of(client)
    for _ in range(3):
        started = time.perf_counter()
        assert ask(client, product_id=anchor_of_trained)
        assert time.perf_counter() - started < 1.0
    assert service.engine_calls == 1  # the in-process cache took over
    started = time.perf_counter()
    body = client.get("/healthz").get_json()
    assert time.perf_counter() - started < 1.0
    assert body["status"] == "degraded" and body["redis"] == "down"


@pytest.fixture
def anchor_of_trained(trained_settings: Settings) -> str:
    database = open_shop_db(trained_settings.data_dir, SHOP, create=False)
    try:
        return popular_products(database, limit=1)[0]
    finally:
        database.close()


def test_display_reads_are_memoised_until_the_store_changes(trained_settings: Settings) -> None:
    now = [0.0]
    readers = ShopReaders(trained_settings.data_dir, ttl_s=60, clock=lambda: now[0])
    calls: list[int] = []

    def titles(db: sqlite_utils.Database) -> list[str]:
        calls.append(1)
        return [r["title"] for r in db.query("SELECT title FROM products ORDER BY product_id")]

    first = readers.read(SHOP, "k", titles)
    assert readers.read(SHOP, "k", titles) == first and len(calls) == 1
    writer = open_shop_db(trained_settings.data_dir, SHOP, create=False)
    try:
        set_inventory(writer, popular_products(writer, limit=1)[0], 3)  # any commit elsewhere
    finally:
        writer.close()
    readers.read(SHOP, "k", titles)
    assert len(calls) == 2
    now[0] += 61  # and the TTL holds even for a store nobody writes
    readers.read(SHOP, "k", titles)
    assert len(calls) == 3


def test_session_lists_from_a_shared_pool_equal_lists_computed_for_each_session(
    trained_settings: Settings,
) -> None:
    """Product and cart lists of sessions with views, anonymous or of known customers: the
    cached service shares one pool per page between shoppers and still answers exactly what
    the engine computes for each of them (items, order, reasons, strategies)."""
    sessions = seed_sessions(trained_settings.data_dir, SHOP, count=40)
    now = datetime.now(UTC)

    def service(cache: ServingCache | None) -> RecommendationService:
        models = ModelCache(partial(models_dir, trained_settings), load_shop_models)
        return RecommendationService(
            trained_settings, models, today=lambda: now, serving_cache=cache
        )

    shared = service(ServingCache(trained_settings))
    alone = service(None)

    asked = 0
    pages = [s.viewed[:2] for s in sessions[:4]]  # every session visits the same 4 pages
    for n, s in enumerate(sessions):
        for context in ("product", "cart"):
            page = pages[n % len(pages)]
            anchors = page[:1] if context == "product" else page
            for slot in CONTEXT_SLOTS[context]:
                params = RecommendationParams(
                    shop=SHOP,
                    context=context,
                    slot=slot,
                    product_ids=anchors,
                    session_id=s.session_id,
                    visitor_id=s.visitor_id,
                    customer_id=s.customer_id,
                )
                got = shared.recommend(params)["items"]
                want = alone.recommend(params)["items"]
                assert got == want, (context, slot, s.session_id)
                asked += 1
    assert sum(s.customer_id is not None for s in sessions) >= 5  # customers were asked too
    # Distinct sessions asked the same pages: most pools came from the cache.
    assert alone.engine_calls == asked
    assert shared.engine_calls < asked * 0.8
    shared.close()
    alone.close()
