"""Look-alikes of a product the models have never seen: what a new product borrows from.

A product created after the last training has no index in any model, so nothing learned
speaks for it until the next retrain. Its catalog row does: the trained products of its
category whose titles share its words (a "Large Baking Tray v2" finds the "Large Baking
Tray") stand in for it, and the engine serves their pairs and neighbours as borrowed
evidence (engine.shop_models, the same path as a product that never sold).
"""

from __future__ import annotations

import re

import numpy as np

from engine.training_data import ItemSpace

_WORD = re.compile(r"[^\W_]{2,}")
DEFAULT_LOOKALIKES = 5


def title_words(title: str) -> frozenset[str]:
    """Lower-cased words of two or more letters or digits."""
    return frozenset(_WORD.findall(str(title).lower()))


def find_lookalikes(
    space: ItemSpace,
    words: list[frozenset[str]],
    popular: np.ndarray,
    title: str,
    category: str,
    k: int = DEFAULT_LOOKALIKES,
) -> np.ndarray:
    """Item indexes (int32, best first, at most k) of the trained products most like one row.

    words: title_words of every item of the space (computed once per model set).
    Candidates are the items of the same category when the space knows it, else every item;
    ranked by the share of title words in common (Jaccard), then by popularity. An item with
    no word in common counts only within the same category, so a product with an unknown
    category and an unrelated title borrows nothing.
    """
    mine = title_words(title)
    named = np.flatnonzero(space.category_names == category) if category else np.zeros(0)
    same_category = bool(named.size)
    if same_category:
        candidates = np.flatnonzero(space.category_codes == int(named[0]))
    else:
        candidates = np.arange(space.n_items)
    if candidates.size == 0 or (not mine and not same_category):
        return np.zeros(0, np.int32)
    overlap = np.asarray(
        [len(mine & words[i]) / max(len(mine | words[i]), 1) for i in candidates], np.float64
    )
    keep = overlap > 0 if not same_category else np.ones(candidates.size, bool)
    candidates, overlap = candidates[keep], overlap[keep]
    order = np.lexsort((candidates, -popular[candidates], -overlap))[:k]
    return candidates[order].astype(np.int32)
