"""Frequent itemsets by sparse co-occurrence counting, in the table mlxtend expects.

mlxtend's fpgrowth builds its FP-tree in Python and takes ~10 s on a year of a mid-size
shop's orders; the rules themselves (mlxtend's association_rules) only need the frequent
itemsets and their supports. This module counts them level by level on the sparse basket
matrix, with every step a numpy or scipy call over all candidates at once (no Python loop
per item or per basket):

- singles: column counts;
- sets of size d + 2 from "prefix rows": each row is one basket seen from one frequent
  d-set P it holds, listing the basket's items after P's last item that extend P to a
  frequent (d + 1)-set. Giving each (P, item) its own column, one sparse product M^T M
  counts every (P, b, c) at once (it is block-diagonal: rows of different prefixes never
  share a column). The root prefix is the empty set, whose rows are the baskets.
- the next level's rows are cut from the current ones: the entries after b in a row of P
  form a row of P + {b}, kept only where P + {b} + {c} was frequent.

Counting is exact, so an itemset is reported iff count / n >= min_support, exactly as
fpgrowth decides, and supports are the same floats (count / n).
Memory is bounded by chunking the products (MAX_PRODUCT_CELLS) and by only ever holding the
rows of frequent prefixes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.errors import InputError

MAX_PRODUCT_CELLS = 1 << 25  # rows x columns of one chunk of M^T M: bounds its memory
MAX_LOOKUP_TABLE = 1 << 24  # pair lookup by a dense int32 table up to this size, else a search


@dataclass(frozen=True)
class ItemsetCounts:
    """Frequent itemsets of one size k: items int32 (n_sets, k) ascending; counts int64."""

    items: np.ndarray
    counts: np.ndarray


def min_count_for(min_support: float, n_baskets: int) -> int:
    """The least basket count c with c / n_baskets >= min_support (mlxtend's float test)."""
    if not 0.0 < min_support <= 1.0:
        raise InputError(f"min_support must be in (0, 1], got {min_support!r}")
    count = max(1, math.ceil(min_support * n_baskets))
    while count > 1 and (count - 1) / float(n_baskets) >= min_support:
        count -= 1
    while count / float(n_baskets) < min_support:
        count += 1
    return count


def count_itemsets(
    baskets: sp.csr_matrix, min_count: int, max_len: int | None = None
) -> list[ItemsetCounts]:
    """Every itemset held by at least min_count baskets, by size (index 0 = singles).

    baskets: CSR (n_baskets, n_items), nonzero = the basket holds the item (values ignored).
    Item ids in the result are column indexes of baskets.
    """
    max_len = max_len or baskets.shape[1]
    basket_rows = sp.csr_matrix(baskets)
    basket_rows.sum_duplicates()
    basket_rows.eliminate_zeros()
    n_items = basket_rows.shape[1]
    single_counts = np.bincount(basket_rows.indices, minlength=n_items)
    frequent = np.nonzero(single_counts >= min_count)[0].astype(np.int32)
    out = [ItemsetCounts(frequent[:, None], single_counts[frequent].astype(np.int64))]
    if max_len < 2 or frequent.size < 2:
        return out
    # Local item ids 0..m-1 keep the original order, so "after" means a higher column.
    rows = basket_rows[:, frequent].tocsr()
    rows.sort_indices()
    # Counts are summed as float64 products: exact up to 2**53 baskets (float32: 2**24).
    rows.data = np.ones(rows.nnz, np.float64)
    rows = _drop_short(rows)
    # The root prefix is the empty set: its blocks are the frequent items themselves.
    level = _Level(
        rows=rows,
        node_items=np.zeros((1, 0), np.int32),
        row_node=np.zeros(rows.shape[0], np.int32),
        block_node=np.zeros(frequent.size, np.int32),
        block_item=np.arange(frequent.size, dtype=np.int32),
    )
    size = 2
    while size <= max_len and level.rows.nnz:
        pairs = level.count_pairs(min_count)
        if pairs.u.size == 0:
            break
        items = np.column_stack(
            [
                level.node_items[level.block_node[pairs.u]],
                level.block_item[pairs.u],
                level.block_item[pairs.v],
            ]
        )
        out.append(ItemsetCounts(frequent[items], pairs.count))
        size += 1
        if size > max_len:
            break
        level = level.extend(pairs)
    return out


def frequent_itemsets(
    baskets: sp.csr_matrix, min_support: float, max_len: int | None = None
) -> pd.DataFrame:
    """mlxtend fpgrowth's table: 'support' (float) and 'itemsets' (frozensets of columns).

    The same itemsets and the same supports as
    fpgrowth(pd.DataFrame.sparse.from_spmatrix(baskets.astype(bool)), min_support, max_len=...).
    """
    n_baskets = baskets.shape[0]
    if n_baskets == 0:
        return pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": []})
    levels = count_itemsets(baskets, min_count_for(min_support, n_baskets), max_len)
    return itemsets_frame(levels, n_baskets)


def itemsets_frame(levels: list[ItemsetCounts], n_baskets: int) -> pd.DataFrame:
    """The mlxtend table of counted itemsets (support = count / n_baskets)."""
    supports = [lvl.counts / float(n_baskets) for lvl in levels]
    sets = [frozenset(row) for lvl in levels for row in lvl.items.tolist()]
    support = np.concatenate(supports) if supports else np.zeros(0)
    return pd.DataFrame({"support": support, "itemsets": sets})


@dataclass(frozen=True)
class _Pairs:
    """Frequent (u, v) block pairs of one level, u < v, sorted by (u, v), with counts."""

    u: np.ndarray
    v: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class _Level:
    """Prefix rows of one level, as columns of M.

    rows: CSR (n_rows, n_blocks), each row's blocks ascending, 2+ per row; a block is one
        (prefix node, item), and all blocks of a row belong to the same node.
    node_items: int32 (n_nodes, d), the prefix d-set of each node (local item ids).
    row_node: int32 (n_rows,), node of each row.
    block_node / block_item: int32 (n_blocks,), the (node, item) of each block, sorted by
        node then item, so a row's blocks ascend with its items.
    """

    rows: sp.csr_matrix
    node_items: np.ndarray
    row_node: np.ndarray
    block_node: np.ndarray
    block_item: np.ndarray

    def count_pairs(self, min_count: int) -> _Pairs:
        """Counts of every (block u, block v), u < v, in one row; those >= min_count."""
        n_blocks = self.block_node.size
        matrix = self.rows
        by_block = matrix.T.tocsr()
        chunk = max(1, MAX_PRODUCT_CELLS // max(n_blocks, 1))
        us, vs, cs = [], [], []
        for start in range(0, n_blocks, chunk):
            product = (by_block[start : start + chunk] @ matrix).tocoo()
            u = product.row.astype(np.int32) + start
            keep = (product.col > u) & (product.data >= min_count)
            us.append(u[keep])
            vs.append(product.col[keep].astype(np.int32))
            cs.append(np.rint(product.data[keep]).astype(np.int64))
        u, v, c = (np.concatenate(x) for x in (us, vs, cs))
        order = np.lexsort((v, u))
        return _Pairs(u[order], v[order], c[order])

    def extend(self, pairs: _Pairs) -> _Level:
        """Rows of the next level: prefixes P + {b} for every block u = (P, b) of a pair.

        The next level's blocks are the kept pairs themselves: (u, v) = (P + {b}, c).
        """
        n_blocks = self.block_node.size
        # A prefix needs two extensions to make one longer set.
        per_block = np.bincount(pairs.u, minlength=n_blocks)
        keep = per_block[pairs.u] >= 2
        u, v = pairs.u[keep], pairs.v[keep]
        node_of_block = np.full(n_blocks, -1, np.int32)
        prefixes = np.unique(u)
        node_of_block[prefixes] = np.arange(prefixes.size, dtype=np.int32)
        node_items = np.column_stack(
            [self.node_items[self.block_node[prefixes]], self.block_item[prefixes]]
        ).astype(np.int32)
        # Entries in no kept pair cannot be in a longer set: dropping them first shrinks
        # the quadratic expansion below.
        useful = np.zeros(n_blocks, bool)
        useful[u] = True
        useful[v] = True
        rows = _keep_entries(self.rows, useful[self.rows.indices])
        # Every entry j of a row that is a prefix, followed by the entries after it.
        blocks = rows.indices
        indptr = rows.indptr
        row_end = np.repeat(indptr[1:], np.diff(indptr))
        starts = np.nonzero(node_of_block[blocks] >= 0)[0]
        lengths = row_end[starts] - starts - 1
        starts, lengths = starts[lengths >= 2], lengths[lengths >= 2]
        offsets = np.cumsum(lengths) - lengths
        after = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
            offsets - starts - 1, lengths
        )
        next_block = _pair_index(np.repeat(blocks[starts], lengths), blocks[after], u, v, n_blocks)
        member = next_block >= 0
        # New rows: one per start, holding the members; rows of 2+ entries are kept.
        row_id = np.repeat(np.arange(starts.size), lengths)[member]
        counts = np.bincount(row_id, minlength=starts.size)
        new_rows = sp.csr_matrix(
            (
                np.ones(row_id.size, np.float64),
                next_block[member],
                np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            ),
            shape=(starts.size, u.size),
        )
        long_enough = counts >= 2
        return _Level(
            rows=new_rows[long_enough],
            node_items=node_items,
            row_node=node_of_block[blocks[starts]][long_enough],
            block_node=node_of_block[u],
            block_item=self.block_item[v],
        )


def _pair_index(
    head: np.ndarray, tail: np.ndarray, u: np.ndarray, v: np.ndarray, n_blocks: int
) -> np.ndarray:
    """Per (head, tail): its position among the pairs (u, v) (sorted), or -1 when absent."""
    keys = u.astype(np.int64) * n_blocks + v
    wanted = head.astype(np.int64) * n_blocks + tail
    if n_blocks * n_blocks <= MAX_LOOKUP_TABLE:
        table = np.full(n_blocks * n_blocks, -1, np.int32)
        table[keys] = np.arange(keys.size, dtype=np.int32)
        return table[wanted]
    pos = np.minimum(np.searchsorted(keys, wanted), max(keys.size - 1, 0))
    found = keys[pos] == wanted if keys.size else np.zeros(wanted.size, bool)
    return np.where(found, pos, -1).astype(np.int32)


def _keep_entries(rows: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """The same rows with only the entries where keep (bool per stored entry) holds."""
    row_of_entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    per_row = np.bincount(row_of_entry[keep], minlength=rows.shape[0])
    indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
    return sp.csr_matrix((rows.data[keep], rows.indices[keep], indptr), shape=rows.shape)


def _drop_short(rows: sp.csr_matrix) -> sp.csr_matrix:
    """Rows with 2+ entries: a shorter row holds no pair."""
    return rows[np.diff(rows.indptr) >= 2]
