"""Metrics by hand, and the temporal-split protocol on a toy shop."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest
from engine_fixtures import catalog

from engine.evaluation import (
    evaluate_split,
    hit_at_k,
    list_diversity,
    ndcg_at_k,
    recall_at_k,
    split_at,
)
from engine.offline_rules import offline_rules
from engine.training_data import TrainingData


def test_metrics_by_hand():
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d", "z"}
    assert hit_at_k(ranked, relevant, 1) == 0.0
    assert hit_at_k(ranked, relevant, 2) == 1.0
    assert recall_at_k(ranked, relevant, 4) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, relevant, 4) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["b"], {"b"}, 10) == 1.0
    assert ndcg_at_k(ranked, set(), 4) == 0.0
    assert list_diversity(["a", "b", "c"], {"a": "x", "b": "x", "c": "y"}) == pytest.approx(2 / 3)
    assert list_diversity(["a", "b"], {}) == 0.0


def _toy() -> TrainingData:
    rows = [  # (order, customer, product, date)
        ("o1", "u1", "K0", "2025-01-01"),
        ("o1", "u1", "K1", "2025-01-01"),
        ("o2", "u2", "K0", "2025-01-02"),
        ("o2", "u2", "K1", "2025-01-02"),
        ("o3", "u3", "G0", "2025-01-03"),
        ("o3", "u3", "G1", "2025-01-03"),
        ("o4", "u1", "K0", "2025-03-01"),
        ("o4", "u1", "K2", "2025-03-01"),  # u1: new K2
        ("o5", "u2", "K1", "2025-03-02"),  # u2: nothing new -> no query
        ("o6", None, "K0", "2025-03-03"),
        ("o6", None, "K1", "2025-03-03"),
        ("o7", "u9", "G0", "2025-03-04"),  # u9: no history -> no query
    ]
    purchases = pd.DataFrame(
        [
            {
                "order_id": o,
                "customer_id": c,
                "product_id": p,
                "quantity": 1,
                "unit_price": 1.0,
                "created_at": f"{d}T10:00:00+00:00",
            }
            for o, c, p, d in rows
        ]
    )
    events = pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"])
    return TrainingData(catalog(), purchases, events, datetime(2025, 4, 1, tzinfo=UTC))


def test_split_builds_the_right_queries():
    parts = split_at(_toy(), datetime(2025, 2, 1, tzinfo=UTC), k=3)
    assert len(parts.train.purchases) == 6
    assert [(q.request.customer_id, set(q.relevant)) for q in parts.next_purchase] == [
        ("u1", {"K2"})
    ]
    assert parts.next_purchase[0].request.exclude_ids == {"K0", "K1"}
    fbt = {(q.request.product_ids, q.relevant) for q in parts.fbt}
    assert fbt == {
        (("K0",), frozenset({"K2"})),
        (("K2",), frozenset({"K0"})),
        (("K0",), frozenset({"K1"})),
        (("K1",), frozenset({"K0"})),
    }


def test_evaluate_split_scores_through_recommend():
    results = evaluate_split(_toy(), datetime(2025, 2, 1, tzinfo=UTC), k=3)
    assert set(results) == {"next_purchase", "fbt"}
    assert set(results["fbt"]) == {
        "popularity",
        "confidence",
        "rules",
        "item-item",
        "content",
        "taste",
        "sequence",
        "hybrid",
        "hybrid+rules",
        "served",
    }
    rules = results["fbt"]["rules"]
    # Train orders: K0-K1 twice. In o6, K0's list [K1] and K1's list [K0] both hit; in o4,
    # K0's list [K1] misses K2, and K2 (never sold before) borrows the pairs of the kitchen
    # products it resembles (K0 -> K1, K1 -> K0), which hits K0. 3 hits of 4 queries.
    assert rules["queries"] == 4
    assert rules["hr"] == pytest.approx(3 / 4)
    assert results["next_purchase"]["popularity"]["queries"] == 1
    for metrics in results["fbt"].values():
        assert 0.0 <= metrics["coverage"] <= 1.0


def test_offline_rules_apply_dated_availability_but_not_todays_stock_to_a_past_split():
    data = _toy()
    products = data.products.copy()
    products.loc[products["product_id"] == "K2", "inventory"] = 0  # sold out by the end
    products.loc[products["product_id"] == "G2", "status"] = "archived"
    products.loc[products["product_id"] == "B2", "available_until"] = "2025-01-15"
    data = replace(data, products=products)
    past = offline_rules(data, datetime(2025, 2, 1, tzinfo=UTC))
    # K2 sold out after u1 bought it in March: at the February split it was on sale.
    assert past.unavailable == {"B2"}
    now = offline_rules(data, datetime(2025, 4, 1, tzinfo=UTC), current_state=True)
    assert now.unavailable == {"B2", "K2", "G2"}
    before_expiry = offline_rules(data, datetime(2025, 1, 10, tzinfo=UTC))
    assert before_expiry.unavailable == frozenset()


def test_served_lists_are_cut_to_the_placement_length_and_scored_beside_the_model():
    from engine.base import RecommendationRequest
    from engine.evaluation import RULED, SERVED, _at_length

    split = datetime(2025, 2, 1, tzinfo=UTC)
    at_8 = evaluate_split(_toy(), split, k=8)
    # A product page shows 8: at K=8 the served list is the ruled one.
    assert at_8["fbt"][SERVED] == at_8["fbt"][RULED]
    at_20 = evaluate_split(_toy(), split, k=20)
    assert at_20["fbt"][SERVED]["queries"] == at_20["fbt"][RULED]["queries"]
    # What the served row asks: the placement's length, whatever K the evaluation runs at.
    served = _at_length(lambda request: [str(i) for i in range(request.limit)], 8)
    request = RecommendationRequest(
        "product", "frequently_bought_together", product_ids=("K0",), limit=20
    )
    assert len(served(request)) == 8
