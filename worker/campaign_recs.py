"""Recommendations for campaign blocks built in the worker, straight from engine + storage.

The web app's RecommendationService lives in plugin/, which the worker may not import
(STYLE.md dependency direction), so the worker asks the trained models itself: the shop's
ShopModels (loaded once per process and shop, reloaded when the manifest changes), with this
shopper's recent purchases and dismissals excluded and display fields read fresh from the
catalog, and every business rule applied as the storefront applies it
(worker.campaign_rules: pins, promotions, blocks, seasons, diversity, exploration, the
purchase down-weight). A shop without trained models gets its best sellers, then its newest
products, under the owner's hard rules.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from email_blocks.assembly import Recommend
from email_blocks.blocks import ListSpec
from engine.errors import EngineError
from engine.rule_context import RuleContext, facts_from_row, is_excluded
from engine.rule_settings import SETTING_KEY, RuleSettings, RuleSettingsError, rule_settings_for
from engine.shop_artifacts import load_shop_models
from engine.shop_models import ShopModels
from storage.catalog import get_products, newest_product_ids
from storage.events import dismissed_products
from storage.orders import popular_products, recently_bought
from storage.shop_settings import get_shop_setting
from worker.campaign_rules import ruled_picks

logger = logging.getLogger(__name__)

RECENTLY_BOUGHT_DAYS = 30
# Exclusions are passed to the models, so the pool only needs room for products deleted
# since training (dropped when their rows are read).
HEADROOM = 4
_MODELS: dict[Path, tuple[float, ShopModels | None]] = {}


def _models(directory: Path) -> ShopModels | None:
    """The shop's models, cached per process until their manifest file changes."""
    manifest = directory / "manifest.json"
    try:
        stamp = manifest.stat().st_mtime
    except OSError:
        return None
    cached = _MODELS.get(directory)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        models: ShopModels | None = load_shop_models(directory)
    except EngineError:
        logger.exception("models in %s cannot be read; campaign blocks use best sellers", directory)
        models = None
    _MODELS[directory] = (stamp, models)
    return models


def _rules(db: sqlite_utils.Database, spec: ListSpec) -> RuleSettings:
    """The shop's rules for the list's context and slot; a broken setting means the defaults
    (logged), as in serving, so an owner's typo never stops the campaigns."""
    raw = get_shop_setting(db, SETTING_KEY)
    try:
        return rule_settings_for(raw, spec.context, spec.slot)
    except RuleSettingsError:
        logger.exception("rules setting is invalid; campaign blocks use the defaults")
        return rule_settings_for(None, spec.context, spec.slot)


def _display(
    db: sqlite_utils.Database,
    picks: list[tuple[str, str]],
    limit: int,
    spec: ListSpec,
    today: date,
) -> list[dict[str, Any]]:
    """Display fields read fresh; the owner's hard rules (blocked products and categories,
    out of season) applied as the storefront applies them."""
    rows = get_products(db, [pid for pid, _ in picks])
    facts = {pid: facts_from_row(row) for pid, row in rows.items()}
    rules, ctx = _rules(db, spec), RuleContext(spec.context, spec.slot, today)
    items = []
    for product_id, reason in picks:
        row = rows.get(product_id)
        if row is None or is_excluded(product_id, facts, ctx, rules):
            continue
        items.append(
            {
                "product_id": product_id,
                "title": row["title"],
                "price": row["price"],
                "compare_at_price": row["compare_at_price"],
                "url": row["url"],
                "image_url": row["image_url"],
                "reason": reason,
            }
        )
        if len(items) == limit:
            break
    return items


def store_recommender(
    db: sqlite_utils.Database, models_dir: Path, now: datetime | None = None
) -> Recommend:
    """A `Recommend` for email_blocks.assembly over the shop's store and trained models."""
    models = _models(models_dir)
    moment = now or datetime.now(UTC)
    since = (moment - timedelta(days=RECENTLY_BOUGHT_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")

    shopper: dict[str, set[str]] = {}

    def personal(customer_id: str | None) -> set[str]:
        """What this shopper bought lately or dismissed (read once per block, not per list)."""
        if not customer_id:
            return set()
        if customer_id not in shopper:
            bought = recently_bought(db, customer_id, since)
            shopper[customer_id] = bought | dismissed_products(db, customer_id, None)
        return shopper[customer_id]

    def recommend(
        spec: ListSpec,
        anchor_id: str | None,
        customer_id: str | None,
        exclude: tuple[str, ...],
        limit: int,
    ) -> tuple[list[dict[str, Any]], str]:
        skip = set(exclude) | personal(customer_id)
        anchors = (anchor_id,) if spec.anchored and anchor_id else ()
        if models is not None:
            # The rules fill a short list themselves, and the block tops up a list still
            # short from trending (email_blocks.assembly): nothing unruled is added here.
            rules = _rules(db, spec)
            picks = ruled_picks(db, models, spec, rules, anchors, customer_id, skip, limit, moment)
            return _display(db, picks, limit, spec, moment.date()), uuid.uuid4().hex
        # Untrained: best sellers, then the newest products, under the owner's hard rules.
        wanted = limit + HEADROOM + len(skip)
        fallback = popular_products(db, limit=wanted) + newest_product_ids(db, wanted)
        skip |= set(anchors)
        picks = [(pid, "Popular right now") for pid in dict.fromkeys(fallback) if pid not in skip]
        return _display(db, picks, limit, spec, moment.date()), uuid.uuid4().hex

    return recommend
