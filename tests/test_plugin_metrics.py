"""GET /metrics through the test client (this process's counters): the series move by exactly
what a short load did, and the scrape-time gauges read what the stores hold.

Counters are process-wide, so every assertion is on the growth between two scrapes.
Multiprocess mode under gunicorn is in tests/test_metrics_gunicorn.py.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from config import Settings, load_settings
from plugin import create_app
from plugin.metrics_scrape import ShopStoreCollector
from plugin.storefront.api import SERVICE_KEY
from serving.service import RecommendationService
from storage.db import open_shop_db
from storage.deliveries import create_delivery, set_delivery_status
from storage.orders import popular_products
from storage.receipts import store_receipt
from tests.metrics_text import close_app_redis, delta, parse_samples, value
from tests.test_plugin_webhooks import SHOP, fixture_bytes, make_settings, post_shopify
from worker.queues import get_queue
from worker.training import models_dir

LATENCY = "shoprec_http_request_duration_seconds_count"
ANSWERS = "shoprec_recommendation_answers_total"
CACHE = "shoprec_serving_cache_lookups_total"
RECEIPTS = "shoprec_webhook_receipts_total"


def scrape(client: FlaskClient) -> Any:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_samples(response.get_data(as_text=True))


@pytest.fixture
def client(trained_settings: Settings) -> FlaskClient:
    # A second, empty shop: its answers are empty lists.
    open_shop_db(trained_settings.data_dir, "bare").close()
    return create_app(trained_settings, {"TESTING": True}).test_client()


def _anchors(settings: Settings, n: int) -> list[str]:
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        return popular_products(db, days=3650, limit=n)
    finally:
        db.close()


def test_a_short_load_moves_latency_answers_and_cache_series_by_what_it_did(
    client: FlaskClient, trained_settings: Settings
) -> None:
    service: RecommendationService = client.application.extensions[SERVICE_KEY]
    cache = service.serving_cache
    assert cache is not None
    anchors = _anchors(trained_settings, 20)
    before = scrape(client)
    hits, misses = cache.hits, cache.misses
    for i in range(200):
        anchor = anchors[i % len(anchors)]
        response = client.get(
            f"/api/v1/recommendations?shop=demo&context=product&product_id={anchor}"
        )
        assert response.status_code == 200 and response.get_json()["items"]
    for _ in range(60):
        assert (
            client.get("/api/v1/recommendations?shop=bare&context=home").get_json()["items"] == []
        )
    for _ in range(25):
        assert client.get("/api/v1/recommendations?shop=demo&context=nope").status_code == 400
    for _ in range(15):
        assert (
            client.get(f"/api/v1/widgets/cart?shop=demo&product_id={anchors[0]}").status_code == 200
        )
    after = scrape(client)

    endpoint = "storefront.recommendations"
    assert delta(before, after, LATENCY, endpoint=endpoint, context="product", status="200") == 200
    assert delta(before, after, LATENCY, endpoint=endpoint, context="home", status="200") == 60
    # An invalid context is not a label value: junk cannot grow the series count.
    assert delta(before, after, LATENCY, endpoint=endpoint, context="", status="400") == 25
    assert not any(dict(labels).get("context") == "nope" for _, labels in after)
    widget = "storefront.widget_html"
    assert delta(before, after, LATENCY, endpoint=widget, context="cart", status="200") == 15
    bucket = "shoprec_http_request_duration_seconds_bucket"
    inf = {"endpoint": endpoint, "context": "product", "status": "200", "le": "+Inf"}
    assert delta(before, after, bucket, **inf) == 200

    assert delta(before, after, ANSWERS, shop="demo", context="product", empty="false") == 200
    assert delta(before, after, ANSWERS, shop="demo", context="product", empty="true") == 0
    assert delta(before, after, ANSWERS, shop="bare", context="home", empty="true") == 60
    assert delta(before, after, ANSWERS, shop="demo", context="cart", empty="false") == 15

    # The series count exactly what the cache itself counted (both shops), and both moved.
    shops = ("demo", "bare")
    hit_growth = sum(delta(before, after, CACHE, shop=s, result="hit") for s in shops)
    miss_growth = sum(delta(before, after, CACHE, shop=s, result="miss") for s in shops)
    assert (hit_growth, miss_growth) == (cache.hits - hits, cache.misses - misses)
    assert delta(before, after, CACHE, shop="demo", result="hit") > 0
    assert delta(before, after, CACHE, shop="demo", result="miss") >= len(anchors)


def test_webhook_receipts_are_counted_received_duplicate_and_rejected(tmp_path: Any) -> None:
    settings = make_settings(tmp_path, shopify_api_secret="test-app-secret")
    client = create_app(settings, {"TESTING": True}).test_client()
    body = fixture_bytes("orders_create.json")
    before = scrape(client)
    assert post_shopify(client, "orders/create", body, webhook_id="m-1").status_code == 200
    assert post_shopify(client, "orders/create", body, webhook_id="m-1").status_code == 200
    assert (
        post_shopify(client, "orders/create", body, webhook_id="m-2", signature="bad").status_code
        == 401
    )
    unknown = post_shopify(
        client, "orders/create", body, webhook_id="m-3", shop="nope.myshopify.com"
    )
    assert unknown.status_code == 404
    after = scrape(client)
    labels = {"shop": SHOP, "platform": "shopify"}
    assert delta(before, after, RECEIPTS, **labels, outcome="received") == 1
    assert delta(before, after, RECEIPTS, **labels, outcome="duplicate") == 1
    assert delta(before, after, RECEIPTS, **labels, outcome="rejected") == 1
    # A shop that does not exist is never a label value.
    assert delta(before, after, RECEIPTS, shop="", platform="shopify", outcome="rejected") == 1


def _backlog_shop(settings: Settings) -> None:
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        store_receipt(db, "shopify", "orders/create", "old", {}, b"{}")
        store_receipt(db, "shopify", "orders/create", "new", {}, b"{}")
        db.execute(
            "UPDATE webhook_receipts SET received_at = '2000-01-01T00:00:00' "
            "WHERE delivery_id = 'old'"
        )
        db.conn.commit()
        for key, status in (("k-1", "parked"), ("k-2", "pending"), ("k-3", "parked")):
            row, _ = create_delivery(
                db, idempotency_key=key, provider="klaviyo", campaign="browse",
                customer_id="c-1", timer_id=None, summary={}, payload={},
            )  # fmt: skip
            set_delivery_status(db, row["delivery_id"], status, "HTTP 400")
    finally:
        db.close()


def test_scrape_time_gauges_read_backlog_and_model_age(trained_settings: Settings) -> None:
    _backlog_shop(trained_settings)
    client = create_app(trained_settings, {"TESTING": True}).test_client()
    samples = scrape(client)
    assert value(samples, "shoprec_webhook_receipts_pending", shop="demo") == 2
    oldest = datetime(2000, 1, 1, tzinfo=UTC)
    lag = value(samples, "shoprec_webhook_inbox_lag_seconds", shop="demo")
    assert abs(lag - (datetime.now(UTC) - oldest).total_seconds()) < 120
    assert value(samples, "shoprec_email_deliveries", shop="demo", status="parked") == 2
    assert value(samples, "shoprec_email_deliveries", shop="demo", status="pending") == 1
    assert value(samples, "shoprec_email_deliveries", shop="demo", status="failed") == 0
    manifest = json.loads((models_dir(trained_settings, "demo") / "manifest.json").read_text())
    trained_at = datetime.fromisoformat(manifest["trained_at"])
    age = value(samples, "shoprec_model_age_seconds", shop="demo")
    assert abs(age - (datetime.now(UTC) - trained_at).total_seconds()) < 120
    training = value(samples, "shoprec_model_training_seconds", shop="demo")
    assert training == manifest["training_seconds"] and training > 0
    assert value(samples, "shoprec_shop_store_unreadable", shop="demo") == 0
    assert "shoprec_redis_up" not in {name for name, _ in samples}  # no REDIS_URL: not asked


def test_models_trained_before_trained_at_was_kept_date_from_the_manifest_file(
    trained_settings: Settings,
) -> None:
    path = models_dir(trained_settings, "demo") / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["trained_at"], manifest["training_seconds"]
    path.write_text(json.dumps(manifest))
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    samples = scrape(create_app(trained_settings, {"TESTING": True}).test_client())
    assert abs(value(samples, "shoprec_model_age_seconds", shop="demo") - 3600) < 120
    assert ("shoprec_model_training_seconds", frozenset({("shop", "demo")})) not in samples


def test_store_gauges_are_cached_for_a_few_seconds(trained_settings: Settings) -> None:
    now = [100.0]
    collector = ShopStoreCollector(trained_settings, clock=lambda: now[0])

    def pending() -> float:
        family = next(
            m for m in collector.collect() if m.name == "shoprec_webhook_receipts_pending"
        )
        return family.samples[0].value

    assert pending() == 0
    db = open_shop_db(trained_settings.data_dir, "demo", create=False)
    store_receipt(db, "shopify", "orders/create", "d-1", {}, b"{}")
    db.close()
    now[0] += 1
    assert pending() == 0  # within the TTL: one read serves every scrape
    now[0] += 10
    assert pending() == 1


@pytest.mark.redis
def test_queue_depth_is_read_from_redis(trained_settings: Settings, redis_conn: Any) -> None:
    kwargs = redis_conn.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    get_queue("sync", redis_conn).enqueue("worker.jobs.ping", job_id="one")
    get_queue("sync", redis_conn).enqueue("worker.jobs.ping", job_id="two")
    settings = load_settings({}, data_dir=trained_settings.data_dir, redis_url=url)
    app = create_app(settings, {"TESTING": True})
    samples = scrape(app.test_client())
    close_app_redis(app)
    assert value(samples, "shoprec_redis_up") == 1
    assert value(samples, "shoprec_queue_jobs", queue="sync") == 2
    assert value(samples, "shoprec_queue_jobs", queue="default") == 0
    assert ("shoprec_queue_failed_jobs", frozenset({("queue", "email")})) in samples


def test_a_dead_redis_still_scrapes_and_says_so(trained_settings: Settings) -> None:
    dead = load_settings({}, data_dir=trained_settings.data_dir, redis_url="redis://127.0.0.1:1/0")
    samples = scrape(create_app(dead, {"TESTING": True}).test_client())
    assert value(samples, "shoprec_redis_up") == 0
    assert not any(name == "shoprec_queue_jobs" for name, _ in samples)
    assert value(samples, "shoprec_webhook_receipts_pending", shop="demo") == 0
