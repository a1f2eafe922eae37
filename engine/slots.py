"""What each slot means to the engine, beyond its blend weights (DESIGN.md contexts).

- trending: trending in the shopper's categories (their history, session or page), not
  the shop's overall chart;
- new_in_favourites: only new arrivals (created within popularity.NEW_DAYS), ranked by the
  shopper's categories, newness and taste;
- because_you_bought: complements of the customer's LAST order (shop_models seeds it);
- complete_the_look: complements of the whole cart: a pair score counts in proportion to
  the share of cart items it complements, on top of the cart's multi-item rules;
- dont_forget: accessories: items at most half the price of the dearest cart item;
- upgrade: only items dearer than the dearest cart item;
- similar: content neighbours, boosted in the anchor's own category, less in an adjacent one
  (same parent, "Kitchen > Baking" next to "Kitchen > Knives").

Each filter applies only while it leaves enough items, so a list is never short because of it.
"""

from __future__ import annotations

import numpy as np

from engine.slot_specs import slot_has
from engine.training_data import ItemSpace

CATEGORY_FLOOR = 0.1  # an item outside the shopper's categories keeps 10% of the best tilt
ACCESSORY_PRICE_SHARE = 0.5
SAME_CATEGORY_BOOST = 1.0  # similar: x2 in the anchor's category
ADJACENT_CATEGORY_BOOST = 0.5  # x1.5 in a sibling category
PARENT_SEPARATORS = (">", "/")


def category_share(space: ItemSpace, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Float64 (n_categories,): the weighted share of each category among `items`."""
    share: np.ndarray = np.zeros(space.category_names.size)
    codes = space.category_codes[items] if items.size else np.zeros(0, np.int32)
    named = codes >= 0
    if named.any():
        share = np.bincount(
            codes[named], weights=weights[named], minlength=space.category_names.size
        )
        share = share / max(float(share.sum()), 1e-12)
    return share


def category_tilt(space: ItemSpace, share: np.ndarray) -> np.ndarray | None:
    """Float32 (n_items,) multiplier CATEGORY_FLOOR + share of the item's category.

    None when the shopper's items have no category (nothing to tilt by).
    """
    if share.size == 0 or share.sum() <= 0:
        return None
    tilt = np.full(space.n_items, CATEGORY_FLOOR, np.float32)
    has = space.category_codes >= 0
    tilt[has] += share[space.category_codes[has]].astype(np.float32)
    return tilt


def limit_bound(slot: str) -> bool:
    """Whether the slot's filter is kept or dropped by the list's length (slot_allowed):
    its items then depend on how long a pool is asked and what the shopper excludes."""
    return slot_has(slot, "accessories")


def slot_allowed(
    slot: str,
    space: ItemSpace,
    anchors: np.ndarray,
    allowed: np.ndarray,
    new_items: np.ndarray,
    limit: int,
) -> np.ndarray:
    """`allowed` narrowed by the slot's own filter (engine.slot_specs features dearer_only,
    accessories, new_only: upgrade, dont_forget, new_in_favourites).

    A filter leaving fewer than `limit` items is dropped (a short list helps nobody), except
    dearer_only, whose promise is "dearer", and new_only, whose promise is "new".
    """
    narrowed = allowed
    if slot_has(slot, "dearer_only") and anchors.size:
        prices = space.prices[anchors]
        floor = np.nanmax(prices) if np.isfinite(prices).any() else np.inf
        return allowed & (np.nan_to_num(space.prices, nan=-np.inf) > floor)
    if slot_has(slot, "new_only") and new_items.any():
        return allowed & new_items
    if slot_has(slot, "accessories") and anchors.size:
        prices = space.prices[anchors]
        if np.isfinite(prices).any():
            ceiling = ACCESSORY_PRICE_SHARE * np.nanmax(prices)
            narrowed = allowed & (np.nan_to_num(space.prices, nan=np.inf) <= ceiling)
    return narrowed if int(narrowed.sum()) >= limit else allowed


def whole_cart_factor(indices: np.ndarray, anchors: np.ndarray, n_items: int) -> np.ndarray:
    """Float32 (n_items,): share of the anchors whose neighbour row lists each item.

    indices: (n_items, k) -1-padded neighbour table. An item complementing 3 of 3 cart items
    keeps its score; one that goes with 1 of 3 keeps a third.
    """
    if anchors.size == 0:
        return np.ones(n_items, np.float32)
    rows = indices[anchors]
    listed = np.zeros(n_items, np.float32)
    for row in rows:  # at most MAX_ANCHORS rows; an item counts once per anchor
        mine = np.unique(row[row >= 0])
        listed[mine] += 1.0
    return listed / anchors.size


def _parent(name: str) -> str:
    for sep in PARENT_SEPARATORS:
        if sep in name:
            return name.rsplit(sep, 1)[0].strip()
    return ""


def similar_boost(space: ItemSpace, anchors: np.ndarray) -> np.ndarray:
    """Float32 (n_items,): 1 + SAME_CATEGORY_BOOST in the anchors' categories, + ADJACENT in
    categories sharing their parent, 1 elsewhere."""
    boost = np.ones(space.n_items, np.float32)
    codes = np.unique(space.category_codes[anchors]) if anchors.size else np.zeros(0)
    codes = codes[codes >= 0]
    if codes.size == 0:
        return boost
    parents = {_parent(str(space.category_names[c])) for c in codes} - {""}
    if parents:
        sibling = np.asarray([_parent(str(name)) in parents for name in space.category_names], bool)
        has = space.category_codes >= 0
        boost[has & sibling[np.maximum(space.category_codes, 0)]] += ADJACENT_CATEGORY_BOOST
    same = np.isin(space.category_codes, codes)
    boost[same] = 1.0 + SAME_CATEGORY_BOOST
    return boost
