"""Taste's category and price tilt, with the catalog's derived arrays kept on the item space,
gives exactly what computing them per request gave (unknown, zero and NaN prices and
uncategorised items included)."""

from __future__ import annotations

import numpy as np

from engine.taste import CATEGORY_BOOST, PRICE_WIDTH, affinity
from engine.training_data import ItemSpace


def _reference(items: np.ndarray, weights: np.ndarray, space: ItemSpace) -> np.ndarray:
    factor = np.ones(space.n_items, np.float32)
    codes = space.category_codes[items]
    named = codes >= 0
    if named.any():
        share = np.bincount(
            codes[named], weights=weights[named], minlength=space.category_names.size
        ) / max(weights.sum(), 1e-9)
        has = space.category_codes >= 0
        factor[has] += CATEGORY_BOOST * share[space.category_codes[has]].astype(np.float32)
    prices = space.prices[items]
    known = np.isfinite(prices) & (prices > 0)
    if known.any():
        centre = np.average(np.log(prices[known]), weights=weights[known])
        ok = np.isfinite(space.prices) & (space.prices > 0)
        gap = np.log(space.prices[ok]) - centre
        factor[ok] *= (0.7 + 0.3 * np.exp(-0.5 * (gap / PRICE_WIDTH) ** 2)).astype(np.float32)
    return factor


def test_affinity_matches_the_per_request_computation() -> None:
    rng = np.random.default_rng(5)
    n = 400
    prices = rng.lognormal(3, 1, n)
    prices[rng.random(n) < 0.1] = np.nan
    prices[rng.random(n) < 0.05] = 0.0
    space = ItemSpace(
        item_ids=np.array([f"p{i:04d}" for i in range(n)]),
        titles=np.array([f"t{i}" for i in range(n)]),
        category_codes=rng.integers(-1, 6, n).astype(np.int32),
        category_names=np.array([f"c{i}" for i in range(6)]),
        prices=prices,
    )
    for _ in range(50):
        items = rng.choice(n, int(rng.integers(1, 12)), replace=False).astype(np.int32)
        weights = rng.random(items.size).astype(np.float32)
        np.testing.assert_array_equal(
            affinity(items, weights, space), _reference(items, weights, space)
        )
    unpriced = np.flatnonzero(~space.priced)[:3].astype(np.int32)
    np.testing.assert_array_equal(
        affinity(unpriced, np.ones(3, np.float32), space),
        _reference(unpriced, np.ones(3, np.float32), space),
    )
