"""Per-shop blend weights chosen on the shop's newest orders (engine.shop_validation)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engine.base import RecommendationRequest
from engine.blend import DEFAULT_WEIGHTS
from engine.blend_search import HeldOut, score_mixes
from engine.evaluation import score_task
from engine.holdout import split_at
from engine.shop_artifacts import load_shop_models, save_shop_models
from engine.shop_fit import fit_shop_models
from engine.shop_models import ShopModels
from engine.training_data import TrainingData

FBT = "product/frequently_bought_together"
START = datetime(2025, 1, 1, tzinfo=UTC)


def _products(titles: list[str], prices: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": [f"P{i:03d}" for i in range(len(titles))],
            "title": titles,
            "description": "",
            "category": "",
            "tags": "",
            "vendor": "",
            "price": prices,
            "created_at": None,
        }
    )


def _orders(baskets: list[list[int]], minutes: int = 600) -> pd.DataFrame:
    rows = []
    for number, basket in enumerate(baskets):
        when = (START + timedelta(minutes=minutes * number)).isoformat()
        for item in basket:
            rows.append(
                {
                    "order_id": f"o{number:06d}",
                    "customer_id": None,
                    "product_id": f"P{item:03d}",
                    "quantity": 1,
                    "unit_price": 1.0,
                    "created_at": when,
                }
            )
    return pd.DataFrame(rows)


def _data(products: pd.DataFrame, purchases: pd.DataFrame) -> TrainingData:
    events = pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"])
    last = pd.to_datetime(purchases["created_at"]).max().to_pydatetime()
    return TrainingData(products, purchases, events, last)


def _sku_shop(n_orders: int = 900) -> TrainingData:
    """40 products titled by SKU code at random prices; each order is one fixed pair
    (2i, 2i+1), so the right answer for P(2i) is P(2i+1) and titles say nothing of it."""
    rng = np.random.default_rng(3)
    titles = [f"SKU-{10_000 + 37 * i}" for i in range(40)]
    prices = rng.uniform(2, 200, 40).round(2).tolist()
    pairs = rng.integers(0, 20, n_orders)
    return _data(_products(titles, prices), _orders([[2 * p, 2 * p + 1] for p in pairs]))


@pytest.fixture(scope="module")
def sku_models() -> ShopModels:
    return fit_shop_models(_sku_shop())


def test_content_over_sku_code_titles_gets_weight_zero_and_says_why(sku_models):
    chosen = sku_models.learned[FBT]
    assert chosen.get("content", 0.0) == 0.0
    assert chosen.get("rules", 0.0) + chosen.get("confidence", 0.0) > 0.5
    report = sku_models.validation[FBT]
    assert report["status"] == "validated"
    assert "content" in report["dropped"] and "random list" in report["dropped"]["content"]
    # The built-in weights would have given content a quarter of the blend.
    assert DEFAULT_WEIGHTS[FBT]["content"] > 0


def test_the_learned_weights_serve_and_the_owner_weights_still_win(sku_models):
    request = RecommendationRequest("product", "frequently_bought_together", ("P004",), limit=5)
    served = sku_models.recommend(request)
    assert served[0].product_id == "P005"
    assert all("content" not in r.scores for r in served)
    owner = sku_models.with_weights({"product": {"content": 1.0}})
    assert {s for r in owner.recommend(request) for s in r.scores} == {"content"}
    owner_slot = sku_models.with_weights({FBT: {"popularity": 1.0}})
    assert {s for r in owner_slot.recommend(request) for s in r.scores} == {"popularity"}


def test_a_tiny_shop_keeps_the_built_in_weights_and_says_so():
    rng = np.random.default_rng(5)
    titles = [f"Mug {c}" for c in "ABCDEFGHIJ"]
    baskets = [rng.choice(10, 2, replace=False).tolist() for _ in range(60)]
    models = fit_shop_models(_data(_products(titles, [5.0] * 10), _orders(baskets)))
    assert models.learned == {}
    assert models.validation[FBT]["status"] == "defaults"
    assert "fewer than 200 orders" in models.validation[FBT]["why"]
    assert models.validation[FBT]["weights"] == DEFAULT_WEIGHTS[FBT]


def test_the_manifest_round_trips_the_chosen_weights_and_table(sku_models, tmp_path):
    save_shop_models(sku_models, tmp_path)
    loaded = load_shop_models(tmp_path)
    assert loaded.learned == sku_models.learned and loaded.learned
    assert loaded.validation == sku_models.validation
    assert loaded.rules.plain.n_pairs == sku_models.rules.plain.n_pairs > 0
    request = RecommendationRequest("product", "frequently_bought_together", ("P010",), limit=5)
    assert [r.product_id for r in loaded.recommend(request)] == [
        r.product_id for r in sku_models.recommend(request)
    ]


def test_a_pair_seen_twice_is_still_bought_together_in_a_large_shop():
    """20,001+ orders put the automatic support floor at 3: the pair of P050 and P051,
    bought together twice and never otherwise, is under it, yet stays on P050's page."""
    rng = np.random.default_rng(9)
    titles = [f"Item {i} {w}" for i, w in enumerate(["red", "blue", "green", "grey"] * 13)]
    pairs = rng.integers(0, 20, 20_100)
    baskets = [[2 * p, 2 * p + 1] for p in pairs]
    baskets[100] = [50, 51]
    baskets[5000] = [50, 51]
    data = _data(_products(titles, [3.0] * 52), _orders(baskets, minutes=10))
    models = fit_shop_models(data, validate=False)
    assert models.rules.min_count >= 3  # the rules' own table drops the pair
    request = RecommendationRequest("product", "frequently_bought_together", ("P050",), limit=4)
    served = models.recommend(request)
    assert served[0].product_id == "P051"
    assert served[0].reason == "Bought together with Item 50 green in 2 orders"


