"""Models are retrained without anyone asking: when they are old, when orders grew, when the
product set changed; and a due shop gets one retrain job, which a real worker runs."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from test_worker_training import seed_store

from config import Settings
from storage.catalog import upsert_products
from storage.db import models_dir, open_shop_db
from storage.orders import order_counts, upsert_orders
from worker.jobs import retrain_if_due_job
from worker.queues import QUEUE_DEFAULT, get_queue, retrain_job_id
from worker.retrain_due import read_manifest, retrain_decision
from worker.training import train_shop

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def add_orders(settings: Settings, n: int, prefix: str = "new") -> None:
    db = open_shop_db(settings.data_dir, "demo", create=False)
    upsert_orders(
        db,
        [
            {"order_id": f"{prefix}-{i}", "customer_id": None, "created_at": "2026-11-30T10:00:00"}
            for i in range(n)
        ],
    )
    db.close()


def decide(settings: Settings, now: datetime = NOW):
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        return retrain_decision(settings, db, read_manifest(models_dir(settings, "demo")), now)
    finally:
        db.close()


@pytest.fixture
def trained(settings: Settings) -> Settings:
    seed_store(settings)
    train_shop(settings, "demo")
    manifest = models_dir(settings, "demo") / "manifest.json"
    data = json.loads(manifest.read_text())
    data["trained_at"] = (NOW - timedelta(hours=1)).isoformat()  # an hour before NOW
    manifest.write_text(json.dumps(data))
    return settings


def test_an_untrained_shop_with_data_is_due(settings: Settings) -> None:
    seed_store(settings)
    assert decide(settings).reason == "never trained"


def test_fresh_models_are_current_and_old_ones_are_due(trained: Settings) -> None:
    assert decide(trained) == decide(trained)  # stable
    assert not decide(trained).due
    late = decide(trained, NOW + timedelta(hours=23, minutes=30))
    assert late.due and "24.5 h old" in late.reason


def test_two_percent_more_orders_make_a_retrain_due(trained: Settings) -> None:
    db = open_shop_db(trained.data_dir, "demo", create=False)
    orders = order_counts(db)["orders"]
    db.close()
    manifest = read_manifest(models_dir(trained, "demo"))
    assert manifest["orders_at_training"] == orders
    few = max(1, int(orders * 0.01))
    add_orders(trained, few)
    assert not decide(trained).due
    add_orders(trained, int(orders * 0.02) - few + 1, prefix="more")
    decision = decide(trained)
    assert decision.due and "orders since training" in decision.reason
    stricter = dataclasses.replace(trained, retrain_growth_percent=50.0)
    assert not decide(stricter).due


def test_a_new_product_makes_a_retrain_due(trained: Settings) -> None:
    db = open_shop_db(trained.data_dir, "demo", create=False)
    upsert_products(db, [{"product_id": "brand-new", "title": "Brand new", "price": 5.0}])
    db.close()
    decision = decide(trained)
    assert decision.due and "product set changed" in decision.reason


def test_the_periodic_job_enqueues_one_retrain_that_a_worker_runs(
    trained: Settings, redis_conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(trained.data_dir))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("SHOPREC_RETRAIN_MAX_AGE_HOURS", "1")  # the models are an hour old
    from worker import jobs

    monkeypatch.setattr(jobs, "job_redis", lambda _settings: redis_conn)
    first = retrain_if_due_job("demo")
    second = retrain_if_due_job("demo")  # asked again before a worker ran it: one job
    assert first["due"] and first["retrain_job"] == retrain_job_id("demo")
    queue = get_queue(QUEUE_DEFAULT, redis_conn)
    assert (
        queue.job_ids == [retrain_job_id("demo")] and second["retrain_job"] == first["retrain_job"]
    )
    before = read_manifest(models_dir(trained, "demo"))["trained_at"]
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    after = read_manifest(models_dir(trained, "demo"))["trained_at"]
    assert after != before
    assert not retrain_if_due_job("demo")["due"]  # fresh again
