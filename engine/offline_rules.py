"""The business rules as they apply offline, so evaluation can show their cost in relevance.

Serving (serving/service.py) asks the engine for a pool and turns it into the shown
list with engine.rules.apply_business_rules, reading stock, dismissals and session views
live. Offline, at a split date, only what was knowable then is used: the catalog's
available-until and season tags (dates, so they hold for any day), each customer's
purchases before the split (recently bought items excluded, recently bought categories
down-weighted), the shop's default rule settings, and no session signals.

Stock and status are not applied at a past split: the catalog holds them as they are at the
end of the data, with no history. A product out of stock now may have sold out after the
split, bought by the very shoppers the evaluation asks about, and hiding it then would charge
the rules for a loss they do not cause in serving, where an item out of stock cannot be
bought either. Benchmarks that ask "now" (bench/train.py) pass `current_state=True`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from engine.base import RecommendationRequest
from engine.rule_context import ItemFacts, facts_from_row, request_context
from engine.rule_fill import BEST_SELLERS
from engine.rule_settings import rule_settings_for
from engine.rules import apply_business_rules, pool_size
from engine.shop_models import ShopModels
from engine.training_data import TrainingData, utc

RECENTLY_BOUGHT_DAYS = 30  # as serving (plugin/recommendations.RECENTLY_BOUGHT_DAYS)


@dataclass(frozen=True)
class OfflineRules:
    """What the rules know at the split date.

    facts: product id -> ItemFacts from the catalog; unavailable: ids never shown (past
    available-until; with current_state also not active or out of stock); recent: customer ->
    ids bought in the 30 days before the split; categories: customer -> category -> date of
    their last purchase in it.
    """

    today: date
    facts: Mapping[str, ItemFacts]
    unavailable: frozenset[str]
    recent: Mapping[str, frozenset[str]]
    categories: Mapping[str, Mapping[str, date]]


def offline_rules(data: TrainingData, split: datetime, current_state: bool = False) -> OfflineRules:
    """The rule inputs knowable at `split` from the catalog and the purchases before it.

    current_state: `split` is the moment the catalog was read, so its stock and status are
    known then too (see the module docstring for why a past split does not use them).
    """
    today = utc(split).date()
    products = data.products.drop_duplicates("product_id")
    rows = products.to_dict("records")
    facts = {str(row["product_id"]): facts_from_row(row) for row in rows}
    unavailable = frozenset(
        str(row["product_id"]) for row in rows if _unavailable(row, today, current_state)
    )
    bought = data.purchases.dropna(subset=["customer_id"])
    at = pd.to_datetime(bought["created_at"], utc=True, format="ISO8601")
    since = pd.Timestamp(utc(split) - timedelta(days=RECENTLY_BOUGHT_DAYS))
    recent_rows = bought[(at >= since).to_numpy()]
    recent = {
        str(c): frozenset(str(p) for p in ids)
        for c, ids in recent_rows.groupby("customer_id")["product_id"]
    }
    categories: dict[str, dict[str, date]] = {}
    frame = pd.DataFrame(
        {
            "customer": bought["customer_id"].astype(str).to_numpy(),
            "category": [facts.get(str(p), ItemFacts()).category for p in bought["product_id"]],
            "day": at.dt.date.to_numpy(),
        }
    )
    frame = frame[frame["category"] != ""]
    for (customer, category), day in frame.groupby(["customer", "category"])["day"].max().items():
        categories.setdefault(str(customer), {})[str(category)] = day
    return OfflineRules(today, facts, unavailable, recent, categories)


def _unavailable(row: Mapping[str, object], today: date, current_state: bool) -> bool:
    """As storage.catalog.unavailable_product_ids: expired, and (current_state) not active or
    out of stock."""
    inventory, until = row.get("inventory"), row.get("available_until")
    if isinstance(until, str) and bool(until) and until[:10] < today.isoformat():
        return True
    if not current_state:
        return False
    if row.get("status") not in (None, "active"):
        return True
    if inventory is not None and not pd.isna(inventory) and float(inventory) <= 0:  # type: ignore[arg-type]
        return True
    return False


def rules_answerer(
    models: ShopModels, rules: OfflineRules
) -> Callable[[RecommendationRequest], list[str]]:
    """A function giving the ids a shopper would see: the engine's pool through the rules."""
    order = np.argsort(models.popularity.rank, kind="stable")[:BEST_SELLERS]
    fallback = [str(models.item_ids[i]) for i in order if str(models.item_ids[i]) in rules.facts]

    def answer(request: RecommendationRequest) -> list[str]:
        customer = request.customer_id or ""
        excluded = request.exclude_ids | rules.unavailable | rules.recent.get(customer, frozenset())
        settings = rule_settings_for(None, request.context, request.slot)
        size = pool_size(request.limit, settings)
        pool = models.recommend(replace(request, exclude_ids=excluded, limit=size))
        ctx = request_context(
            request.context,
            request.slot,
            rules.today,
            rules.facts,
            anchors=request.product_ids,
            customer_id=request.customer_id,
            bought_categories=rules.categories.get(customer, {}),
            exclude_ids=frozenset(excluded),
            taste_shares=models.category_shares(request.customer_id)
            if settings.calibrate_categories
            else None,
        )
        shown = apply_business_rules(pool, rules.facts, ctx, settings, request.limit, fallback)
        return [r.product_id for r in shown]

    return answer
