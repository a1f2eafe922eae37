"""Content similarity: TF-IDF over product text plus a price band, cosine nearest neighbours.

Works from the catalog alone, so it is what a new shop (or a new product) gets before any
order exists. Similarities are computed a block of rows at a time against the sparse
matrix and cut to the top k, never as a dense n x n.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from engine.neighbours import Neighbours, neighbour_block
from engine.training_data import ItemSpace, TrainingData, strip_html

DEFAULT_K = 50
BLOCK_ROWS = 512
PRICE_BANDS = 8
MAX_DF = 0.5  # share of described products a word may appear in and still count
MIN_DOCS_FOR_MAX_DF = 20


@dataclass(frozen=True)
class ContentModel:
    """Content neighbours over the item space; n_described: items with any text."""

    neighbours: Neighbours
    n_described: int
    # The neighbours for_you lists use when validation chose another content model for
    # them (engine.shop_validation); None: the same as every other slot.
    personal: Neighbours | None = None

    @property
    def trusted(self) -> bool:
        """Content needs only two described products to compare."""
        return self.n_described >= 2 and self.neighbours.n_pairs > 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for the npz artifact."""
        personal = {} if self.personal is None else self.personal.to_arrays("personal")
        return {
            **self.neighbours.to_arrays("content"),
            **personal,
            "n_described": np.asarray([self.n_described], np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ContentModel:
        """Inverse of to_arrays."""
        personal = (
            Neighbours.from_arrays(arrays, "personal") if "personal_indices" in arrays else None
        )
        return cls(
            Neighbours.from_arrays(arrays, "content"), int(arrays["n_described"][0]), personal
        )


def price_bands(prices: np.ndarray) -> list[str]:
    """A token per item naming its price band (log-price quantiles), '' when unknown."""
    known = np.isfinite(prices) & (prices > 0)
    tokens = [""] * prices.size
    if known.sum() < 2:
        return tokens
    logs = np.log(prices[known])
    edges = np.unique(np.quantile(logs, np.linspace(0, 1, PRICE_BANDS + 1)[1:-1]))
    bands = np.searchsorted(edges, logs)
    for pos, band in zip(np.nonzero(known)[0], bands, strict=True):
        tokens[pos] = f"priceband{band}"
    return tokens


def item_documents(data: TrainingData, items: ItemSpace) -> list[str]:
    """One text per item: title, description (HTML stripped), category x2, tags, vendor, band."""
    products = data.products.drop_duplicates("product_id")
    frame = products.set_index(products["product_id"].astype(str)).reindex(items.item_ids)

    def col(name: str) -> pd.Series:
        if name not in frame:
            return pd.Series([""] * len(frame), index=frame.index)
        return frame[name].fillna("").astype(str)

    bands = price_bands(items.prices)
    docs = []
    for title, desc, cat, tags, vendor, band, fallback in zip(
        col("title"),
        col("description"),
        col("category"),
        col("tags"),
        col("vendor"),
        bands,
        items.titles,
        strict=True,
    ):
        words = [title or fallback, strip_html(desc), cat, cat, tags.replace("|", " "), vendor]
        text = " ".join(w for w in words if w).strip()
        docs.append(f"{text} {band}".strip() if text else "")
    return docs


@dataclass(frozen=True)
class ItemFeatures:
    """TF-IDF of the item documents, fitted once and shared by content and taste.

    matrix: CSR float32 (n_items, n_terms), L2-normalised rows; None when fewer than two
    items have text (nothing to compare). n_described: items with any text.
    """

    matrix: sp.csr_matrix | None
    n_described: int


def item_features(data: TrainingData, items: ItemSpace) -> ItemFeatures:
    """TF-IDF rows of every item's document (see item_documents)."""
    docs = item_documents(data, items)
    described = sum(1 for d in docs if d)
    if described < 2:
        return ItemFeatures(None, described)
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        stop_words="english",
        # A word in most of a catalog (a one-brand shop's vendor) says nothing about which
        # products are alike, and made every pair similar: 100k products' similarities were
        # dense (50M cells a block). Kept where the catalog is too small to judge.
        max_df=MAX_DF if described >= MIN_DOCS_FOR_MAX_DF else 1.0,
        max_features=100_000,
        token_pattern=r"(?u)\b\w\w+\b",
        dtype=np.float32,
    )
    try:
        return ItemFeatures(vectorizer.fit_transform(docs).tocsr(), described)
    except ValueError:  # only stop words: nothing to compare
        return ItemFeatures(None, described)


# Computes the (indices, scores) neighbour tables of a TF-IDF matrix's rows, k per row:
# block by block here (local_neighbour_blocks), or on a cluster (spark_engine.content), with
# the same kernel (engine.neighbours.neighbour_block) either way.
NeighbourBlocks = Callable[[sp.csr_matrix, int], tuple[np.ndarray, np.ndarray]]


def local_neighbour_blocks(matrix: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k most similar rows, BLOCK_ROWS rows at a time in this process."""
    transposed = matrix.T.tocsc()
    n = matrix.shape[0]
    indices = np.full((n, k), -1, np.int32)
    scores = np.zeros((n, k), np.float32)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        indices[start:stop], scores[start:stop] = neighbour_block(
            matrix, transposed, start, stop, k
        )
    return indices, scores


def fit_content(
    data: TrainingData,
    items: ItemSpace,
    k: int = DEFAULT_K,
    features: ItemFeatures | None = None,
    blocks: NeighbourBlocks = local_neighbour_blocks,
) -> ContentModel:
    """Keep each item's k most similar items by cosine of TF-IDF rows.

    features: item_features(data, items) when the caller already has them.
    blocks: where the neighbour blocks are computed (this process by default).
    """
    features = features if features is not None else item_features(data, items)
    matrix, described = features.matrix, features.n_described
    if matrix is None:
        return ContentModel(Neighbours.empty(items.n_items, k), described)
    indices, scores = blocks(matrix.tocsr(), k)
    return ContentModel(Neighbours(indices, scores), described)


def start_embedding_content_model(
    data: TrainingData, items: ItemSpace, k: int = DEFAULT_K
) -> Callable[[], ContentModel | None]:
    """The same neighbours over sentence embeddings (engine.content_embeddings), started in
    the background: a function that waits for them, None when the optional model is not
    installed (training then keeps TF-IDF)."""
    from engine.content_embeddings import start_embedding_content  # optional: torch behind

    started = start_embedding_content(item_documents(data, items), k)

    def finish() -> ContentModel | None:
        fitted = None if started is None else started()
        return None if fitted is None else ContentModel(*fitted)

    return finish