def test_scoring_many_mixes_at_once_matches_the_served_lists():
    """engine.blend_search's one-product-at-a-time matrix scoring gives each mix the figure
    recommend() would: the validation chooses on what shoppers would be served."""
    data = _sku_shop(400)
    parts = split_at(data, datetime(2025, 5, 1, tzinfo=UTC), 4)
    models = fit_shop_models(parts.train, validate=False)
    mixes = [
        {"rules": 0.6, "content": 0.25, "popularity": 0.15},
        {"confidence": 0.5, "popularity": 0.5},
        {"content": 1.0},
    ]
    scores = score_mixes(models, HeldOut.of(models.item_ids, parts.fbt), mixes, (), "hr", 4)
    for mix, value, coverage in zip(mixes, scores.metric, scores.coverage, strict=True):
        served = replace(models, learned={FBT: mix})
        expected = score_task(served, parts.fbt, 4)
        assert value == pytest.approx(expected["hr"])
        assert coverage == pytest.approx(expected["coverage"])
    assert scores.queries == len(parts.fbt) > 100
    assert scores.metric.max() - scores.metric.min() > 0.2  # the mixes serve different lists


def test_a_higher_support_floor_drops_the_rare_pairs_and_keeps_the_order():
    baskets = [[0, 1]] * 6 + [[0, 2]] * 3 + [[0, 3]] * 1 + [[4, 5]] * 20
    data = _data(_products([f"Item {i}" for i in range(6)], [1.0] * 6), _orders(baskets))
    rules = fit_shop_models(data, validate=False).rules
    assert rules.min_count == 1
    row = [int(i) for i in rules.pair_indices[0] if i >= 0]
    assert set(row) == {1, 2, 3}
    raised = rules.at_floor(3)
    assert raised.min_count == 3
    assert [int(i) for i in raised.pair_indices[0] if i >= 0] == [i for i in row if i != 3]
    assert raised.at_floor(2) is raised  # never lowers: the dropped pairs are gone
    # Plain co-purchase keeps every pair whatever the floor, by confidence.
    assert [int(i) for i in raised.plain.indices[0][:3]] == [1, 2, 3]


def test_validation_reports_how_the_plain_table_ranks_and_serves_its_choice():
    from engine.pair_coverage import SOFT_COVER_DISCOUNTS

    rng = np.random.default_rng(5)
    # Staples 0-2 in most baskets; each other item comes with one of the staples.
    baskets = []
    for _ in range(1200):
        basket = {int(s) for s in rng.choice(3, size=rng.integers(1, 3), replace=False)}
        basket.add(int(rng.integers(3, 30)))
        baskets.append(sorted(basket))
    data = _data(_products([f"Item {i}" for i in range(30)], [1.0] * 30), _orders(baskets, 60))
    models = fit_shop_models(data)
    cover = models.validation[FBT]["cover_discount"]
    assert [row["discount"] for row in cover["tried"]] == list(SOFT_COVER_DISCOUNTS)
    assert cover["chosen"] in SOFT_COVER_DISCOUNTS
    # The served plain table is the one validation chose: scores fall along each row.
    plain = models.rules.plain
    both = (plain.indices[:, 1:] >= 0) & (plain.indices[:, :-1] >= 0)
    assert both.any() and (np.diff(plain.scores, axis=1)[both] <= 1e-6).all()
