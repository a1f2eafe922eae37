"""Before and after: a product page's list as served now, and as it would be served with the
weights or rules an owner is editing, without storing anything.

The candidate value goes through the same profile hook experiments use
(serving.profile: "weights"/"rules" merged over the shop's settings for one request), so the
"after" list is what the storefront would serve once the value is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from engine.base import DEFAULT_SLOT
from plugin.storefront.api import SERVICE_KEY
from plugin.storefront.request_params import RecommendationParams
from serving.service import RecommendationService
from storage.catalog import product_titles
from storage.orders import popular_products

PREVIEW_CONTEXT = "product"
PREVIEW_LIMIT = 8


@dataclass(frozen=True)
class Preview:
    """One anchor's list before and after; `moved` counts positions whose product changed."""

    product_id: str
    title: str
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]

    @property
    def moved(self) -> int:
        pairs = zip(self.before, self.after, strict=False)
        changed = sum(1 for b, a in pairs if b["product_id"] != a["product_id"])
        return changed + abs(len(self.before) - len(self.after))


def preview_change(db: Any, shop: str, key: str, value: Any, product_id: str) -> Preview | None:
    """The product page list of `product_id` (default: the best seller) with and without
    `key` = `value` ('weights' or 'rules'); None when the shop has no product to show."""
    anchor = product_id or next(iter(popular_products(db, limit=1)), "")
    if not anchor:
        return None
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    params = RecommendationParams(
        shop=shop,
        context=PREVIEW_CONTEXT,
        slot=DEFAULT_SLOT[PREVIEW_CONTEXT],
        product_ids=(anchor,),
        limit=PREVIEW_LIMIT,
    )
    titles = product_titles(db)
    before = service.recommend(params)["items"]
    after = service.recommend(params, profile={key: value} if value is not None else None)["items"]
    return Preview(anchor, titles.get(anchor, ""), before, after)
