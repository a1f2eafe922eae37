"""The recommendation service shared by the storefront API, the widget HTML and the CLI.

It applies the per-request rules the engine cannot know (what is out of stock right now, what
this shopper dismissed or just bought), asks the shop's trained models, and builds the
response object of DESIGN.md with display fields read fresh from the catalog. A shop whose
models are not trained yet gets a popularity list computed straight from its orders, with an
honest reason, so a new shop shows something instead of an error.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import sqlite_utils

from config import Settings
from engine.base import Recommendation, RecommendationRequest
from engine.errors import ArtifactError
from engine.rule_settings import SETTING_KEY, RuleSettings, RuleSettingsError, rule_settings_for
from engine.rules import (
    ItemFacts,
    RuleContext,
    apply_business_rules,
    facts_from_row,
    is_excluded,
    request_seed,
)
from engine.shop_models import load_shop_models
from plugin.model_cache import ModelCache
from plugin.request_params import RecommendationParams
from plugin.serving_cache import ExpiringSets, ServingCache, ShopReaders
from storage.catalog import get_products, newest_product_ids, unavailable_product_ids
from storage.db import open_shop_db, shop_exists
from storage.events import dismissed_products, session_viewed_products
from storage.orders import categories_bought_since, popular_products, recently_bought
from storage.shop_settings import get_shop_setting
from worker.training import models_dir

logger = logging.getLogger(__name__)

RECENTLY_BOUGHT_DAYS = 30
UNAVAILABLE_TTL_S = 5.0  # stock changes must show within seconds, not minutes
FALLBACK_POPULAR = ("popular_fallback", "Popular right now")
FALLBACK_NEWEST = ("newest_fallback", "New in")
# Extra candidates asked of the engine so a product deleted since training can be dropped
# without leaving the list short.
HEADROOM = 4
# The business rules re-rank a pool: max(limit * POOL_FACTOR, MIN_POOL), at most MAX_POOL.
POOL_FACTOR = 4
MIN_POOL = 24
MAX_POOL = 200
# A cached (shopper-independent) pool is asked this much longer, so per-shopper exclusions
# (dismissed, recently bought, exclude_ids) applied after the cache leave it full.
PERSONAL_HEADROOM = 16

SLOT_TITLES: dict[str, str] = {
    "frequently_bought_together": "Frequently bought together",
    "also_viewed": "Customers also viewed",
    "similar": "Similar products",
    "complete_the_look": "Complete the look",
    "upgrade": "You might prefer",
    "dont_forget": "Don't forget",
    "for_you": "Picked for you",
    "trending": "Trending now",
    "new_in_favourites": "New in your favourites",
    "because_you_bought": "Because you bought",
    "also_bought": "Customers also bought",
    "complete_the_set": "Complete the set",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Pick:
    product_id: str
    strategy: str
    reason: str


class RecommendationService:
    """Answers recommendation requests for every shop under `settings.data_dir`.

    Args:
        settings: the process settings (data_dir, limits).
        model_cache: loaded models per shop.
        today: the current UTC date (injectable so tests can move time).
        unavailable: the per-shop cache of unavailable ids.
        serving_cache: answers and candidate pools shared by shoppers; None = no caching.
    """

    def __init__(
        self,
        settings: Settings,
        model_cache: ModelCache,
        today: Callable[[], datetime] | None = None,
        unavailable: ExpiringSets | None = None,
        serving_cache: ServingCache | None = None,
    ) -> None:
        self.settings = settings
        self.model_cache = model_cache
        self._now = today or _utc_now
        self._unavailable = unavailable or ExpiringSets(UNAVAILABLE_TTL_S)
        self.serving_cache = serving_cache
        self._readers = ShopReaders(settings.data_dir, float(settings.cache_ttl_s))
        self.engine_calls = 0  # how often the models were asked: lets tests see the caching

    def shop_exists(self, shop: str) -> bool:
        """Whether the shop has a store on disk."""
        return shop_exists(self.settings.data_dir, shop)

    def recommend(self, params: RecommendationParams) -> dict[str, Any]:
        """The response object of DESIGN.md for one validated request.

        A request naming no shopper (no customer_id, no session_id) has nothing personal in
        it, so its whole item list is cached per shop generation; any other request is
        computed per request, over a cached candidate pool when the engine's input holds
        nothing personal, so dismissals and recent purchases stay exact.
        """
        cache = self.serving_cache
        limit = params.limit
        generation = cache.generation(params.shop) if cache is not None else ""
        answer_key: tuple[Any, ...] | None = None
        if cache is not None and not params.customer_id and not params.session_id:
            answer_key = (
                "answer",
                params.context,
                params.slot,
                list(params.product_ids),
                sorted(params.exclude_ids),
                params.limit,
                self._now().date().isoformat(),
            )
            key = answer_key

            def fresh_items(db: sqlite_utils.Database) -> list[dict[str, Any]] | None:
                cached = cache.get(params.shop, generation, key)
                if cached is None:
                    return None
                return self._items(db, [_Pick(*row) for row in cached], limit)

            hit = self._readers.read(params.shop, f"{generation}:{key}", fresh_items)
            if hit is not None:
                return self._answer(params, hit)
        db = open_shop_db(self.settings.data_dir, params.shop, create=False)
        try:
            excluded = self._excluded_ids(db, params, generation)
            picks = self._engine_picks(db, params, excluded, generation)
            if picks is None:
                picks = self._fallback_picks(db, params, excluded)
            items = self._items(db, picks, limit)
        finally:
            db.close()
        if cache is not None and answer_key is not None:
            # The picks, not the display fields: price, title and stock are read per request.
            rows = [[p.product_id, p.strategy, p.reason] for p in picks[: limit + HEADROOM]]
            cache.set(params.shop, generation, answer_key, rows)
        return self._answer(params, items)

    def _answer(self, params: RecommendationParams, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "shop": params.shop,
            "context": params.context,
            "slot": params.slot,
            "request_id": uuid.uuid4().hex,
            "items": items,
        }

    def _excluded_ids(
        self, db: sqlite_utils.Database, params: RecommendationParams, generation: str = ""
    ) -> set[str]:
        now = self._now()
        today = now.date().isoformat()
        excluded = set(self._shop_unavailable(db, params.shop, today, generation))
        excluded |= dismissed_products(db, params.customer_id, params.session_id)
        excluded |= set(params.exclude_ids)
        if params.customer_id:
            since = (now - timedelta(days=RECENTLY_BOUGHT_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
            excluded |= recently_bought(db, params.customer_id, since=since)
        return excluded

    def _shop_unavailable(
        self, db: sqlite_utils.Database, shop: str, today: str, generation: str
    ) -> frozenset[str]:
        """Unavailable ids: a generation bump (stock webhook) drops them at once, else 5 s."""
        return self._unavailable.get(
            (shop, f"{today}/{generation}"), lambda: unavailable_product_ids(db, today)
        )

    def _engine_picks(
        self,
        db: sqlite_utils.Database,
        params: RecommendationParams,
        excluded: set[str],
        generation: str = "",
    ) -> list[_Pick] | None:
        """The trained models' answer, or None when the shop has no usable models."""
        try:
            models = self.model_cache.get(params.shop)
        except ArtifactError:
            # A corrupt or half-written artifact must not take the shop's widgets down.
            logger.exception(
                "models of shop %s cannot be read; serving the fallback",
                params.shop,
                extra={"shop": params.shop},
            )
            return None
        if models is None:
            return None
        request = RecommendationRequest(
            context=params.context,
            slot=params.slot,
            product_ids=params.product_ids,
            customer_id=params.customer_id,
            session_product_ids=tuple(session_viewed_products(db, params.session_id)),
            exclude_ids=frozenset(excluded | set(params.product_ids)),
            limit=min(max(params.limit * POOL_FACTOR, MIN_POOL), MAX_POOL),
        )
        recs = self._candidates(db, params, request, models, generation)
        # The engine promises never to return excluded ids; a stock-out shown to a shopper
        # costs more than this second look.
        pool = [r for r in recs if r.product_id not in request.exclude_ids]
        ranked = self._apply_rules(db, params, request, pool)
        return [_Pick(r.product_id, r.strategy, r.reason) for r in ranked]

    def _candidates(
        self,
        db: sqlite_utils.Database,
        params: RecommendationParams,
        request: RecommendationRequest,
        models: Any,
        generation: str,
    ) -> list[Recommendation]:
        """The engine's pool; cached when its input names no shopper (no customer, no views).

        The cached pool is computed with the shop-wide exclusions only (unavailable ids and
        anchors) and PERSONAL_HEADROOM more items; the caller drops this shopper's own.
        """
        cache = self.serving_cache
        if cache is None or request.customer_id or request.session_product_ids:
            self.engine_calls += 1
            recs: list[Recommendation] = models.recommend(request)
            return recs
        today = self._now().date().isoformat()
        shared = frozenset(self._shop_unavailable(db, params.shop, today, generation))
        shared |= frozenset(params.product_ids)
        limit = request.limit + PERSONAL_HEADROOM
        key = ("pool", params.context, params.slot, list(params.product_ids), limit, today)
        cached = cache.get(params.shop, generation, key)
        if cached is None:
            self.engine_calls += 1
            pool = models.recommend(replace(request, exclude_ids=shared, limit=limit))
            cached = [[r.product_id, r.score, r.strategy, r.reason, dict(r.scores)] for r in pool]
            cache.set(params.shop, generation, key, cached)
        recs = [Recommendation(*row) for row in cached]
        return [r for r in recs if r.product_id not in request.exclude_ids][: request.limit]

    def _rule_settings(
        self, db: sqlite_utils.Database, params: RecommendationParams
    ) -> RuleSettings:
        """The shop's rules for this context; a bad setting is logged and the defaults used."""
        try:
            return rule_settings_for(get_shop_setting(db, SETTING_KEY), params.context)
        except RuleSettingsError:
            logger.exception(
                "rules setting of shop %s is invalid; using the defaults",
                params.shop,
                extra={"shop": params.shop},
            )
            return rule_settings_for(None, params.context)

    def _apply_rules(
        self,
        db: sqlite_utils.Database,
        params: RecommendationParams,
        request: RecommendationRequest,
        pool: list[Recommendation],
    ) -> list[Recommendation]:
        """The business rules (engine.rules) over the engine's pool, with facts read now."""
        settings = self._rule_settings(db, params)
        now = self._now()
        # Best sellers cost an aggregate over recent orders: read them only when a promotion
        # may draw on them or the list comes out short.
        fallback = popular_products(db, limit=MAX_POOL) if settings.promotions else []
        wanted = [r.product_id for r in pool] + [p.product_id for p in settings.pins]
        wanted += list(params.product_ids) + fallback
        rows = get_products(db, wanted)
        items: dict[str, ItemFacts] = {pid: facts_from_row(row) for pid, row in rows.items()}
        bought: dict[str, Any] = {}
        if params.customer_id and settings.bought_category_days > 0:
            since = now - timedelta(days=settings.bought_category_days)
            bought = {
                category: datetime.fromisoformat(at[:10]).date()
                for category, at in categories_bought_since(
                    db, params.customer_id, since.strftime("%Y-%m-%dT%H:%M:%S")
                ).items()
            }
        today = now.date()
        ctx = RuleContext(
            context=params.context,
            slot=params.slot,
            today=today,
            anchor_ids=params.product_ids,
            anchor_categories=tuple(
                dict.fromkeys(items[p].category for p in params.product_ids if p in items)
            ),
            bought_categories=bought,
            session_viewed=frozenset(request.session_product_ids),
            exclude_ids=request.exclude_ids,
            seed=request_seed(
                params.customer_id, params.session_id, *params.product_ids, today.isoformat()
            ),
        )
        ranked = apply_business_rules(pool, items, ctx, settings, params.limit, fallback)
        if len(ranked) < min(params.limit, settings.min_items) and not fallback:
            fallback = popular_products(db, limit=MAX_POOL)
            missing = [p for p in fallback if p not in items]
            items |= {pid: facts_from_row(row) for pid, row in get_products(db, missing).items()}
            ranked = apply_business_rules(pool, items, ctx, settings, params.limit, fallback)
        return ranked

    def _fallback_picks(
        self, db: sqlite_utils.Database, params: RecommendationParams, excluded: set[str]
    ) -> list[_Pick]:
        """Best sellers of the last 30 days of orders, then the newest products."""
        wanted = params.limit + HEADROOM + len(excluded) + len(params.product_ids)
        picks = [_Pick(pid, *FALLBACK_POPULAR) for pid in popular_products(db, limit=wanted)]
        if len(picks) < wanted:
            picks += [_Pick(pid, *FALLBACK_NEWEST) for pid in newest_product_ids(db, wanted)]
        skip = excluded | set(params.product_ids)
        picks = [p for p in picks if p.product_id not in skip]
        # The owner's hard rules (season, blocked products and categories) hold here too; the
        # soft ones need model scores, which an untrained shop does not have.
        settings = self._rule_settings(db, params)
        items = {
            pid: facts_from_row(row)
            for pid, row in get_products(db, [p.product_id for p in picks]).items()
        }
        ctx = RuleContext(params.context, params.slot, self._now().date())
        return [
            p
            for p in picks
            if p.product_id in items and not is_excluded(p.product_id, items, ctx, settings)
        ]

    def _items(
        self, db: sqlite_utils.Database, picks: list[_Pick], limit: int
    ) -> list[dict[str, Any]]:
        """Display fields read fresh from the catalog; products gone since training are dropped."""
        seen: set[str] = set()
        unique = [p for p in picks if not (p.product_id in seen or seen.add(p.product_id))]
        products = get_products(db, [p.product_id for p in unique])
        items: list[dict[str, Any]] = []
        for pick in unique:
            product = products.get(pick.product_id)
            if product is None:
                continue
            items.append(
                {
                    "product_id": pick.product_id,
                    "title": product["title"],
                    "price": product["price"],
                    "compare_at_price": product["compare_at_price"],
                    "url": product["url"],
                    "image_url": product["image_url"],
                    "reason": pick.reason,
                    "strategy": pick.strategy,
                    "position": len(items) + 1,
                }
            )
            if len(items) == limit:
                break
        return items


def build_service(settings: Settings) -> RecommendationService:
    """The service wired to the real model folders and loader and the serving cache."""
    cache = ModelCache(partial(models_dir, settings), load_shop_models)
    return RecommendationService(settings, cache, serving_cache=ServingCache(settings))
