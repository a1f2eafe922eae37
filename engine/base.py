"""The engine's shared vocabulary: contexts and slots, requests, and recommendations.

Id spaces: outside the engine every item is a product_id string (the shop's id). Inside a
fitted model, items are integer indexes 0..n_items-1 into the model's `item_ids` array.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.slot_specs import TABLES

# The contract in DESIGN.md: which slots each placement has, and its default slot (derived
# from the slot table, engine.slot_specs).
CONTEXT_SLOTS: dict[str, tuple[str, ...]] = TABLES.context_slots
DEFAULT_SLOT: dict[str, str] = TABLES.default_slot


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
    'popularity', 'trending', 'sequence'); reason: a sentence a shopper can read.
    scores: each model's normalized contribution before weighting.
    """

    product_id: str
    score: float
    strategy: str
    reason: str
    scores: Mapping[str, float] = field(default_factory=dict)

    def with_score(self, score: float) -> Recommendation:
        """This recommendation with another score (the rules re-rank the engine's pool);
        the constructor rather than dataclasses.replace, as it runs for every candidate."""
        return Recommendation(self.product_id, score, self.strategy, self.reason, self.scores)
