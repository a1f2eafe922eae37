"""Frequently-bought-together lists that cover an item's baskets, not repeat one of them.

Ranked by confidence alone, a product's top pairs are often one basket many times over: the
five colours of a bag a wholesaler always buys together each score high, and a list of them
is hit or missed all at once. What a shopper needs is the best chance that the list holds
something they will add, P(at least one), which is the share of the product's past baskets
the list covers. Picking greedily by the baskets each pair adds that are not yet covered
maximises that share within (1 - 1/e) of the best list (coverage is submodular; Nemhauser,
Wolsey and Fisher 1978), and the first pick is still the most confident pair.

Held-out FBT HR@10 (shoprec evaluate): Online Retail split 2011-09-01 0.7985 -> 0.802,
2011-07-01 0.802 -> 0.804; demo shops (small baskets) unchanged; the same order whether
the greedy looks at the top 20, 30 or 50 pairs (0.801-0.803).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

COVERAGE_CANDIDATES = 30  # pairs per item the greedy chooses among (the rest keep their order)
COVERAGE_PICKS = 10  # list positions it fills; a widget shows at most 8-12


def coverage_order(
    baskets: sp.csr_matrix,
    indices: np.ndarray,
    stats: np.ndarray,
    candidates: int = COVERAGE_CANDIDATES,
    picks: int = COVERAGE_PICKS,
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's pairs re-ordered by greedy basket coverage: (indices, stats), new arrays.

    baskets: CSR (n_baskets, n_items), nonzero = the basket holds the item.
    indices: int32 (n_items, k) consequents best first, -1 padded; stats: (n_items, k, ...)
        the per-pair statistics, moved with their pair. Ranking scores are not moved: they
        stay descending by position, so a blend keeps this order.
    Ties in added baskets go to the pair ranked earlier.
    """
    indices, stats = indices.copy(), stats.copy()
    binary = baskets.astype(bool).tocsr()
    by_item = binary.tocsc()
    for item in range(indices.shape[0]):
        row = indices[item]
        width = min(int((row >= 0).sum()), candidates)
        if width < 3:
            continue
        holding = by_item.indices[by_item.indptr[item] : by_item.indptr[item + 1]]
        if holding.size == 0:
            continue
        covers = binary[holding][:, row[:width]].toarray()  # baskets x candidate pairs
        order = _greedy(covers, min(picks, width))
        picked = set(order)
        order += [j for j in range(width) if j not in picked]
        indices[item, :width] = row[:width][order]
        stats[item, :width] = stats[item, :width][order]
    return indices, stats


def _greedy(covers: np.ndarray, picks: int) -> list[int]:
    """Columns of `covers` (bool baskets x candidates) picked by most baskets not yet covered."""
    covered = np.zeros(covers.shape[0], bool)
    taken = np.zeros(covers.shape[1], bool)
    order: list[int] = []
    for _ in range(picks):
        gain = covers[~covered].sum(axis=0).astype(np.int64)
        gain[taken] = -1
        best = int(np.argmax(gain))  # first maximum: the earlier-ranked pair on ties
        order.append(best)
        taken[best] = True
        covered |= covers[:, best]
    return order
