"""The business rules on a pushed campaign block's lists, as serving applies them to a pulled one.

The web app's rules step (serving/rules.py) is out of the worker's reach (STYLE.md:
nothing imports plugin), so this one reads the same inputs from the store itself: the
catalog facts of the models' pool, the shopper's recently bought categories, best sellers
and impressions, and runs engine.rules.apply_business_rules over the pool with the owner's
rules for the list. A block sent to Klaviyo or Mailchimp then holds what the same shopper's
pulled block would: the owner's pins and promotions, the category spread and caps,
exploration, the purchase down-weight.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from email_blocks.blocks import ListSpec
from engine.base import RecommendationRequest
from engine.exploration import IMPRESSION_DAYS
from engine.rule_context import facts_from_row, request_context
from engine.rule_fill import BEST_SELLERS
from engine.rule_settings import RuleSettings
from engine.rules import apply_business_rules, pool_size
from engine.shop_models import ShopModels
from storage.catalog import get_product_facts
from storage.events import impression_counts
from storage.orders import categories_bought_within, popular_products


def ruled_picks(
    db: sqlite_utils.Database,
    models: ShopModels,
    spec: ListSpec,
    rules: RuleSettings,
    anchors: tuple[str, ...],
    customer_id: str | None,
    exclude: set[str],
    limit: int,
    now: datetime,
) -> list[tuple[str, str]]:
    """(product id, reason) of one list: the models' pool through the business rules.

    exclude: what no list may show (unavailable, recently bought, dismissed, already in the
    block); the rules keep it out of the pool, the pins, the promotions and the fill.
    """
    request = RecommendationRequest(
        context=spec.context,
        slot=spec.slot,
        product_ids=anchors,
        customer_id=customer_id,
        exclude_ids=frozenset(exclude | set(anchors)),
        limit=pool_size(limit, rules),
    )
    pool = models.recommend(request)
    best = popular_products(db, limit=BEST_SELLERS)
    wanted = [r.product_id for r in pool] + [p.product_id for p in rules.pins]
    facts = {
        pid: facts_from_row(row)
        for pid, row in get_product_facts(db, [*wanted, *anchors, *best]).items()
    }
    ctx = request_context(
        spec.context,
        spec.slot,
        now.date(),
        facts,
        anchors=anchors,
        customer_id=customer_id,  # no session in an email: the pulled block's seed too
        bought_categories=categories_bought_within(
            db, customer_id, now, rules.bought_category_days
        ),
        exclude_ids=frozenset(exclude),
        impressions=_impressions(db, now) if rules.exploration > 0 else None,
        taste_shares=models.category_shares(customer_id) if rules.calibrate_categories else None,
    )
    shown = apply_business_rules(pool, facts, ctx, rules, limit, best)
    return [(r.product_id, r.reason) for r in shown]


def _impressions(db: sqlite_utils.Database, now: datetime) -> dict[str, int] | None:
    """Impressions per product over the last two weeks; None when the shop records none."""
    since = (now - timedelta(days=IMPRESSION_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    return impression_counts(db, since) or None
