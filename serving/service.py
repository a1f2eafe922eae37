"""The recommendation service shared by the storefront API, the widget HTML and the CLI.

It applies the per-request rules the engine cannot know (what is out of stock right now, what
this shopper dismissed or just bought), asks the shop's trained models, and builds the
response object of DESIGN.md with display fields read fresh from the catalog. A shop whose
models are not trained yet gets a popularity list computed straight from its orders, with an
honest reason, so a new shop shows something instead of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import sqlite_utils

from config import Settings
from connectors.product_urls import safe_url
from engine.base import Recommendation, RecommendationRequest
from engine.context_filters import fill_predicate
from engine.errors import ArtifactError
from engine.rule_context import RuleContext, is_excluded
from engine.rules import pool_size
from engine.shop_artifacts import load_shop_models
from engine.slot_limits import clamp_limit
from engine.slot_specs import TABLES
from serving.cache import ExpiringSets, ExpiringValues, ServingCache, ShopReaders
from serving.connections import ShopConnections
from serving.live_popularity import LivePopularity
from serving.metrics import record_answer
from serving.model_cache import ModelCache
from serving.params import RecommendationParams
from serving.pool_memo import PoolMemo
from serving.profile import ServingProfile, SettingsMemo, serving_profile
from serving.read_state import one_store_state, shop_exists_once
from serving.recent_pairs import RECENT_SLOTS, RecentPairs, with_recent_pairs
from serving.request_ids import answer_request_id
from serving.request_inputs import CacheKeys, RequestInputs
from serving.rule_inputs import fallback_reason, on_sale, read_facts
from serving.rules import RulesStep
from storage.catalog import (
    get_display_rows,
    get_products,
    newest_product_ids,
    unavailable_product_ids,
)
from storage.db import models_dir, shop_exists
from storage.events import dismissed_products, session_viewed_products
from storage.orders import (
    categories_bought_within,
    order_lines_stamp,
    popular_products,
    recently_bought,
)
from storage.shop_settings import settings_stamp

logger = logging.getLogger(__name__)

RECENTLY_BOUGHT_DAYS = 30
UNAVAILABLE_TTL_S = 5.0  # stock changes must show within seconds, not minutes
# Exploration counts impressions over two weeks; a minute-old count is as good as a fresh one.
# Strategies of an untrained shop's list, with the reason of an item without a category
# (serving.rule_inputs.fallback_reason names the category when there is one).
FALLBACK_POPULAR = ("popular_fallback", "Best seller in the shop")
FALLBACK_NEWEST = ("newest_fallback", "Latest in the shop")
# Extra candidates asked of the engine so a product deleted since training can be dropped
# without leaving the list short.
HEADROOM = 4
# A cached (shopper-independent) pool is asked this much longer, so per-shopper exclusions
# (dismissed, recently bought, exclude_ids) applied after the cache leave it full.
PERSONAL_HEADROOM = 16

# Each slot's default title (engine.slot_specs); owners rename them per shop.
SLOT_TITLES: dict[str, str] = TABLES.titles


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
        impressions: the per-shop cache of impression counts (exploration).
    """

    def __init__(
        self,
        settings: Settings,
        model_cache: ModelCache,
        today: Callable[[], datetime] | None = None,
        unavailable: ExpiringSets | None = None,
        serving_cache: ServingCache | None = None,
        impressions: ExpiringValues[dict[str, int]] | None = None,
    ) -> None:
        self.settings = settings
        self.model_cache = model_cache
        self._now = today or _utc_now
        self._unavailable = unavailable or ExpiringSets(UNAVAILABLE_TTL_S)
        self.serving_cache = serving_cache
        self._readers = ShopReaders(settings.data_dir, float(settings.cache_ttl_s))
        self.rules = RulesStep(self._readers, impressions)
        self._connections = ShopConnections(settings.data_dir)
        self._settings_memo = SettingsMemo()
        self._recent = RecentPairs(partial(models_dir, settings))
        self._live = LivePopularity(partial(models_dir, settings))
        self._pools = PoolMemo()
        self.engine_calls = 0  # how often the models were asked: lets tests see the caching

    def shop_exists(self, shop: str) -> bool:
        """Whether the shop has a store on disk."""
        return shop_exists_once(shop, partial(shop_exists, self.settings.data_dir, shop))

    def close(self) -> None:
        """Close the service's store connections (for owners shorter-lived than a process)."""
        self._readers.close()
        self._connections.close()

    def recommend(
        self, params: RecommendationParams, *, profile: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The response object of DESIGN.md for one validated request.

        A request naming no shopper (no customer_id, no session_id) has nothing personal in
        it, so its whole item list is cached per shop generation; any other request is
        computed per request, over a cached candidate pool when the engine's input holds
        nothing personal, so dismissals and recent purchases stay exact. The limit is cut
        to the context's maximum (engine.slot_limits).

        Args:
            profile: {"weights": {...}, "rules": {...}} merged over the shop's settings of
                those names for this request only (experiments); InputError when invalid.
        """
        with one_store_state():  # the request's memoised reads agree, one pragma
            return self._recommend(params, profile)

    def _recommend(
        self, params: RecommendationParams, profile: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        serving = serving_profile(profile)
        params = replace(params, limit=clamp_limit(params.context, params.limit))
        cache = self.serving_cache
        limit = params.limit
        generation = self._generation(params.shop) if cache is not None else ""
        lines = self._readers.read(params.shop, "order-lines-stamp", order_lines_stamp)
        # Every list weighs popularity, which folds in the orders since training
        # (serving.live_popularity): keyed by the order lines it counted, moved at most
        # every REFRESH_EVERY_S.
        counted = self._live.stamp(params.shop, lines)
        # What the catalog, stock, settings and models are keyed by; the suffixes below key
        # only what orders move (lists, pools), so facts and models are not re-read per slot.
        catalog_generation = generation
        if generation:
            generation = f"{generation}.p{counted}"
        if generation and params.slot in RECENT_SLOTS and params.product_ids:
            # Lists that fold in recent pairs (serving.recent_pairs) are keyed by the newest
            # order line itself: an order moves them at once.
            generation = f"{generation}.o{lines}"
        answer_key: tuple[Any, ...] | None = None
        if cache is not None and self._shared(params):
            answer_key = (
                "answer",
                params.context,
                params.slot,
                list(params.product_ids),
                sorted(params.exclude_ids),
                params.limit,
                self._now().date().isoformat(),
                serving.key,
            )
            key = answer_key

            def fresh_items(db: sqlite_utils.Database) -> list[dict[str, Any]] | None:
                cached = cache.get(params.shop, generation, key)
                if cached is None:
                    return None
                today = self._now().date().isoformat()
                return self._items(db, [_Pick(*row) for row in cached], limit, today)

            hit = self._readers.read(params.shop, f"{generation}:{key}", fresh_items)
            if hit is not None:
                return self._answer(params, hit)
        with self._connections.open(params.shop) as db:
            keys = CacheKeys(catalog=catalog_generation, lists=generation)
            inputs = self._gather(db, params, serving, keys, counted)
            models = inputs.models
            picks = self._engine_picks(db, inputs, models) if models is not None else None
            if picks is None:
                picks = self._fallback_picks(db, inputs)
            items = self._items(db, picks, limit, inputs.today)
        if cache is not None and answer_key is not None:
            # The picks, not the display fields: price, title and stock are read per request.
            rows = [[p.product_id, p.strategy, p.reason] for p in picks[: limit + HEADROOM]]
            cache.set(params.shop, generation, answer_key, rows)
        return self._answer(params, items)

    def _shared(self, params: RecommendationParams) -> bool:
        """Whether the answer holds nothing personal: no customer, no session, and a visitor
        (browser id) who dismissed nothing, the usual case, so most widgets share answers."""
        if params.customer_id or params.session_id:
            return False
        visitor = params.visitor_id
        if not visitor:
            return True
        dismissed = self._readers.read(
            params.shop,
            f"dismissed\x1f{visitor}",
            lambda db: frozenset(dismissed_products(db, None, None, visitor)),
        )
        return not dismissed

    def _generation(self, shop: str) -> str:
        """The cache generation plus the latest settings change: a new "rules" or "weights"
        value shows on the next request, whichever process wrote it."""
        assert self.serving_cache is not None
        stamp = self._readers.read(shop, "settings-stamp", settings_stamp)
        return f"{self.serving_cache.generation(shop)}.s{stamp}"

    def _answer(self, params: RecommendationParams, items: list[dict[str, Any]]) -> dict[str, Any]:
        record_answer(params.shop, params.context, items)
        return {
            "shop": params.shop,
            "context": params.context,
            "slot": params.slot,
            "request_id": answer_request_id(),
            "identity": params.identity_label,
            "items": items,
        }

    def _gather(
        self,
        db: sqlite_utils.Database,
        params: RecommendationParams,
        serving: ServingProfile,
        keys: CacheKeys,
        counted: int | None,
    ) -> RequestInputs:
        """Read every input of one request, once (serving.request_inputs).

        counted: the order-lines stamp whose purchases the served popularity includes
        (LivePopularity.stamp); None leaves the trained counts as they are.
        """
        now = self._now()
        today = now.date().isoformat()
        memo = self._settings_memo
        models = self._models(db, params.shop, keys.catalog, counted)
        if models is not None:
            models = memo.models(db, params.shop, models, serving, keys.lists)
        settings = memo.rule_settings(
            db, params.shop, params.context, params.slot, serving, keys.lists
        )
        unavailable = self._shop_unavailable(db, params.shop, today, keys.catalog)
        excluded = set(unavailable)
        excluded |= dismissed_products(db, params.customer_id, params.session_id, params.visitor_id)
        excluded |= set(params.exclude_ids)
        if params.customer_id:
            since = (now - timedelta(days=RECENTLY_BOUGHT_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
            excluded |= recently_bought(db, params.customer_id, since=since)
        return RequestInputs(
            params=params,
            now=now,
            serving=serving,
            keys=keys,
            settings=settings,
            models=models,
            unavailable=unavailable,
            excluded=frozenset(excluded),
            session_viewed=tuple(session_viewed_products(db, params.session_id)),
            bought_categories=categories_bought_within(
                db, params.customer_id, now, settings.bought_category_days
            ),
            impressions=self.rules.impressions(db, params.shop, now, keys.catalog)
            if settings.exploration > 0
            else None,
        )

    def _shop_unavailable(
        self, db: sqlite_utils.Database, shop: str, today: str, generation: str
    ) -> frozenset[str]:
        """Unavailable ids: a generation bump (stock webhook) drops them at once, else 5 s."""
        return self._unavailable.get(
            (shop, f"{today}/{generation}"), lambda: unavailable_product_ids(db, today)
        )

    def _models(
        self, db: sqlite_utils.Database, shop: str, key: str, counted: int | None
    ) -> Any | None:
        """The shop's trained models with live popularity, or None when it has none usable.

        key: the catalog generation the model folder is keyed by."""
        try:
            models = self.model_cache.get(shop, key)
        except ArtifactError:
            # A corrupt or half-written artifact must not take the shop's widgets down.
            logger.exception(
                "models of shop %s cannot be read; serving the fallback",
                shop,
                extra={"shop": shop},
            )
            return None
        if models is None or counted is None:
            return models
        return self._live.models(db, shop, models, counted)

    def _engine_picks(
        self, db: sqlite_utils.Database, inputs: RequestInputs, models: Any
    ) -> list[_Pick]:
        """The trained models' (`inputs.models`) answer under the business rules."""
        params, settings = inputs.params, inputs.settings
        request = RecommendationRequest(
            context=params.context,
            slot=params.slot,
            product_ids=params.product_ids,
            customer_id=params.customer_id,
            session_product_ids=inputs.session_viewed,
            exclude_ids=inputs.not_shown,
            limit=pool_size(params.limit, settings),
            lookalike_ids=self._lookalikes(db, models, params.product_ids),
        )
        recs = self._candidates(inputs, request, models)
        if params.slot in RECENT_SLOTS and params.product_ids:
            recent = self._recent.pairs(db, params.shop, inputs.keys.lists, params.product_ids)
            recs = with_recent_pairs(recs, recent, request.exclude_ids)
        # The engine promises never to return excluded ids; a stock-out shown to a shopper
        # costs more than this second look.
        pool = [r for r in recs if r.product_id not in request.exclude_ids]
        shares = (
            models.category_shares(params.customer_id, request.session_product_ids)
            if settings.calibrate_categories
            else {}
        )
        ranked = self.rules.apply(db, inputs, request, pool, shares)
        return [_Pick(r.product_id, r.strategy, r.reason) for r in ranked]

    def _lookalikes(
        self, db: sqlite_utils.Database, models: Any, product_ids: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Trained look-alikes of anchors created since the last training (empty otherwise).

        Read from their catalog rows (title, category), so a product added by a webhook or an
        import gets complements and neighbours before the next retrain, not best sellers.
        """
        if not product_ids or models.knows_any(product_ids):
            return ()
        rows = get_products(db, list(product_ids))
        found: dict[str, None] = {}
        for pid in product_ids:
            row = rows.get(pid)
            if row is not None:
                found.update(
                    dict.fromkeys(models.lookalikes(row["title"] or "", row["category"] or ""))
                )
        return tuple(found)

    def _candidates(
        self, inputs: RequestInputs, request: RecommendationRequest, models: Any
    ) -> list[Recommendation]:
        """The engine's pool; cached when it is the same for every shopper
        (ShopModels.pool_is_shared: no customer, and no session views or views that cannot
        move it, as on a product page or a cart).

        The cached pool is computed with the shop-wide exclusions only (unavailable ids and
        anchors) and PERSONAL_HEADROOM more items; the caller drops this shopper's own.
        """
        cache, params = self.serving_cache, inputs.params
        if cache is None or not models.pool_is_shared(request):
            self.engine_calls += 1
            recs: list[Recommendation] = models.recommend(request)
            return recs
        shared = inputs.unavailable | frozenset(params.product_ids)
        limit = request.limit + PERSONAL_HEADROOM
        page = (params.context, params.slot, params.product_ids)
        key = (params.shop, inputs.keys.lists, *page, limit, inputs.today, inputs.serving.key)

        anyone = replace(
            request, customer_id=None, session_product_ids=(), exclude_ids=shared, limit=limit
        )

        def compute() -> list[Recommendation]:
            self.engine_calls += 1
            pool: list[Recommendation] = models.recommend(anyone)
            return pool

        explain = models.explainer(anyone)
        kept = self._pools.get(key, compute, request.exclude_ids, request.limit, explain)
        if kept is None:  # this shopper's exclusions ate the headroom: their own pool
            self.engine_calls += 1
            recs = models.recommend(request)
            return recs
        return kept

    def _fallback_picks(self, db: sqlite_utils.Database, inputs: RequestInputs) -> list[_Pick]:
        """Best sellers of the last 30 days of orders, then the newest products."""
        params, settings = inputs.params, inputs.settings
        wanted = params.limit + HEADROOM + len(inputs.excluded) + len(params.product_ids)
        picks = [_Pick(pid, *FALLBACK_POPULAR) for pid in popular_products(db, limit=wanted)]
        if len(picks) < wanted:
            picks += [_Pick(pid, *FALLBACK_NEWEST) for pid in newest_product_ids(db, wanted)]
        skip = inputs.not_shown
        picks = [p for p in picks if p.product_id not in skip]
        # The owner's hard rules (season, blocked products and categories) hold here too; the
        # soft ones need model scores, which an untrained shop does not have.
        items = read_facts(db, [p.product_id for p in picks] + list(params.product_ids))
        ctx = RuleContext(params.context, params.slot, inputs.now.date())
        # An upgrade stays pricier than the cart item, and in its category family, even
        # without models ("above", "below" and "same_or_parent" are hard rules; "within" is
        # a preference of the engine's ranking).
        anchors = [items[a] for a in params.product_ids if a in items]
        hard = settings.price_filter if settings.price_filter in ("above", "below") else "off"
        priced = fill_predicate(anchors, settings.category_filter, hard, settings.price_tolerance)
        return [
            replace(p, reason=fallback_reason(p.strategy, items[p.product_id].category))
            for p in picks
            if p.product_id in items
            and not is_excluded(p.product_id, items, ctx, settings)
            and (priced is None or priced(items[p.product_id]))
        ]

    def _items(
        self, db: sqlite_utils.Database, picks: list[_Pick], limit: int, today: str
    ) -> list[dict[str, Any]]:
        """Display fields read fresh from the catalog; products gone since training, or no
        longer on sale (a cached answer may predate a stock-out), are dropped."""
        first: dict[str, _Pick] = {}
        for pick in picks:
            first.setdefault(pick.product_id, pick)
        unique = list(first.values())
        products = get_display_rows(db, [p.product_id for p in unique])
        items: list[dict[str, Any]] = []
        for pick in unique:
            product = products.get(pick.product_id)
            if product is None or not on_sale(product, today):
                continue
            items.append(
                {
                    "product_id": pick.product_id,
                    "title": product["title"],
                    "price": product["price"],
                    "compare_at_price": product["compare_at_price"],
                    # Checked again here: a row stored before imports refused unsafe
                    # URLs must not reach a storefront as a javascript: link.
                    "url": safe_url(product["url"]),
                    "image_url": safe_url(product["image_url"]),
                    "reason": pick.reason,
                    "strategy": pick.strategy,
                    "position": len(items) + 1,
                }
            )
            if len(items) == limit:
                break
        return items


def build_service(
    settings: Settings, now: datetime | None = None, shared_cache: bool = True
) -> RecommendationService:
    """The service wired to the real model folders and loader and the serving cache.

    now: a fixed moment to answer at (a campaign block built for its timer's time) instead of
    the clock. shared_cache: False for callers whose every list is one shopper's (pushed
    email blocks), which would only fill the cache that storefront answers share.
    """
    cache = ModelCache(partial(models_dir, settings), load_shop_models)
    return RecommendationService(
        settings,
        cache,
        today=(lambda: now) if now is not None else None,
        serving_cache=ServingCache(settings) if shared_cache else None,
    )
