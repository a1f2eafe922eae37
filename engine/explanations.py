"""Reason sentences a shopper can read: which anchor, category or signal put an item there."""

from __future__ import annotations

import numpy as np

from engine.neighbours import Neighbours
from engine.slot_specs import slot_has
from engine.training_data import ItemSpace


def best_anchor(
    item: int,
    anchors: np.ndarray,
    indices: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray | None = None,
) -> int:
    """The anchor whose neighbour row scores `item` highest, or -1 when none lists it.

    indices / scores: (n_items, k) neighbour tables (item indexes, -1 padded).
    weights: per anchor, a multiplier of its row's score (similarity of a lender), or None.
    """
    if anchors.size == 0:
        return -1
    rows = indices[anchors] == item
    if not rows.any():
        return -1
    strength = np.where(rows, scores[anchors], -np.inf).max(axis=1)
    if weights is not None:
        strength = np.where(np.isfinite(strength), strength * weights, -np.inf)
    return int(anchors[int(np.argmax(strength))])


def best_anchors(anchors: np.ndarray, indices: np.ndarray, scores: np.ndarray) -> dict[int, int]:
    """Item -> best_anchor(item, ...) for every item any anchor's row lists.

    One pass over the anchors' rows for a whole list, where best_anchor per item would scan
    them once per item (a 40-item pool with 50 history seeds: ~0.3 ms a request).
    """
    if anchors.size == 0:
        return {}
    idx, val = indices[anchors], scores[anchors]
    position = np.broadcast_to(np.arange(anchors.size)[:, None], idx.shape)
    keep = idx >= 0
    idx, val, position = idx[keep], val[keep], position[keep]
    # Best score first, then the earlier anchor, as best_anchor's argmax breaks ties.
    order = np.lexsort((position, -val))
    items, first = np.unique(idx[order], return_index=True)
    return dict(zip(items.tolist(), anchors[position[order][first]].tolist(), strict=True))


def title_of(space: ItemSpace, item: int) -> str:
    """An item's title for a sentence, 'this item' when the catalog has none."""
    title = str(space.titles[item]).strip() if item >= 0 else ""
    return title or "this item"


def category_of(space: ItemSpace, item: int) -> str:
    """An item's category name, '' when it has none."""
    code = int(space.category_codes[item])
    return str(space.category_names[code]) if code >= 0 else ""


def taste_reason(space: ItemSpace, item: int, history: np.ndarray, bought: bool) -> str:
    """'Because you viewed 3 items in Kitchen', or 'Picked for you' without a category."""
    category = category_of(space, item)
    if category:
        same = int((space.category_codes[history] == space.category_codes[item]).sum())
        verb = "bought" if bought else "viewed"
        if same >= 2:
            return f"Because you {verb} {same} items in {category}"
        if same == 1:
            return f"Because you like {category}"
    return "Picked for you"


def neighbour_reason(
    strategy: str, slot: str, space: ItemSpace, item: int, anchors: np.ndarray, table: Neighbours
) -> str:
    """Sentence for an item that came from an item-item table (rules, collaborative, content)."""
    anchor = best_anchor(item, anchors, table.indices, table.scores)
    return anchor_sentence(strategy, slot, space, anchor)


def anchor_sentence(
    strategy: str, slot: str, space: ItemSpace, anchor: int, together: int = 0
) -> str:
    """neighbour_reason's sentence once the anchor is known (-1: none listed the item).

    together: orders that held both (orders_together), said when there are two or more: a
    count is what makes "bought together" checkable, and one order is no habit.
    """
    if anchor < 0:
        return "Popular right now"
    title = title_of(space, anchor)
    if strategy == "rules":
        if together >= 2:
            return f"Bought together with {title} in {together} orders"
        return f"Often bought with {title}"
    if strategy == "content":
        return f"Similar to {title}"
    if slot_has(slot, "view_led"):
        return f"Shoppers who viewed {title} also viewed this"
    return f"Customers who bought {title} also bought this"


def orders_together(
    pair_indices: np.ndarray, pair_stats: np.ndarray, n_baskets: int, anchor: int, item: int
) -> int:
    """Orders that held both `anchor` and `item`: the pair's support (a share of the orders
    the rules were fitted on) times that count; 0 when the anchor's row does not list it."""
    if anchor < 0:
        return 0
    hit = np.flatnonzero(pair_indices[anchor] == item)
    if hit.size == 0:
        return 0
    return int(round(float(pair_stats[anchor, hit[0], 0]) * n_baskets))


def borrowed_pair_reason(
    space: ItemSpace, item: int, lenders: np.ndarray, similarity: np.ndarray, pairs: Neighbours
) -> str:
    """'Often bought with X, a similar product': a new product's pairs are its look-alikes'.

    X is the lender that gave `item` the most (similarity x pair score), as in the blend.
    """
    lender = best_anchor(item, lenders, pairs.indices, pairs.scores, weights=similarity)
    if lender < 0:
        return "Popular right now"
    return f"Often bought with {title_of(space, lender)}, a similar product"


def trend_reason(space: ItemSpace, item: int) -> str:
    """'Trending in Kitchen this week' or 'Trending this week': trending weighs orders and
    views with a 7-day half-life (engine.popularity), so the week is what it measures."""
    category = category_of(space, item)
    return f"Trending in {category} this week" if category else "Trending this week"


def new_reason(space: ItemSpace, item: int, shopper_items: np.ndarray) -> str:
    """'New in Baking, a category you shop often' when it is one of theirs, else 'New in X'."""
    category = category_of(space, item)
    if not category:
        return "New in the shop"
    code = space.category_codes[item]
    theirs = int((space.category_codes[shopper_items] == code).sum()) if shopper_items.size else 0
    if theirs >= 2:
        return f"New in {category}, a category you shop often"
    return f"New in {category}"
