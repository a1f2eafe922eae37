"""Item-item collaborative filtering: co-purchase and co-view similarity on sparse matrices.

Similarity is cosine with a shrinkage term, s_ij = c_ij / (sqrt(n_i) sqrt(n_j) + shrink),
where c_ij sums time-decayed co-occurrences: the shrink keeps two items bought once,
together, by one customer from outranking a pair seen hundreds of times. Nothing dense
of shape items x items is built: rows are computed in blocks and cut to the top k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.neighbours import Neighbours, top_k_sparse
from engine.training_data import Interactions

MIN_USERS_WITH_PAIRS = 10  # fewer people who bought/viewed 2+ items: no pattern to learn
DEFAULT_K = 100
BLOCK_ROWS = 2048


@dataclass(frozen=True)
class Collaborative:
    """Co-purchase and co-view neighbour tables over the item space.

    purchase: Neighbours from customers' (and guest baskets') purchase histories.
    view: Neighbours from sessions' viewed items.
    purchase_users / view_users: how many histories with 2+ items fed each table.
    """

    purchase: Neighbours
    view: Neighbours
    purchase_users: int
    view_users: int

    @property
    def purchase_trusted(self) -> bool:
        """Whether enough multi-item histories exist for co-purchase scores to mean much."""
        return self.purchase_users >= MIN_USERS_WITH_PAIRS and self.purchase.n_pairs > 0

    @property
    def view_trusted(self) -> bool:
        """Whether enough multi-item sessions exist for co-view scores to mean much."""
        return self.view_users >= MIN_USERS_WITH_PAIRS and self.view.n_pairs > 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for the npz artifact."""
        counts = np.asarray([self.purchase_users, self.view_users], np.int64)
        return {
            **self.purchase.to_arrays("purchase"),
            **self.view.to_arrays("view"),
            "users": counts,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Collaborative:
        """Inverse of to_arrays."""
        users = arrays["users"]
        return cls(
            Neighbours.from_arrays(arrays, "purchase"),
            Neighbours.from_arrays(arrays, "view"),
            int(users[0]),
            int(users[1]),
        )


def item_cosine(users: sp.csr_matrix, shrink: float, k: int = DEFAULT_K) -> Neighbours:
    """Top-k shrunk cosine neighbours of every item.

    users: CSR (n_users, n_items), nonnegative weights (decayed counts or 1.0).
    Returns Neighbours with s_ij = (U^T U)_ij / (sqrt(n_i) sqrt(n_j) + shrink), n_i = (U^T U)_ii.
    """
    users = sp.csr_matrix(users, dtype=np.float32)
    n_items = users.shape[1]
    by_item = users.T.tocsr()
    norms = np.sqrt(np.asarray(users.multiply(users).sum(axis=0)).ravel()).astype(np.float32)
    indices = np.full((n_items, k), -1, np.int32)
    scores = np.zeros((n_items, k), np.float32)
    for start in range(0, n_items, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n_items)
        co = (by_item[start:stop] @ users).tocoo()
        denom = norms[co.row + start] * norms[co.col] + shrink
        sim = co.data / np.maximum(denom, 1e-12)
        block = sp.coo_matrix((sim, (co.row, co.col)), shape=(stop - start, n_items))
        # top_k_sparse drops the diagonal of square input; shift it into place for a block.
        shifted = sp.coo_matrix(
            (block.data, (block.row + start, block.col)), shape=(n_items, n_items)
        )
        part = top_k_sparse(shifted, k)
        indices[start:stop] = part.indices[start:stop]
        scores[start:stop] = part.scores[start:stop]
    return Neighbours(indices, scores)


def _multi_item_rows(matrix: sp.csr_matrix) -> int:
    return int((np.diff(matrix.indptr) >= 2).sum())


def fit_collaborative(
    inter: Interactions, shrink: float = 10.0, k: int = DEFAULT_K
) -> Collaborative:
    """Fit co-purchase (customers + guest baskets) and co-view (sessions) neighbours."""
    purchase_users = inter.customer_items
    guest = inter.baskets[inter.basket_customer < 0] if inter.baskets.shape[0] else inter.baskets
    histories = sp.vstack([purchase_users, guest]).tocsr()
    # log damping: a customer who re-orders an item 40 times is not 40 customers.
    histories.data = np.log1p(histories.data).astype(np.float32)
    views = inter.session_views
    return Collaborative(
        purchase=item_cosine(histories, shrink, k),
        view=item_cosine(views, shrink, k),
        purchase_users=_multi_item_rows(histories),
        view_users=_multi_item_rows(views),
    )
