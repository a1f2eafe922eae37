"""Context filters: what a list may hold relative to the product(s) it is shown beside.

"Similar" on a product page means the same kind of thing at about the same price; "upgrade"
in a cart means a pricier item of a cart item's category. The category filter loosens when
too few candidates pass: the anchor's own category (and its subcategories), then its parent
category (paths like "Kitchen > Baking": the parent is "Kitchen"), then any category
('same'), or never past the parent ('same_or_parent': an upgrade for a tea towel is no duvet,
so a short upgrade list stays short rather than leave the cart items' categories, and so
does its best-seller fill).
"within" is a preference and loosens inside each category level before the category does
(another coffee at +35% is more similar than a dumbbell at the same price), but never at
"any": there it is all that still makes an item "similar". "above" and "below" never
loosen: an "upgrade" that costs less is not an upgrade, and a short list is filled by the
fallback instead (which applies the same price filter).

Pure functions over ItemFacts-like objects (anything with `category` and `price`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

CATEGORY_SEPARATOR = " > "
LEVELS = ("same", "parent", "any")


def loosening_steps(category_filter: str, price_filter: str) -> list[tuple[str, str]]:
    """(category level, price mode) pairs, tightest first (see the module docstring)."""
    levels = {"same": LEVELS, "same_or_parent": LEVELS[:2]}.get(category_filter, ("any",))
    steps = []
    for level in levels:
        steps.append((level, price_filter))
        if price_filter == "within" and level != "any":
            steps.append((level, "off"))
    return steps


class Priced(Protocol):
    """What the filters read of a product."""

    @property
    def category(self) -> str: ...

    @property
    def price(self) -> float | None: ...


def parent_category(category: str) -> str | None:
    """'Kitchen > Baking' -> 'Kitchen'; a top-level category has no parent (None)."""
    head, sep, _ = category.rpartition(CATEGORY_SEPARATOR)
    return head.strip() or None if sep else None


def within_category(category: str, root: str) -> bool:
    """Whether `category` is `root` or one of its subcategories."""
    return bool(root) and (category == root or category.startswith(root + CATEGORY_SEPARATOR))


def price_passes(
    price: float | None, anchor_price: float | None, mode: str, tolerance: float
) -> bool:
    """The price rule: within +-tolerance of the anchor's, strictly above, below, or off.

    An anchor without a usable price cannot be compared against: everything passes. A
    candidate without a price fails any active rule (nobody can tell it is an upgrade).
    """
    if mode == "off" or anchor_price is None or anchor_price <= 0:
        return True
    if price is None:
        return False
    if mode == "within":
        return abs(price - anchor_price) <= tolerance * anchor_price + 1e-9
    if mode == "above":
        return price > anchor_price
    return price < anchor_price


def _category_passes(category: str, anchor_category: str, level: str) -> bool:
    if level == "any" or not anchor_category:
        return True
    if level == "same":
        return within_category(category, anchor_category)
    root = parent_category(anchor_category) or anchor_category
    return within_category(category, root)


def context_predicate(
    anchors: Sequence[Priced],
    category_filter: str,
    price_filter: str,
    tolerance: float,
    level: str = "same",
) -> Callable[[Priced], bool] | None:
    """A test for candidates at one loosening level; None when nothing is filtered.

    A candidate passes when it passes both rules against at least one anchor (a cart's
    upgrade may be for any of its items).
    """
    if not anchors or (category_filter == "off" and price_filter == "off"):
        return None
    cat_level = level if category_filter != "off" else "any"

    def passes(facts: Priced) -> bool:
        return any(
            _category_passes(facts.category, a.category, cat_level)
            and price_passes(facts.price, a.price, price_filter, tolerance)
            for a in anchors
        )

    return passes


def fill_predicate(
    anchors: Sequence[Priced], category_filter: str, price_filter: str, tolerance: float
) -> Callable[[Priced], bool] | None:
    """What a best-seller fill must pass: the price rule, and the anchors' category family
    when the filter never leaves it ('same_or_parent'); 'same' itself loosens to any
    category in the end, so its fill may take any (the anchors' categories first)."""
    category = category_filter if category_filter == "same_or_parent" else "off"
    return context_predicate(anchors, category, price_filter, tolerance, "parent")


def narrow_to_context(
    ranked_ids: Sequence[str],
    items: Mapping[str, Priced],
    anchors: Sequence[Priced],
    category_filter: str,
    price_filter: str,
    tolerance: float,
    wanted: int,
) -> tuple[dict[str, int], str]:
    """Id -> tier (0: passes at the tightest level) of the ids that pass once the category
    filter is loosened just enough to leave `wanted`, and the level reached ('same',
    'parent', 'any'; 'off' when no filter applies: every id, tier 0); 'same_or_parent'
    stops at 'parent'.

    Loosening adds ids, it never lets them jump the queue: the ranking keeps tighter tiers
    first (a coffee "similar" list shows coffee before anything the loosening let in). The
    dict is ordered by tier, then by `ranked_ids`. When even 'any' leaves fewer than
    `wanted` (the price rule, or a filter that stops at the parent), those few are returned.
    """
    if context_predicate(anchors, category_filter, price_filter, tolerance) is None:
        return dict.fromkeys(ranked_ids, 0), "off"
    tiers: dict[str, int] = {}
    level = "any"
    for tier, (level, price_mode) in enumerate(loosening_steps(category_filter, price_filter)):
        passes = context_predicate(anchors, category_filter, price_mode, tolerance, level)
        if passes is None:  # both off at this step: everything passes
            passes = _any
        for pid in ranked_ids:
            if pid not in tiers and passes(items[pid]):
                tiers[pid] = tier
        if len(tiers) >= wanted:
            return tiers, level
    return tiers, level


def _any(facts: Priced) -> bool:
    return True
