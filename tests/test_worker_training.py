"""train_shop and evaluate_shop on a real SQLite store written with storage upserts."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from engine_fixtures import catalog, events, purchases

from engine.base import RecommendationRequest
from engine.shop_artifacts import load_shop_models
from storage.catalog import upsert_products
from storage.db import open_shop_db
from storage.errors import UnknownShop
from storage.events import insert_events
from storage.orders import upsert_order_lines, upsert_orders
from worker.errors import SplitOutsideOrders
from worker.evaluation import evaluate_shop
from worker.training import models_dir, train_shop


def seed_store(settings, shop: str = "demo") -> None:
    """Write the synthetic shop into a real store, as importers would."""
    db = open_shop_db(settings.data_dir, shop)
    products = catalog()[
        ["product_id", "title", "description", "category", "tags", "vendor", "price", "status"]
    ]
    upsert_products(db, products.to_dict("records"))
    lines = purchases()
    headers = lines.drop_duplicates("order_id")
    upsert_orders(
        db,
        [
            {"order_id": r.order_id, "customer_id": r.customer_id, "created_at": r.created_at}
            for r in headers.itertuples()
        ],
    )
    upsert_order_lines(
        db,
        [
            (
                r.order_id,
                f"{r.product_id}#1",
                r.product_id,
                r.customer_id,
                r.created_at,
                r.quantity,
                r.unit_price,
            )
            for r in lines.itertuples()
        ],
    )
    insert_events(db, events().to_dict("records"))
    db.close()


def test_train_shop_writes_artifacts_and_reports(settings):
    seed_store(settings)
    report = train_shop(settings, "demo")
    target = models_dir(settings, "demo")
    assert target == settings.shop_dir("demo") / "models"
    assert {p.name for p in target.iterdir()} == set(report.files)
    assert report.products == 18 and report.events == 60
    assert report.now == datetime(2025, 5, 31, tzinfo=UTC)  # the newest row, not the wall clock
    names = {m.name: m for m in report.models}
    assert set(names) == {"popularity", "collaborative", "rules", "content", "taste", "sequence"}
    # The sequence model is optional: fitted only where validation gives it weight.
    assert all(m.trusted for name, m in names.items() if name != "sequence")
    text = "\n".join(report.lines())
    assert "rules" in text and "trusted" in text and "orders with 2+ items" in text
    # Time per model, and where the rest of the run went.
    assert all(m.fit_seconds >= 0 for m in report.models)
    assert "seconds" in report.lines()[1]
    assert 0 < report.load_seconds and 0 < report.save_seconds
    assert report.load_seconds + report.save_seconds < report.seconds
    assert "load from the store" in text and "save" in text
    models = load_shop_models(target)
    recs = models.recommend(
        RecommendationRequest("product", "frequently_bought_together", product_ids=("K0",), limit=3)
    )
    assert recs[0].product_id == "K1"
    # Retraining swaps the folder in place, leaving no staging folders behind.
    train_shop(settings, "demo")
    assert sorted(p.name for p in settings.shop_dir("demo").iterdir() if "models" in p.name) == [
        "models"
    ]


def test_train_shop_with_little_data_marks_models_untrusted(settings):
    db = open_shop_db(settings.data_dir, "tiny")
    upsert_products(db, catalog()[["product_id", "title", "category", "price"]].to_dict("records"))
    upsert_orders(
        db, [{"order_id": "o1", "customer_id": "u1", "created_at": "2025-01-01T00:00:00"}]
    )
    upsert_order_lines(db, [("o1", "K0#1", "K0", "u1", "2025-01-01T00:00:00", 1, 10.0)])
    db.close()
    report = train_shop(settings, "tiny")
    trusted = {m.name: m.trusted for m in report.models}
    assert trusted == {
        "popularity": True,
        "collaborative": False,
        "rules": False,
        "content": True,
        "taste": False,
        "sequence": False,
    }
    # Too little to hold any orders out: the built-in blend weights, and the report says so.
    text = "\n".join(report.lines())
    assert "blend weights: the built-in ones (too little data to validate)" in text
    assert "fewer than 200 orders" in text
    models = load_shop_models(models_dir(settings, "tiny"))
    assert models.learned == {} and models.validation["product/frequently_bought_together"]
    recs = models.recommend(
        RecommendationRequest("product", "frequently_bought_together", product_ids=("K1",), limit=3)
    )
    assert len(recs) == 3 and recs[0].reason == "Similar to Mixer Bowl Steel"


def test_train_unknown_shop_raises(settings):
    with pytest.raises(UnknownShop):
        train_shop(settings, "ghost")


def test_evaluate_shop_reports_every_strategy(settings):
    seed_store(settings)
    report = evaluate_shop(settings, "demo", datetime(2025, 4, 1, tzinfo=UTC), k=5)
    payload = report.to_json()
    assert payload["split_date"] == "2025-04-01" and payload["k"] == 5
    assert payload["tasks"]["fbt"]["hybrid"]["queries"] > 0
    assert "HR@5" in "\n".join(report.lines())


def test_train_and_evaluate_a_catalog_without_orders_or_events(settings):
    db = open_shop_db(settings.data_dir, "catalog_only")
    upsert_products(
        db,
        [
            {"product_id": "A", "title": "Oak table", "price": 90.0},
            {"product_id": "B", "title": "Oak chair", "price": 40.0},
        ],
    )
    db.close()
    report = train_shop(settings, "catalog_only")
    assert {m.name for m in report.models} >= {"popularity", "content"}
    models = load_shop_models(models_dir(settings, "catalog_only"))
    recs = models.recommend(RecommendationRequest("product", "similar", product_ids=("A",)))
    assert [r.product_id for r in recs] == ["B"]
    # Evaluation needs orders on both sides of the split: said plainly, not tables of zeros.
    with pytest.raises(SplitOutsideOrders, match="no orders to evaluate on: import orders"):
        evaluate_shop(settings, "catalog_only", datetime(2020, 1, 1, tzinfo=UTC))


def test_publishing_to_a_shared_folder_without_redis_is_warned(settings, tmp_path, caplog):
    """Other hosts learn of new models from the Redis generation: without it, say so."""
    seed_store(settings)
    shared = replace(settings, shared_models_dir=str(tmp_path / "shared"))
    with caplog.at_level(logging.WARNING, logger="worker.training"):
        train_shop(shared, "demo")
    assert "without REDIS_URL" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="worker.training"):
        train_shop(replace(shared, redis_url="redis://127.0.0.1:1/0"), "demo")
    assert "without REDIS_URL" not in caplog.text
