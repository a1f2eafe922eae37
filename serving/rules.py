"""The business rules as serving runs them: the facts, best sellers and impressions one
request needs, read from the store (or its memo), around engine.rules.apply_business_rules.

Best sellers cost an aggregate over 30 days of orders, so they are read only when a list
needs them: promotions, a pool spanning too few categories, or a list that came out short
or missing the spread or a cap (then the rules run once more with them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlite_utils

from engine.base import Recommendation, RecommendationRequest
from engine.exploration import IMPRESSION_DAYS
from engine.rule_context import ItemFacts, RuleContext, request_context
from engine.rule_fill import BEST_SELLERS, breaks_diversity
from engine.rule_settings import RuleSettings
from engine.rules import apply_business_rules
from serving.cache import ExpiringValues, ShopReaders
from serving.params import RecommendationParams
from serving.request_inputs import RequestInputs
from serving.rule_inputs import FactsCache, read_facts
from storage.catalog import category_count
from storage.events import impression_counts
from storage.orders import popular_products

IMPRESSIONS_TTL_S = 60.0


class RulesStep:
    """Runs the business rules for the recommendation service.

    Args:
        readers: per-shop memo of reads that change only with the store (best sellers, the
            catalog's category count).
        impressions: the per-shop cache of impression counts (exploration).
    """

    def __init__(
        self,
        readers: ShopReaders,
        impressions: ExpiringValues[dict[str, int]] | None = None,
    ) -> None:
        self._readers = readers
        self._impressions = impressions or ExpiringValues(IMPRESSIONS_TTL_S)
        self._facts = FactsCache()

    def apply(
        self,
        db: sqlite_utils.Database,
        inputs: RequestInputs,
        request: RecommendationRequest,
        pool: list[Recommendation],
        taste_shares: Mapping[str, float] | None = None,
    ) -> list[Recommendation]:
        """The business rules (engine.rules) over the engine's pool, with facts read now.

        taste_shares: the shopper's category shares (calibrated caps on personal lists).
        """
        params, settings = inputs.params, inputs.settings
        wanted = [r.product_id for r in pool] + [p.product_id for p in settings.pins]
        items = self._facts.facts(
            db, params.shop, inputs.keys.catalog, wanted + list(params.product_ids)
        )
        # Best sellers: for promotions to draw on, for a pool spanning too few categories for
        # the spread rule, and (below) for a list that comes out short.
        fallback: list[str] = []
        if settings.promotions or self._category_poor(params.shop, pool, items, settings):
            fallback, items = self._with_best_sellers(params.shop, items)
        ctx = request_context(
            params.context,
            params.slot,
            inputs.now.date(),
            items,
            anchors=params.product_ids,
            customer_id=params.customer_id,
            session_id=params.session_id,
            bought_categories=inputs.bought_categories,
            session_viewed=frozenset(request.session_product_ids),
            exclude_ids=request.exclude_ids,
            impressions=inputs.impressions,
            taste_shares=taste_shares,
        )
        ranked = apply_business_rules(pool, items, ctx, settings, params.limit, fallback)
        if not fallback and self._wants_best_sellers(params, ranked, items, ctx, settings):
            fallback, items = self._with_best_sellers(params.shop, items)
            ranked = apply_business_rules(pool, items, ctx, settings, params.limit, fallback)
        return ranked

    def _wants_best_sellers(
        self,
        params: RecommendationParams,
        ranked: list[Recommendation],
        items: Mapping[str, ItemFacts],
        ctx: RuleContext,
        settings: RuleSettings,
    ) -> bool:
        """Whether a list made without best sellers needs them: it came out short, or it
        misses the category spread or a cap in a catalog with more categories (a pool that
        looked diverse can lose its other categories to the season, blocks or filters)."""
        if len(ranked) < min(params.limit, settings.min_items):
            return True
        if not breaks_diversity(ranked, items, ctx, settings, params.limit):
            return False
        shown = {items[r.product_id].category for r in ranked if r.product_id in items}
        return self._category_count(params.shop) > len(shown - {""})

    def _category_poor(
        self,
        shop: str,
        pool: list[Recommendation],
        items: Mapping[str, ItemFacts],
        settings: RuleSettings,
    ) -> bool:
        """Whether the engine's pool spans fewer categories than the spread rule wants, in
        a catalog that has more: then best sellers are read before the rules run once."""
        if not settings.diversity:
            return False
        spread = {items[r.product_id].category for r in pool if r.product_id in items} - {""}
        if len(spread) >= settings.min_categories:
            return False
        return self._category_count(shop) > len(spread)

    def _category_count(self, shop: str) -> int:
        """Categories in the catalog (memoised per store change)."""
        count = self._readers.read(
            shop,
            "category-count",
            category_count,
        )
        return int(count)

    def _with_best_sellers(
        self, shop: str, items: Mapping[str, ItemFacts]
    ) -> tuple[list[str], dict[str, ItemFacts]]:
        """The shop's best sellers (storage.orders.popular_products) and `items` with their
        facts added; read once per change of the store (ShopReaders): the aggregate over 30
        days of orders costs ~1 ms, a memo hit a pragma."""

        def read(db: sqlite_utils.Database) -> tuple[tuple[str, ...], dict[str, ItemFacts]]:
            ids = tuple(popular_products(db, limit=BEST_SELLERS))
            return ids, read_facts(db, list(ids))

        ids, facts = self._readers.read(shop, "best-sellers", read)
        return list(ids), {**facts, **items}

    def impressions(
        self, db: sqlite_utils.Database, shop: str, now: datetime, generation: str
    ) -> Mapping[str, int] | None:
        """Impressions per product over IMPRESSION_DAYS, kept a minute; None when none."""
        since = (now - timedelta(days=IMPRESSION_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
        counts = self._impressions.get(
            (shop, f"{now.date()}/{generation}"), lambda: impression_counts(db, since)
        )
        return counts or None
