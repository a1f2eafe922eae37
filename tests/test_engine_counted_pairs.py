"""Rules fitted from pairs counted elsewhere (a Spark job's tables: engine.association.
PairCounts) are the rules fitted by counting here, array for array, and the fit does not
count a pair itself. The counted inputs are built by brute force over a dense matrix, not
by the engine's own counting, so the test also pins what the tables must hold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import engine.association as association
from engine.association import (
    PLAIN_K,
    PairCounts,
    fit_association,
    rule_itemsets,
    set_rule_floor,
)
from engine.errors import ModelFitError
from engine.training_data import Interactions

N_BASKETS, N_ITEMS = 1500, 64  # item 62 is bought twice (too rare for set rules), 63 never


def _inter(baskets: sp.csr_matrix) -> Interactions:
    """Interactions with only baskets (all fit_association reads)."""
    n = baskets.shape[0]
    empty = sp.csr_matrix((0, baskets.shape[1]), dtype=np.float32)
    return Interactions(
        baskets, np.zeros(n), np.full(n, -1, np.int32), empty, empty, empty,
        np.zeros(0, np.int32), np.zeros(0), np.zeros(0, str),
    )  # fmt: skip


@pytest.fixture(scope="module")
def baskets() -> sp.csr_matrix:
    """Zipf-popular items in baskets of 1-5, one set of three often bought together, and
    one item bought too rarely for a set rule."""
    rng = np.random.default_rng(11)
    weights = 1.0 / np.arange(1, N_ITEMS - 1) ** 0.8
    rows, cols = [], []
    for order in range(N_BASKETS):
        held = set(rng.choice(N_ITEMS - 2, size=rng.integers(1, 6), p=weights / weights.sum()))
        if rng.random() < 0.08:
            held |= {5, 9, 17}
        if order < 2:
            held.add(62)
        rows += [order] * len(held)
        cols += sorted(int(i) for i in held)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(N_BASKETS, N_ITEMS))


def _counted(baskets: sp.csr_matrix, floor: int) -> PairCounts:
    """What the job's tables hold, by brute force, each table in a scrambled order."""
    rng = np.random.default_rng(5)
    binary = baskets.toarray() > 0
    together = binary.T.astype(np.int64) @ binary
    np.fill_diagonal(together, 0)
    a, b = np.nonzero(together >= max(floor, 1))
    shuffle = rng.permutation(a.size)
    indices = np.full((N_ITEMS, PLAIN_K), -1, np.int32)
    plain_together = np.zeros((N_ITEMS, PLAIN_K), np.float32)
    for item in range(N_ITEMS):
        partners = np.nonzero(together[item])[0]
        best = partners[np.lexsort((partners, -together[item, partners]))][:PLAIN_K]
        indices[item, : best.size] = best
        plain_together[item, : best.size] = together[item, best]
    rule_floor = set_rule_floor(N_BASKETS)
    frequent = binary.sum(axis=0) >= rule_floor
    cut = sp.csr_matrix((binary & frequent).astype(np.float32))[rng.permutation(N_BASKETS)]
    return PairCounts(
        a[shuffle], b[shuffle], together[a, b][shuffle].astype(np.float64), floor,
        indices, plain_together, cut, rule_floor,
    )  # fmt: skip


def _no_counting(*_: Any) -> Any:
    raise AssertionError("the fit counted pairs although they were given")


@pytest.mark.parametrize(("min_count", "discount"), [(2, 1.0), (2, 0.5), (3, 0.7)])
def test_rules_from_counted_pairs_are_the_rules_counted_here(
    baskets: sp.csr_matrix, min_count: int, discount: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter = _inter(baskets)
    local = fit_association(inter, min_count=min_count, cover_discount=discount)
    assert local.rule_consequents.size > 0  # set rules worth comparing
    assert (local.pair_indices >= 0).sum() > 500 and local.plain.n_pairs > 1000
    counted = _counted(baskets, 2)
    monkeypatch.setattr(association, "count_pairs", _no_counting)
    given = fit_association(inter, min_count=min_count, cover_discount=discount, counted=counted)
    mine, theirs = local.to_arrays(), given.to_arrays()
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert mine[name].dtype == theirs[name].dtype, name
        assert np.array_equal(mine[name], theirs[name]), name


def test_itemsets_over_the_cut_baskets_are_the_itemsets_over_all(
    baskets: sp.csr_matrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = rule_itemsets(baskets)
    assert (local["itemsets"].map(len) == 3).any()
    counted = _counted(baskets, 2)
    assert counted.rule_baskets.nnz < baskets.nnz  # rare items were cut
    seen: list[int] = []
    count = association.count_itemsets

    def watched(matrix: sp.csr_matrix, *args: Any, **kwargs: Any) -> Any:
        seen.append(matrix.nnz)
        return count(matrix, *args, **kwargs)

    monkeypatch.setattr(association, "count_itemsets", watched)
    given = rule_itemsets(baskets, counted)
    assert seen and set(seen) == {counted.rule_baskets.nnz}
    pd.testing.assert_frame_equal(local, given)


def test_pairs_counted_above_the_fits_floor_are_refused(baskets: sp.csr_matrix) -> None:
    counted = _counted(baskets, 3)
    with pytest.raises(ModelFitError, match="from 3 baskets together"):
        fit_association(_inter(baskets), min_count=2, counted=counted)
    cut_too_high = PairCounts(
        counted.anchors, counted.partners, counted.together, 2, counted.plain_indices,
        counted.plain_together, counted.rule_baskets, set_rule_floor(N_BASKETS) + 1,
    )  # fmt: skip
    with pytest.raises(ModelFitError, match="cannot make itemsets"):
        fit_association(_inter(baskets), min_count=2, counted=cut_too_high)
