"""Customer taste: a personal score per customer from purchase and view history.

EASE (Steck 2019, https://arxiv.org/abs/1905.03375) on the most active items: a closed-form
item-item weight matrix B = I - P / diag(P), P = (X^T X + lambda I)^-1, dense but only over
a capped set (default 3000 items, 36 MB), the one dense item x item matrix allowed. Scores
are then tilted by the customer's category and price affinity. Histories are kept (sparse)
so serving needs only a customer id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.training_data import Interactions, ItemSpace

MIN_CUSTOMERS_WITH_PAIRS = 10
DEFAULT_MAX_ITEMS = 3000
VIEW_WEIGHT = 0.3
CATEGORY_BOOST = 0.5  # an item in a category filling all of the history scores 1.5x
PRICE_WIDTH = 1.0  # log-price standard deviation of the price affinity bell


@dataclass(frozen=True)
class Taste:
    """EASE weights over active items, plus every known customer's history.

    ease_items: int32 (m,), item indexes of the active set; ease_weights: float32 (m, m).
    customer_ids: unicode (n_customers,), sorted; history: CSR (n_customers, n_items),
        log1p(decayed purchases) + 0.3 x log1p(decayed views).
    customers_with_pairs: customers whose history has 2+ items.
    """

    ease_items: np.ndarray
    ease_weights: np.ndarray
    customer_ids: np.ndarray
    history: sp.csr_matrix
    customers_with_pairs: int

    @property
    def trusted(self) -> bool:
        """Enough multi-item histories to learn what goes with what."""
        return self.customers_with_pairs >= MIN_CUSTOMERS_WITH_PAIRS and self.ease_items.size > 1

    def customer_row(self, customer_id: str | None) -> int:
        """Row of a customer in history, or -1 when unknown (cold start)."""
        if not customer_id or self.customer_ids.size == 0:
            return -1
        pos = int(np.searchsorted(self.customer_ids, customer_id))
        found = pos < self.customer_ids.size and self.customer_ids[pos] == customer_id
        return pos if found else -1

    def history_of(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(item indexes int32, weights float32) of one customer's history."""
        if row < 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        lo, hi = self.history.indptr[row], self.history.indptr[row + 1]
        return self.history.indices[lo:hi].astype(np.int32), self.history.data[lo:hi]

    def score(self, items: np.ndarray, weights: np.ndarray, space: ItemSpace) -> np.ndarray:
        """Dense float32 (n_items,): EASE scores of a history, tilted by category and price."""
        n = space.n_items
        out = np.zeros(n, np.float32)
        if items.size == 0 or self.ease_items.size == 0:
            return out
        pos = np.searchsorted(self.ease_items, items)
        pos = np.minimum(pos, self.ease_items.size - 1)
        active = self.ease_items[pos] == items
        if active.any():
            raw = weights[active] @ self.ease_weights[pos[active]]
            out[self.ease_items] = np.maximum(raw, 0.0)
        return out * affinity(items, weights, space)


def affinity(items: np.ndarray, weights: np.ndarray, space: ItemSpace) -> np.ndarray:
    """Float32 (n_items,) multiplier from category share and price closeness of a history."""
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
        all_prices = space.prices
        ok = np.isfinite(all_prices) & (all_prices > 0)
        gap = np.log(all_prices[ok]) - centre
        factor[ok] *= (0.7 + 0.3 * np.exp(-0.5 * (gap / PRICE_WIDTH) ** 2)).astype(np.float32)
    return factor


def customer_history(inter: Interactions) -> sp.csr_matrix:
    """CSR (n_customers, n_items): log1p(purchases) + 0.3 log1p(views), both decayed."""
    bought = inter.customer_items.copy()
    bought.data = np.log1p(bought.data)
    viewed = inter.customer_views.copy()
    viewed.data = VIEW_WEIGHT * np.log1p(viewed.data)
    history = (bought + viewed).tocsr().astype(np.float32)
    history.eliminate_zeros()
    history.sort_indices()
    return history


def fit_taste(inter: Interactions, lam: float = 500.0, max_items: int = DEFAULT_MAX_ITEMS) -> Taste:
    """Fit EASE on the max_items items with most customers, keep every customer's history."""
    history = customer_history(inter)
    binary = history.copy()
    binary.data[:] = 1.0
    reach = np.asarray(binary.sum(axis=0)).ravel()
    ranked = np.lexsort((np.arange(reach.size), -reach))
    active = np.sort(ranked[:max_items][reach[ranked[:max_items]] > 0]).astype(np.int32)
    with_pairs = int((np.diff(binary.indptr) >= 2).sum())
    if active.size < 2:
        return Taste(
            active,
            np.zeros((active.size, active.size), np.float32),
            inter.customer_ids,
            history,
            with_pairs,
        )
    x = binary[:, active]
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return Taste(active, weights.astype(np.float32), inter.customer_ids, history, with_pairs)


def taste_to_arrays(taste: Taste) -> dict[str, np.ndarray]:
    """Arrays for the npz artifact (the CSR history as its three arrays plus shape)."""
    h = taste.history
    return {
        "ease_items": taste.ease_items,
        "ease_weights": taste.ease_weights,
        "customer_ids": taste.customer_ids,
        "history_indptr": h.indptr,
        "history_indices": h.indices,
        "history_data": h.data,
        "history_shape": np.asarray(h.shape, np.int64),
        "with_pairs": np.asarray([taste.customers_with_pairs], np.int64),
    }


def taste_from_arrays(a: dict[str, np.ndarray]) -> Taste:
    """Inverse of taste_to_arrays."""
    shape = tuple(int(x) for x in a["history_shape"])
    history = sp.csr_matrix(
        (a["history_data"], a["history_indices"], a["history_indptr"]), shape=shape
    )
    return Taste(
        a["ease_items"], a["ease_weights"], a["customer_ids"], history, int(a["with_pairs"][0])
    )
