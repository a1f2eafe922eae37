"""Frequently bought together: pair statistics over order baskets, and multi-item rules.

Pairs (i -> j) carry support, confidence, lift and a significance score: the signed square
root of Dunning's log-likelihood ratio G^2 for the 2x2 table of baskets with/without i and j
(https://aclanthology.org/J93-1003), so a rare pair seen far more often than chance predicts
outranks a pair of two best-sellers that meet by accident. Each item's list is then ordered
to cover its baskets rather than repeat one (engine.pair_coverage). Rules whose antecedent
is a set of two items ({i, j} -> l, for carts) are mined with mlxtend's association_rules over
the frequent itemsets of engine.itemsets (fpgrowth's exact table, counted on the sparse
basket matrix ~20x faster than mlxtend's fpgrowth).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
from mlxtend.frequent_patterns import association_rules

from engine.errors import ModelFitError
from engine.itemsets import ItemsetCounts, count_itemsets, itemsets_frame
from engine.neighbours import Neighbours
from engine.pair_coverage import coverage_order, soft_cover_order
from engine.slots import whole_cart_factor
from engine.training_data import Interactions

logger = logging.getLogger(__name__)

MIN_MULTI_ITEM_BASKETS = 20  # below this, co-purchase counts are anecdotes
DEFAULT_K = 100
PLAIN_K = 50  # co-purchased items kept per anchor by plain confidence (lists show <= 12)
# The set-rule support floor rises until at most this many pairs are frequent: it bounds the
# three-item sets (and mlxtend's rule generation) to ~1 s on a 20k-order shop.
MAX_PAIRS_FOR_TRIPLES = 10_000
PAIR_STATS = ("support", "confidence", "lift", "significance")
SIGNIFICANCE_SCALE = 0.5  # z at which a pair keeps 63% of its confidence (see pair_score)


@dataclass(frozen=True)
class AssociationRules:
    """Pair tables and two-item-antecedent rules over the item space.

    pair_indices: int32 (n_items, k), consequents of each antecedent item, best first, -1 pad.
    pair_score: float32 (n_items, k), the ranking score; pair_<stat>: float32 (n_items, k) for
        stat in support, confidence, lift, significance.
    rule_antecedents: int32 (n_rules, 2); rule_consequents: int32 (n_rules,);
    rule_stats: float32 (n_rules, 4) columns as PAIR_STATS; rule_score: float32 (n_rules,).
    n_baskets: orders seen; multi_item_baskets: orders with 2+ distinct items; min_count:
        least co-occurrence count kept.
    """

    pair_indices: np.ndarray
    pair_score: np.ndarray
    pair_stats: np.ndarray  # float32 (n_items, k, 4)
    rule_antecedents: np.ndarray
    rule_consequents: np.ndarray
    rule_stats: np.ndarray
    rule_score: np.ndarray
    n_baskets: int
    multi_item_baskets: int
    min_count: int
    cooccurrence: Neighbours | None = None
    cooccurrence_counts: np.ndarray | None = None
    # The baskets fitted on, kept while training (validation re-ranks the plain table with
    # them, soft_covered); never saved, so a loaded model has None.
    baskets: sp.csr_matrix | None = field(default=None, repr=False, compare=False)

    def soft_covered(self, discount: float) -> AssociationRules:
        """The same rules with the plain co-purchase table re-ranked by soft basket coverage
        (engine.pair_coverage.soft_cover_order); needs the baskets (a fresh fit)."""
        if discount >= 1.0 or self.cooccurrence is None or self.cooccurrence_counts is None:
            return self
        if self.baskets is None:
            raise ModelFitError("soft_covered needs the baskets of a fresh fit")
        plain = self.cooccurrence
        indices, scores, together = soft_cover_order(
            self.baskets, plain.indices, plain.scores, self.cooccurrence_counts, discount
        )
        return replace(self, cooccurrence=Neighbours(indices, scores), cooccurrence_counts=together)

    @property
    def plain(self) -> Neighbours:
        """Every co-purchased item of each anchor (no support floor), by plain confidence.

        The ranking a shop is never allowed to fall below: an anchor bought with anything
        keeps it, however rare the pair (models saved before this table serve an empty one).
        """
        if self.cooccurrence is None:
            return Neighbours.empty(self.pair_indices.shape[0])
        return self.cooccurrence

    @property
    def plain_trusted(self) -> bool:
        """Enough baskets with 2+ items, and some pair at all, for plain co-purchase."""
        return self.multi_item_baskets >= MIN_MULTI_ITEM_BASKETS and self.plain.n_pairs > 0

    def at_floor(self, floor: int) -> AssociationRules:
        """The same pair table without the pairs seen in fewer than `floor` orders.

        What validation compares support floors with, from one fit at floor 1; each row
        keeps its order, the dropped pairs' places go to the padding.
        """
        if floor <= self.min_count:
            return self
        seen = np.rint(self.pair_stats[:, :, 0] * self.n_baskets)
        keep = (self.pair_indices >= 0) & (seen >= floor)
        order = np.argsort(~keep, axis=1, kind="stable")
        taken = np.take_along_axis(keep, order, axis=1)
        indices = np.where(taken, np.take_along_axis(self.pair_indices, order, axis=1), -1)
        score = np.where(taken, np.take_along_axis(self.pair_score, order, axis=1), 0.0)
        stats = np.where(
            taken[:, :, None], np.take_along_axis(self.pair_stats, order[:, :, None], axis=1), 0.0
        )
        return replace(
            self,
            pair_indices=indices.astype(np.int32),
            pair_score=score.astype(np.float32),
            pair_stats=stats.astype(np.float32),
            min_count=floor,
        )

    @property
    def trusted(self) -> bool:
        """Enough baskets with 2+ items to say what is bought together."""
        return self.multi_item_baskets >= MIN_MULTI_ITEM_BASKETS and bool(
            (self.pair_indices >= 0).any()
        )

    def score_for(self, anchors: np.ndarray, n_items: int, whole_set: bool = False) -> np.ndarray:
        """Dense float32 (n_items,): pair scores summed over anchors, plus set rules.

        A rule {a, b} -> c fires only when both a and b are anchors (a cart), and then adds
        its score on top of the pairs, so the set's evidence counts more than its parts.
        whole_set: the pair part is scaled by the share of anchors an item goes with
        (complete_the_look: complementary to the whole cart, not to one item of it).
        """
        if anchors.size == 0:
            return np.zeros(n_items, np.float32)
        idx = self.pair_indices[anchors]
        keep = idx >= 0
        out = np.bincount(idx[keep], weights=self.pair_score[anchors][keep], minlength=n_items)
        if whole_set and anchors.size >= 2:
            out = out * whole_cart_factor(self.pair_indices, anchors, n_items)
        if anchors.size >= 2 and self.rule_consequents.size:
            fires = np.isin(self.rule_antecedents[:, 0], anchors) & np.isin(
                self.rule_antecedents[:, 1], anchors
            )
            if fires.any():
                out += np.bincount(
                    self.rule_consequents[fires], weights=self.rule_score[fires], minlength=n_items
                )
        return out.astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for the npz artifact."""
        counts = np.asarray([self.n_baskets, self.multi_item_baskets, self.min_count], np.int64)
        plain = {}
        if self.cooccurrence is not None and self.cooccurrence_counts is not None:
            plain = {
                **self.cooccurrence.to_arrays("cooccurrence"),
                "cooccurrence_counts": self.cooccurrence_counts,
            }
        return {
            **plain,
            "pair_indices": self.pair_indices,
            "pair_score": self.pair_score,
            "pair_stats": self.pair_stats,
            "rule_antecedents": self.rule_antecedents,
            "rule_consequents": self.rule_consequents,
            "rule_stats": self.rule_stats,
            "rule_score": self.rule_score,
            "counts": counts,
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> AssociationRules:
        """Inverse of to_arrays."""
        c = a["counts"]
        return cls(
            a["pair_indices"],
            a["pair_score"],
            a["pair_stats"],
            a["rule_antecedents"],
            a["rule_consequents"],
            a["rule_stats"],
            a["rule_score"],
            int(c[0]),
            int(c[1]),
            int(c[2]),
            Neighbours.from_arrays(a, "cooccurrence") if "cooccurrence_indices" in a else None,
            a.get("cooccurrence_counts"),
        )


def _xlogx(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x * np.log(np.maximum(x, 1e-300)), 0.0)


def signed_llr(both: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, total: float) -> np.ndarray:
    """Signed sqrt of Dunning's G^2 for co-occurrence: > 0 when pairs meet more than chance.

    both: baskets with a and b; n_a, n_b: baskets with a / with b; total: all baskets.
    """
    k11 = both.astype(np.float64)
    k12, k21 = n_a - k11, n_b - k11
    k22 = total - n_a - n_b + k11
    rows = _xlogx(k11 + k12) + _xlogx(k21 + k22)
    cols = _xlogx(k11 + k21) + _xlogx(k12 + k22)
    cells = _xlogx(k11) + _xlogx(k12) + _xlogx(k21) + _xlogx(k22)
    g2 = 2.0 * (cells - rows - cols + _xlogx(np.full_like(k11, total)))
    sign = np.sign(k11 * total - n_a * n_b)
    return (sign * np.sqrt(np.maximum(g2, 0.0))).astype(np.float32)


def auto_min_count(n_baskets: int) -> int:
    """Least co-occurrence count a pair needs: 1 in a tiny shop, ~0.005% of baskets in a big one.

    An absolute floor (not a fixed min_support fraction) lets a 50-order shop and a 100k-order
    shop both get pairs; significance then separates real pairs from noise.
    """
    return max(1, min(5, math.ceil(n_baskets * 5e-5) + (1 if n_baskets >= 500 else 0)))


def pair_score(confidence: np.ndarray, lift: np.ndarray, significance: np.ndarray) -> np.ndarray:
    """Ranking score of a pair: confidence, backed off when the pair is not significant.

    Confidence ranks the consequents shoppers actually add (held-out FBT hit rate: plain
    confidence beat lift- and significance-led scores at two temporal splits). Multiplying by
    a saturating function of significance, 1 - exp(-z / 0.5), leaves significant pairs
    (z >= ~1.5 keeps 95%) ranked by confidence and pushes pairs no more frequent than chance
    (z <= 0: two best sellers meeting by accident) below them. Lift stays in the stats for
    owners, not in the score: it favoured rare consequents over the ones shoppers add.
    """
    del lift  # part of the signature so callers pass the full pair statistics
    z = np.maximum(significance, 0.0)
    return (confidence * (1.0 - np.exp(-z / SIGNIFICANCE_SCALE))).astype(np.float32)


PAIR_BLOCK = 2048  # anchors whose pairs are counted (and ranked) at once


def count_pairs(
    baskets: sp.csr_matrix,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every ordered pair (a, b), a != b, held by some basket, with its count of baskets:
    (a, b, together float64), PAIR_BLOCK anchors at a time. The sparse products here are
    what grows with orders and basket sizes (a Spark job counts them instead:
    PairCounts)."""
    n_items = baskets.shape[1]
    by_item = baskets.T.tocsr()
    for start in range(0, n_items, PAIR_BLOCK):
        co = (by_item[start : start + PAIR_BLOCK] @ baskets).tocoo()
        a, b, c = co.row + start, co.col, co.data.astype(np.float64)
        keep = a != b
        yield a[keep], b[keep], c[keep]


@dataclass(frozen=True)
class PairCounts:
    """Pair co-occurrence counted elsewhere (spark_engine's tables), on the item space, so
    a fit ranks pairs without counting them.

    anchors, partners: int (n_pairs,), together: float64 (n_pairs,): every ordered pair
        (anchor != partner) held by at least `floor` baskets together, in any order; a fit
        at a support floor below `floor` cannot use them.
    plain_indices: int32 (n_items, PLAIN_K), -1 padded, and plain_together: float32 (n_items,
        PLAIN_K): each item's PLAIN_K partners by baskets together, ties to the lower index
        (every pair, no floor: the plain co-purchase table before any re-ranking).
    rule_baskets: CSR (n_baskets, n_items): the baskets cut to the items held by at least
        `rule_floor` baskets, all the set rules' itemsets are counted over (a fit whose set
        rule floor is below `rule_floor` cannot use them).
    """

    anchors: np.ndarray
    partners: np.ndarray
    together: np.ndarray
    floor: int
    plain_indices: np.ndarray
    plain_together: np.ndarray
    rule_baskets: sp.csr_matrix
    rule_floor: int


@dataclass(frozen=True)
class _ScoredTable:
    indices: np.ndarray
    score: np.ndarray
    stats: np.ndarray

    @classmethod
    def empty(cls, n_items: int, k: int) -> _ScoredTable:
        return cls(
            np.full((n_items, k), -1, np.int32),
            np.zeros((n_items, k), np.float32),
            np.zeros((n_items, k, 4), np.float32),
        )


def _pairs(
    baskets: sp.csr_matrix, counts: np.ndarray, min_count: int, k: int
) -> tuple[_ScoredTable, _PlainTable]:
    n_baskets, n_items = baskets.shape
    scored = _ScoredTable.empty(n_items, k)
    plain = _PlainTable.empty(n_items)
    for a, b, c in count_pairs(baskets):
        _plain_rows(a, b, c, counts, plain)
        _scored_rows(a, b, c, counts, n_baskets, min_count, scored)
    return scored, plain


def _counted_pairs(
    counted: PairCounts, counts: np.ndarray, n_baskets: int, min_count: int, k: int
) -> tuple[_ScoredTable, _PlainTable]:
    """_pairs' tables from pairs counted elsewhere: the same rows, value for value."""
    n_items = counts.size
    if counted.floor > min_count:
        raise ModelFitError(
            f"pairs counted from {counted.floor} baskets together cannot make a table "
            f"at support floor {min_count}"
        )
    if counted.plain_indices.shape != (n_items, PLAIN_K):
        raise ModelFitError("the counted co-purchase table is not on the item space")
    scored = _ScoredTable.empty(n_items, k)
    order = np.argsort(counted.anchors, kind="stable")
    a, b, c = counted.anchors[order], counted.partners[order], counted.together[order]
    bounds = np.searchsorted(a, np.arange(0, n_items + PAIR_BLOCK, PAIR_BLOCK))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            _scored_rows(a[lo:hi], b[lo:hi], c[lo:hi], counts, n_baskets, min_count, scored)
    indices = counted.plain_indices.astype(np.int32)
    together = counted.plain_together.astype(np.float32)
    rows = np.broadcast_to(np.arange(n_items)[:, None], indices.shape)
    confidence = np.zeros(indices.shape, np.float32)
    held = indices >= 0
    confidence[held] = (together[held].astype(np.float64) / counts[rows[held]]).astype(np.float32)
    return scored, _PlainTable(indices, confidence, together)


def _scored_rows(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    counts: np.ndarray,
    n_baskets: int,
    min_count: int,
    table: _ScoredTable,
) -> None:
    """Fill table's rows of anchors `a` (each anchor's pairs all given): pairs seen in at
    least min_count baskets, by pair_score, ties to the lower index."""
    keep = c >= min_count
    a, b, c = a[keep], b[keep], c[keep]
    conf = c / counts[a]
    lift = c * n_baskets / (counts[a] * counts[b])
    sig = signed_llr(c, counts[a], counts[b], float(n_baskets))
    sc = pair_score(conf, lift, sig)
    keep = sc > 0
    a, b, c, conf, lift, sig, sc = (x[keep] for x in (a, b, c, conf, lift, sig, sc))
    order = np.lexsort((b, -sc, a))
    a, b = a[order], b[order]
    rank = np.arange(a.size) - np.searchsorted(a, a)
    k = table.indices.shape[1]
    top = rank < k
    rows, slots = a[top], rank[top]
    table.indices[rows, slots] = b[top]
    table.score[rows, slots] = sc[order][top]
    table.stats[rows, slots] = np.stack([c / n_baskets, conf, lift, sig], axis=1)[order][
        top
    ].astype(np.float32)


@dataclass(frozen=True)
class _PlainTable:
    indices: np.ndarray
    confidence: np.ndarray
    together: np.ndarray

    @classmethod
    def empty(cls, n_items: int) -> _PlainTable:
        return cls(
            np.full((n_items, PLAIN_K), -1, np.int32),
            np.zeros((n_items, PLAIN_K), np.float32),
            np.zeros((n_items, PLAIN_K), np.float32),
        )


def _plain_rows(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, counts: np.ndarray, plain: _PlainTable
) -> None:
    """Fill plain's rows of anchors `a`: consequents by confidence (= by orders together),
    ties to the lower index (serving's popularity fill then puts the better seller first)."""
    # One int64 key (anchor, then most orders together, then lower index): an argsort of
    # it is ~10x faster than a lexsort of the three.
    top_c = np.int64(c.max(initial=0)) + 1
    local = (a - a.min(initial=0)).astype(np.int64)
    key = (local * top_c + (top_c - 1 - c.astype(np.int64))) * np.int64(counts.size) + b
    order = np.argsort(key, kind="stable")
    a, b, c = a[order], b[order], c[order]
    rank = np.arange(a.size) - np.searchsorted(a, a)
    top = rank < plain.indices.shape[1]
    rows, slots = a[top], rank[top]
    plain.indices[rows, slots] = b[top]
    plain.confidence[rows, slots] = (c[top] / counts[rows]).astype(np.float32)
    plain.together[rows, slots] = c[top]


def _itemsets(baskets: sp.csr_matrix, min_count: int) -> pd.DataFrame:
    """Frequent itemsets of up to three items that make set rules, for association_rules.

    Exactly fpgrowth's itemsets (max_len 3) at a count floor of min_count, raised to the
    count of the MAX_PAIRS_FOR_TRIPLES-th most frequent pair when more pairs pass: an
    automatic min_support that keeps a big shop's three-item sets few and well supported.
    Only three-item sets and their subsets are returned, since only they make {i, j} -> l.
    """
    n = baskets.shape[0]
    floor = min_count
    levels = count_itemsets(baskets, floor, max_len=2)
    if len(levels) > 1 and levels[1].counts.size > MAX_PAIRS_FOR_TRIPLES:
        floor = int(np.partition(levels[1].counts, -MAX_PAIRS_FOR_TRIPLES)[-MAX_PAIRS_FOR_TRIPLES])
    levels = count_itemsets(baskets, floor, max_len=3)
    if len(levels) < 3:
        return itemsets_frame([], n)
    triples = levels[2]
    sub_pairs = np.concatenate(
        [triples.items[:, [0, 1]], triples.items[:, [0, 2]], triples.items[:, [1, 2]]]
    )
    pairs = levels[1]
    keep_pair = _rows_in(pairs.items, sub_pairs)
    keep_single = np.isin(levels[0].items[:, 0], triples.items)
    kept = [
        ItemsetCounts(levels[0].items[keep_single], levels[0].counts[keep_single]),
        ItemsetCounts(pairs.items[keep_pair], pairs.counts[keep_pair]),
        triples,
    ]
    return itemsets_frame(kept, n)


def _rows_in(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Bool per row of rows (int (n, 2)): whether it is a row of wanted (int (m, 2))."""
    width = np.int64(max(int(rows.max(initial=0)), int(wanted.max(initial=0))) + 1)
    keys = rows[:, 0].astype(np.int64) * width + rows[:, 1]
    return np.isin(keys, wanted[:, 0].astype(np.int64) * width + wanted[:, 1])


def _no_set_rules():
    return (
        np.zeros((0, 2), np.int32),
        np.zeros(0, np.int32),
        np.zeros((0, 4), np.float32),
        np.zeros(0, np.float32),
    )


def _set_rules(itemsets: pd.DataFrame, n_baskets: int, counts: np.ndarray):
    empty = _no_set_rules()
    if not (itemsets["itemsets"].map(len) == 3).any():
        return empty
    rules = association_rules(
        itemsets, num_itemsets=n_baskets, metric="confidence", min_threshold=0.0
    )
    rules = rules[(rules["antecedents"].map(len) == 2) & (rules["consequents"].map(len) == 1)]
    if rules.empty:
        return empty
    ante = np.asarray([sorted(s) for s in rules["antecedents"]], np.int32)
    cons = np.asarray([next(iter(s)) for s in rules["consequents"]], np.int32)
    both = rules["support"].to_numpy() * n_baskets
    n_ante = rules["antecedent support"].to_numpy() * n_baskets
    sig = signed_llr(both, n_ante, counts[cons].astype(np.float64), float(n_baskets))
    conf, lift = rules["confidence"].to_numpy(), rules["lift"].to_numpy()
    stats = np.stack([rules["support"].to_numpy(), conf, lift, sig], axis=1).astype(np.float32)
    return ante, cons, stats, pair_score(conf, lift, sig)


def set_rule_floor(n_baskets: int) -> int:
    """The least count of a set rule's itemsets in a shop of n_baskets orders.

    Set rules need real support; _itemsets raises this floor until at most
    MAX_PAIRS_FOR_TRIPLES pairs pass, so a big shop's floor follows its data, not 0.1% of
    its orders (which left a 1M-order shop with no three-item set at all).
    """
    return max(3, math.ceil(n_baskets * 1e-4))


def rule_itemsets(baskets: sp.csr_matrix, counted: PairCounts | None = None) -> pd.DataFrame:
    """The itemsets set rules are made of (mlxtend's table): counted over the baskets, or
    over counted's baskets cut to the frequent items (the same sets and supports)."""
    n_baskets = baskets.shape[0]
    rule_floor = set_rule_floor(n_baskets)
    if counted is None:
        return _itemsets(baskets, rule_floor)
    if counted.rule_floor > rule_floor or counted.rule_baskets.shape != baskets.shape:
        raise ModelFitError(
            f"baskets cut at {counted.rule_floor} orders per item, shape "
            f"{counted.rule_baskets.shape}, cannot make itemsets at floor {rule_floor} "
            f"over {baskets.shape}"
        )
    return _itemsets(counted.rule_baskets, rule_floor)


def fit_association(
    inter: Interactions,
    k: int = DEFAULT_K,
    min_count: int | None = None,
    set_rules: bool = True,
    cover_discount: float = 1.0,
    counted: PairCounts | None = None,
) -> AssociationRules:
    """Mine pair statistics, two-item-antecedent rules (unless not set_rules) and the plain
    co-purchase table (every pair, by confidence, re-ranked by soft basket coverage when
    cover_discount < 1: engine.pair_coverage.soft_cover_order) from order baskets.

    counted: the pairs and the cut baskets counted elsewhere (a Spark job), used instead of
    counting them here; the baskets still order each item's list by coverage."""
    baskets = inter.baskets
    n_baskets = baskets.shape[0]
    multi = int((np.diff(baskets.indptr) >= 2).sum())
    floor = auto_min_count(n_baskets) if min_count is None else min_count
    counts = np.asarray(baskets.sum(axis=0)).ravel()
    scored, plain = (
        _pairs(baskets, counts, floor, k)
        if counted is None
        else _counted_pairs(counted, counts, n_baskets, floor, k)
    )
    indices, stats = coverage_order(baskets, scored.indices, scored.stats)
    score = scored.score
    if set_rules:
        itemsets = rule_itemsets(baskets, counted)
        ante, cons, rule_stats, rule_score = _set_rules(itemsets, n_baskets, counts)
    else:  # one-anchor validation never fires a set rule
        ante, cons, rule_stats, rule_score = _no_set_rules()
    logger.info(
        "association: %d baskets (%d with 2+ items), pair floor %d, %d set rules",
        n_baskets,
        multi,
        floor,
        cons.size,
    )
    return AssociationRules(
        indices,
        score,
        stats,
        ante,
        cons,
        rule_stats,
        rule_score,
        n_baskets,
        multi,
        floor,
        Neighbours(plain.indices, plain.confidence),
        plain.together,
        baskets,
    ).soft_covered(cover_discount)
