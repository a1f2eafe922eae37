"""One contract, every strategy: what any recommender behind ShopModels must honour."""

from __future__ import annotations

import pytest
from engine_fixtures import empty_data, training_data

from engine.base import CONTEXT_SLOTS, RecommendationRequest
from engine.errors import InputError
from engine.evaluation import STRATEGIES
from engine.shop_fit import fit_shop_models
from engine.shop_models import ShopModels

SLOTS = [(c, s) for c, slots in CONTEXT_SLOTS.items() for s in slots]


@pytest.fixture(scope="module")
def fitted() -> ShopModels:
    return fit_shop_models(training_data())


def strategy_models(models: ShopModels, name: str) -> ShopModels:
    weights = STRATEGIES[name]
    if weights is None:
        return models
    return models.with_weights({c: weights for c in CONTEXT_SLOTS}, adaptive=False)


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize(("context", "slot"), SLOTS)
def test_never_anchor_or_excluded_and_respects_limit(fitted, strategy, context, slot):
    models = strategy_models(fitted, strategy)
    request = RecommendationRequest(
        context,
        slot,
        product_ids=("K0", "G1"),
        customer_id="c0",
        session_product_ids=("B2",),
        exclude_ids=frozenset({"K1", "B5"}),
        limit=4,
    )
    recs = models.recommend(request)
    ids = [r.product_id for r in recs]
    assert len(ids) <= 4
    assert len(set(ids)) == len(ids)
    assert not {"K0", "G1", "K1", "B5"} & set(ids)
    assert all(r.reason for r in recs)
    assert ids == [r.product_id for r in models.recommend(request)]  # deterministic


@pytest.mark.parametrize("strategy", ["hybrid", "popularity", "content"])
def test_lists_are_full_when_items_remain(fitted, strategy):
    recs = strategy_models(fitted, strategy).recommend(
        RecommendationRequest("product", "similar", product_ids=("K0",), limit=5)
    )
    assert len(recs) == 5


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_unknown_ids_do_not_raise(fitted, strategy):
    models = strategy_models(fitted, strategy)
    request = RecommendationRequest(
        "cart",
        "complete_the_look",
        product_ids=("nope", "K0"),
        customer_id="stranger",
        session_product_ids=("ghost",),
        exclude_ids=frozenset({"missing"}),
        limit=3,
    )
    recs = models.recommend(request)
    assert len(recs) <= 3 and "K0" not in {r.product_id for r in recs}


def test_cold_start_falls_back_to_popular(fitted):
    recs = fitted.recommend(
        RecommendationRequest("home", "for_you", customer_id="stranger", limit=3)
    )
    assert "B5" in [r.product_id for r in recs]  # the best-seller
    assert {r.strategy for r in recs} <= {"popularity", "trending"}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_empty_data_gives_empty_lists(strategy):
    models = strategy_models(fit_shop_models(empty_data()), strategy)
    for context, slot in SLOTS:
        request = RecommendationRequest(context, slot, product_ids=("K0",), customer_id="c0")
        assert models.recommend(request) == []


def test_limit_zero_and_bad_slot(fitted):
    assert fitted.recommend(RecommendationRequest("home", "trending", limit=0)) == []
    with pytest.raises(InputError, match="context/slot"):
        fitted.recommend(RecommendationRequest("home", "similar"))


def test_bad_weights_are_named():
    with pytest.raises(InputError, match="'ruls'"):
        fit_shop_models(empty_data(), weights={"product": {"ruls": 1.0}})
    with pytest.raises(InputError, match="'shelf'"):
        fit_shop_models(empty_data(), weights={"shelf": {"rules": 1.0}})
