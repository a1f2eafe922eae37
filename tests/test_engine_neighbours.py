"""top_k_dense_rows and top_k_sparse_rows against a brute-force sort: same neighbours, same
order, same scores."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from engine.neighbours import top_k_dense_rows, top_k_sparse_rows


def brute_force(block: np.ndarray, k: int, row_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Every row fully sorted: positive scores, diagonal dropped, ties on the lower column."""
    n_rows = block.shape[0]
    indices = np.full((n_rows, k), -1, np.int32)
    scores = np.zeros((n_rows, k), np.float32)
    for r in range(n_rows):
        cols = [c for c in range(block.shape[1]) if block[r, c] > 0 and c != r + row_offset]
        cols.sort(key=lambda c: (-block[r, c], c))
        for slot, c in enumerate(cols[:k]):
            indices[r, slot], scores[r, slot] = c, block[r, c]
    return indices, scores


@pytest.mark.parametrize(
    ("shape", "k", "offset", "density", "levels"),
    [
        ((30, 2000), 10, 0, 0.3, None),  # the bounded path: many more columns than k
        ((30, 2000), 10, 1990, 0.3, 4),  # few distinct values: ties at the cut
        ((20, 3000), 50, 100, 0.01, None),  # rows with fewer than k positives
        ((12, 40), 5, 0, 1.0, 3),  # narrow block: plain path
        ((8, 500), 20, 0, 0.0, None),  # nothing similar at all
    ],
)
def test_top_k_dense_rows_matches_a_full_sort(shape, k, offset, density, levels):
    rng = np.random.default_rng(sum(shape) + k)
    values = rng.random(shape)
    if levels:
        values = np.ceil(values * levels) / levels
    block = (values * (rng.random(shape) < density)).astype(np.float32)
    rows = np.arange(shape[0])
    inside = rows + offset < shape[1]
    block[rows[inside], rows[inside] + offset] = 1.0  # self-similarity, the row's best
    before = block.copy()
    got = top_k_dense_rows(block, k, offset)
    want = brute_force(block, k, offset)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(block, before)  # the caller's block is left as it was
    from_sparse = top_k_sparse_rows(sp.csr_matrix(block), k, offset)
    np.testing.assert_array_equal(from_sparse[0], want[0])
    np.testing.assert_array_equal(from_sparse[1], want[1])
