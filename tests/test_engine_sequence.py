"""The sequence model (engine.sequence) and how for_you validation weighs it per shop."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engine.base import RecommendationRequest
from engine.holdout import split_at
from engine.sequence import MIN_SEQUENCES, SequenceModel, fit_sequence
from engine.shop_artifacts import load_shop_models, save_shop_models
from engine.shop_fit import fit_shop_models
from engine.shop_models import ShopModels
from engine.shop_validation import holdout_moment
from engine.training_data import TrainingData, build_item_space
from worker.training import validation_lines

pytest.importorskip("torch")

FOR_YOU = "home/for_you"
START = datetime(2025, 1, 1, tzinfo=UTC)
CYCLE, CYCLES, STEPS = 20, 3, 6


def _products(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": [f"P{i:03d}" for i in range(n)],
            "title": [f"Item {i}" for i in range(n)],
            "description": "",
            "category": "",
            "tags": "",
            "vendor": "",
            "price": 10.0,
            "created_at": None,
        }
    )


def _shop(walks: list[tuple[float, list[int]]]) -> TrainingData:
    """One order per item of each customer's walk, 5 days apart from its start day."""
    rows = []
    for c, (day, items) in enumerate(walks):
        for step, item in enumerate(items):
            when = START + timedelta(days=day + 5 * step, minutes=c)
            rows.append(
                {
                    "order_id": f"o{c:05d}-{step}",
                    "customer_id": f"c{c:05d}",
                    "product_id": f"P{item:03d}",
                    "quantity": 1,
                    "unit_price": 10.0,
                    "created_at": when.isoformat(),
                }
            )
    purchases = pd.DataFrame(rows)
    events = pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"])
    last = pd.to_datetime(purchases["created_at"]).max().to_pydatetime()
    return TrainingData(_products(CYCLE * CYCLES), purchases, events, last)


def _sequential_shop(customers: int = 700) -> TrainingData:
    """Customers walk one of three cycles of 20 products, one step per order, from a random
    start: the next item is the one after the last, which a set of items cannot tell from
    the one before the first."""
    rng = np.random.default_rng(5)
    walks = []
    for _ in range(customers):
        cycle, start = rng.integers(CYCLES), rng.integers(CYCLE)
        items = [cycle * CYCLE + (start + s) % CYCLE for s in range(STEPS)]
        walks.append((float(rng.uniform(0, 150)), items))
    return _shop(walks)


def _random_shop(customers: int = 700) -> TrainingData:
    """The same shape of orders, each item drawn from a skewed popularity, in no order."""
    rng = np.random.default_rng(6)
    n = CYCLE * CYCLES
    p = 1.0 / np.arange(1, n + 1)
    p /= p.sum()
    walks = [
        (float(rng.uniform(0, 150)), list(rng.choice(n, STEPS, replace=False, p=p)))
        for _ in range(customers)
    ]
    return _shop(walks)


@pytest.fixture(scope="module")
def sequential() -> ShopModels:
    return fit_shop_models(_sequential_shop())


@pytest.fixture(scope="module")
def shuffled() -> ShopModels:
    return fit_shop_models(_random_shop())


def test_sequence_model_ranks_the_next_item_first_far_more_often_than_popularity():
    data = _sequential_shop()
    moment = holdout_moment(data)
    assert moment is not None
    parts = split_at(data, moment, 10)
    items = build_item_space(data)
    model = fit_sequence(parts.train, items)
    assert model.trusted, model.why
    position = {p: i for i, p in enumerate(items.item_ids.tolist())}
    bought = parts.train.purchases.groupby("customer_id")["product_id"].agg(set)
    counts = np.bincount(
        parts.train.purchases["product_id"].map(position), minlength=items.n_items
    ).astype(float)
    seq_first = pop_first = 0
    for query in parts.next_purchase:
        owned = [position[p] for p in bought[query.request.customer_id]]
        relevant = {position[p] for p in query.relevant}
        scores = model.score(model.customer_row(query.request.customer_id), items.n_items)
        scores[owned] = -1
        pop = counts.copy()
        pop[owned] = -1
        seq_first += int(np.argmax(scores)) in relevant
        pop_first += int(np.argmax(pop)) in relevant
    n = len(parts.next_purchase)
    assert n >= 40
    assert seq_first / n >= 0.8
    assert seq_first / n >= 3 * pop_first / n


def test_validation_gives_the_sequence_model_weight_on_a_sequential_shop(sequential):
    report = sequential.validation[FOR_YOU]
    said = report["sequence"]
    assert said["weight"] > 0, report
    lines = validation_lines(sequential.validation)
    assert f"    sequence model weight {said['weight']:.2f}" in lines
    assert sequential.learned[FOR_YOU]["sequence"] == said["weight"]
    rows = {r["name"]: r for r in report["rows"]}
    assert (
        rows["sequence alone (its own ranking)"]["ndcg"]
        > rows["taste alone (its own ranking)"]["ndcg"]
    )
    assert sequential.sequence.trusted
    summary = {s.name: s for s in sequential.describe()}
    assert summary["sequence"].trusted
    # Served: a known customer's for_you list leads with the next step of their walk.
    data = _sequential_shop()
    led = 0
    for customer, lines in data.purchases.groupby("customer_id"):
        last = int(lines.sort_values("created_at")["product_id"].iloc[-1][1:])
        step = (last // CYCLE) * CYCLE + (last % CYCLE + 1) % CYCLE
        request = RecommendationRequest("home", "for_you", customer_id=str(customer), limit=3)
        led += sequential.recommend(request)[0].product_id == f"P{step:03d}"
        if customer == "c00099":
            break
    assert led >= 80


def test_validation_gives_it_zero_weight_with_its_reason_on_a_shop_without_order(shuffled):
    said = shuffled.validation[FOR_YOU]["sequence"]
    assert said["weight"] == 0.0
    assert said["why"]
    assert "sequence" not in shuffled.learned.get(FOR_YOU, {})
    # Not worth serving: the full model is not fitted, and the summary says why.
    assert not shuffled.sequence.trusted
    summary = {s.name: s for s in shuffled.describe()}
    assert "not fitted" in summary["sequence"].why


def test_training_without_torch_skips_the_model_and_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    models = fit_shop_models(_sequential_shop(250))
    said = models.validation[FOR_YOU]["sequence"]
    assert said["weight"] == 0.0
    assert "PyTorch is not installed" in said["why"]
    assert "sequence" not in models.learned.get(FOR_YOU, {})
    assert not models.sequence.trusted
    lines = validation_lines(models.validation)
    assert any("sequence model weight 0.00: not a candidate: skipped: PyTorch" in x for x in lines)
    assert "PyTorch is not installed" in {s.name: s for s in models.describe()}["sequence"].why
    served = models.recommend(RecommendationRequest("home", "for_you", customer_id="c00001"))
    assert len(served) == 8


def test_too_few_sequences_are_not_fitted_and_say_how_many_are_needed():
    model = fit_sequence(_sequential_shop(MIN_SEQUENCES - 5), build_item_space(_random_shop(10)))
    assert not model.trusted
    assert f"needs {MIN_SEQUENCES}" in model.why


def test_saved_sequence_model_serves_the_same_scores_without_torch(sequential, tmp_path):
    save_shop_models(sequential, tmp_path)
    loaded = load_shop_models(tmp_path)
    row = sequential.sequence.customer_row("c00001")
    assert row >= 0
    n = sequential.items.n_items
    np.testing.assert_allclose(loaded.sequence.score(row, n), sequential.sequence.score(row, n))
    assert isinstance(loaded.sequence, SequenceModel)
