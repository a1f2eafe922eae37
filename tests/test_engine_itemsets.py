"""Contract: engine.itemsets finds exactly mlxtend fpgrowth's itemsets and supports.

mlxtend's association_rules then runs on our table unchanged, so equality here is what
makes the faster counting step a drop-in replacement.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from mlxtend.frequent_patterns import association_rules, fpgrowth
from shared_datasets import dataset_path

from engine import association
from engine.itemsets import count_itemsets, frequent_itemsets, min_count_for


def as_dict(frame: pd.DataFrame) -> dict[frozenset[int], float]:
    return dict(zip(frame["itemsets"], frame["support"], strict=True))


def mlxtend_itemsets(baskets: sp.csr_matrix, min_support: float, max_len: int | None):
    frame = pd.DataFrame.sparse.from_spmatrix(baskets.astype(bool))
    return fpgrowth(frame, min_support=min_support, max_len=max_len)


def random_baskets(seed: int, n_baskets: int, n_items: int, max_size: int) -> sp.csr_matrix:
    """Skewed baskets (Zipf-like item popularity) with planted co-purchase groups."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity /= popularity.sum()
    groups = [rng.choice(n_items, size=4, replace=False) for _ in range(5)]
    rows, cols = [], []
    for r in range(n_baskets):
        items = set(rng.choice(n_items, size=rng.integers(1, max_size + 1), p=popularity))
        if rng.random() < 0.3:
            items |= set(groups[rng.integers(len(groups))][: rng.integers(2, 5)])
        rows += [r] * len(items)
        cols += sorted(items)
    data = np.ones(len(rows), np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(n_baskets, n_items))


@pytest.mark.parametrize(
    ("seed", "n_baskets", "n_items", "max_size", "min_support", "max_len"),
    [
        (0, 400, 30, 8, 0.02, None),
        (1, 1000, 60, 12, 0.01, None),
        (2, 1000, 60, 12, 0.01, 2),
        (3, 1500, 80, 6, 0.005, 3),
        (4, 200, 12, 10, 0.1, None),  # long itemsets: many levels deep
        (5, 300, 40, 3, 0.3, None),  # nothing frequent beyond singles (or at all)
    ],
)
def test_random_baskets_match_fpgrowth(seed, n_baskets, n_items, max_size, min_support, max_len):
    baskets = random_baskets(seed, n_baskets, n_items, max_size)
    ours = frequent_itemsets(baskets, min_support, max_len)
    theirs = mlxtend_itemsets(baskets, min_support, max_len)
    assert as_dict(ours) == as_dict(theirs)  # same sets, bit-identical supports


def test_long_itemsets_are_found_at_every_depth():
    # Ten baskets all holding items 0..5, plus noise: every subset of {0..5} is frequent.
    rows = [[0, 1, 2, 3, 4, 5]] * 10 + [[6, 7], [0, 7], [1, 6]]
    coo = [(r, c) for r, items in enumerate(rows) for c in items]
    r, c = zip(*coo, strict=True)
    baskets = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), 8))
    levels = count_itemsets(baskets, min_count=10)
    assert [lvl.items.shape for lvl in levels] == [
        (6, 1),
        (15, 2),
        (20, 3),
        (15, 4),
        (6, 5),
        (1, 6),
    ]
    assert levels[0].counts.tolist() == [11, 11, 10, 10, 10, 10]  # 0 and 1 also in noise
    assert all((lvl.counts == 10).all() for lvl in levels[1:])
    assert as_dict(frequent_itemsets(baskets, 10 / 13)) == as_dict(
        mlxtend_itemsets(baskets, 10 / 13, None)
    )


def test_min_count_matches_mlxtend_float_test():
    # 0.005 * 19773 = 98.865: 99 baskets is the first count whose support passes.
    assert min_count_for(0.005, 19773) == 99
    assert min_count_for(0.1, 30) == 3  # 3 / 30 == 0.1 exactly in floats: kept, as mlxtend
    assert min_count_for(1.0, 7) == 7
    with pytest.raises(ValueError, match="min_support"):
        min_count_for(0.0, 10)


def test_rules_from_our_itemsets_equal_mlxtends_rules():
    baskets = random_baskets(7, 800, 40, 8)
    ours = association_rules(frequent_itemsets(baskets, 0.02), num_itemsets=800)
    theirs = association_rules(mlxtend_itemsets(baskets, 0.02, None), num_itemsets=800)
    key = ["antecedents", "consequents"]
    ours = ours.sort_values(key, key=lambda s: s.map(sorted).map(str)).reset_index(drop=True)
    theirs = theirs.sort_values(key, key=lambda s: s.map(sorted).map(str)).reset_index(drop=True)
    assert len(ours) > 0
    pd.testing.assert_frame_equal(ours, theirs)


def test_duplicate_and_zero_entries_do_not_count():
    baskets = sp.csr_matrix(
        (np.array([1.0, 1.0, 0.0, 3.0]), (np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0]))),
        shape=(2, 2),
    )
    assert as_dict(frequent_itemsets(baskets, 0.5)) == {
        frozenset([0]): 1.0,
        frozenset([1]): 0.5,
        frozenset([0, 1]): 0.5,
    }


def test_no_baskets_gives_an_empty_table():
    table = frequent_itemsets(sp.csr_matrix((0, 5)), 0.1)
    assert list(table.columns) == ["support", "itemsets"] and table.empty


@pytest.mark.slow
def test_real_grocery_baskets_match_fpgrowth():
    path = dataset_path("groceries", "groceries.csv")
    lines = [line.strip().split(",") for line in path.read_text().splitlines() if line.strip()]
    names = sorted({item.strip() for line in lines for item in line})
    index = {name: i for i, name in enumerate(names)}
    rows = [r for r, line in enumerate(lines) for _ in line]
    cols = [index[item.strip()] for line in lines for item in line]
    baskets = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(lines), len(names)))
    for min_support in (0.01, 0.003):
        ours = as_dict(frequent_itemsets(baskets, min_support))
        assert ours == as_dict(mlxtend_itemsets(baskets, min_support, None))
        assert max(len(s) for s in ours) >= 3


def test_association_set_rules_use_fpgrowths_itemsets_with_three_items():
    baskets = random_baskets(11, 600, 30, 10)
    n = baskets.shape[0]
    table = association._itemsets(baskets, min_count=12)
    full = as_dict(mlxtend_itemsets(baskets, 12 / n, 3))
    triples = {s for s in full if len(s) == 3}
    assert triples  # the planted groups make three-item sets
    wanted = {sub for t in triples for k in (1, 2, 3) for sub in map(frozenset, combinations(t, k))}
    assert as_dict(table) == {s: full[s] for s in wanted}


def test_association_floor_rises_to_keep_pairs_bounded(monkeypatch):
    monkeypatch.setattr(association, "MAX_PAIRS_FOR_TRIPLES", 40)
    baskets = random_baskets(11, 600, 30, 10)
    pair_counts = np.sort(count_itemsets(baskets, 1, max_len=2)[1].counts)[::-1]
    table = association._itemsets(baskets, min_count=1)
    counts = np.rint(table["support"].to_numpy() * baskets.shape[0])
    # The 40th most frequent pair's count is the floor: rarer sets are gone, not all sets.
    assert counts.min() >= pair_counts[39] > 1
    assert (table["itemsets"].map(len) == 3).any()
