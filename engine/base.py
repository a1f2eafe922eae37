"""The engine's shared vocabulary: contexts and slots, requests, and recommendations.

Id spaces: outside the engine every item is a product_id string (the shop's id). Inside a
fitted model, items are integer indexes 0..n_items-1 into the model's `item_ids` array.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# The contract in DESIGN.md: which slots each placement has, and its default slot.
CONTEXT_SLOTS: dict[str, tuple[str, ...]] = {
    "product": ("frequently_bought_together", "also_viewed", "similar"),
    "cart": ("complete_the_look", "upgrade", "dont_forget"),
    "home": ("for_you", "trending"),
    "email": ("for_you", "new_in_favourites", "because_you_bought"),
    "post_purchase": ("also_bought", "complete_the_set"),
}
DEFAULT_SLOT: dict[str, str] = {
    "product": "frequently_bought_together",
    "cart": "complete_the_look",
    "home": "for_you",
    "email": "for_you",
    "post_purchase": "also_bought",
}


@dataclass(frozen=True)
class RecommendationRequest:
    """One ask for a list: where it shows, what it is anchored on, and who is looking.

    product_ids: the viewed product (product page) or the cart / last order's items.
    session_product_ids: products viewed in this session (down-weighted, used for cold start).
    exclude_ids: never returned (out of stock, dismissed, bought recently, already on the page).
    lookalike_ids: trained products like anchors the models have never seen (created since
        the last training; ShopModels.lookalikes): their evidence is lent to the request.
    """

    context: str
    slot: str
    product_ids: tuple[str, ...] = ()
    customer_id: str | None = None
    session_product_ids: tuple[str, ...] = ()
    exclude_ids: frozenset[str] = frozenset()
    limit: int = 8
    lookalike_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    """One recommended product with the evidence behind it.

    score: the blended score (higher is better, comparable within one list only).
    strategy: the model that contributed most ('rules', 'collaborative', 'content', 'taste',
    'popularity', 'trending'); reason: a sentence a shopper can read.
    scores: each model's normalized contribution before weighting.
    """

    product_id: str
    score: float
    strategy: str
    reason: str
    scores: Mapping[str, float] = field(default_factory=dict)
