"""Popularity advanced over the orders since training is what a retrain would count."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from engine_fixtures import NOW, training_data

from engine.errors import ArtifactError
from engine.popularity import Popularity, fit_popularity
from engine.training_data import build_item_space, prepare_interactions

CUT = NOW - timedelta(days=10)


def _stamps(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, utc=True, format="ISO8601")


def test_advancing_over_new_orders_equals_fitting_on_the_longer_history() -> None:
    data = training_data()
    before = _stamps(data.purchases["created_at"]) < pd.Timestamp(CUT)
    # Views after the cut are left to the retrain: keep them out of both sides.
    events = data.events[_stamps(data.events["ts"]) < pd.Timestamp(CUT)]
    full = replace(data, events=events)
    items = build_item_space(full)
    at_training = replace(full, purchases=data.purchases[before], now=CUT)
    trained = fit_popularity(prepare_interactions(at_training, items), items)
    refit = fit_popularity(prepare_interactions(full, items), items)

    new = data.purchases[~before].drop_duplicates(["order_id", "product_id"])
    assert len(new) > 10
    index = np.searchsorted(items.item_ids, new["product_id"].to_numpy())
    ages = (pd.Timestamp(NOW) - _stamps(new["created_at"])).dt.total_seconds().to_numpy() / 86400
    advanced = trained.advanced(index, ages, elapsed_days=10.0)

    for name in ("popular", "trending", "recent_mass", "long_run_mass"):
        np.testing.assert_allclose(getattr(advanced, name), getattr(refit, name), rtol=1e-4)
    assert (advanced.rank == refit.rank).mean() > 0.9  # ties may order differently
    # And it moved: the new orders changed what trends.
    assert not np.allclose(advanced.trending, trained.trending)


def test_nothing_new_and_no_time_changes_nothing() -> None:
    data = training_data()
    items = build_item_space(data)
    pop = fit_popularity(prepare_interactions(data, items), items)
    same = pop.advanced(np.zeros(0, np.int64), np.zeros(0), elapsed_days=0.0)
    np.testing.assert_allclose(same.trending, pop.trending, rtol=1e-6)
    np.testing.assert_array_equal(same.rank, pop.rank)


def test_counts_saved_before_the_masses_were_kept_cannot_advance() -> None:
    data = training_data()
    items = build_item_space(data)
    arrays = fit_popularity(prepare_interactions(data, items), items).to_arrays()
    old = Popularity.from_arrays({k: arrays[k] for k in ("popular", "trending", "rank")})
    assert not old.can_advance
    with pytest.raises(ArtifactError):
        old.advanced(np.zeros(0, np.int64), np.zeros(0), 1.0)
    assert Popularity.from_arrays(arrays).can_advance
