"""What the business rules know: a product's facts, the request as the rules see it, and
the hard exclusions every list (ranked, pinned, promoted or filled) obeys.

Apart from engine.rules so the fill (engine.rule_fill), serving and the email worker read it
without the ranking pipeline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.rule_settings import RuleSettings
from engine.seasons import in_season


@dataclass(frozen=True)
class ItemFacts:
    """What the rules know of one product (built by serving from the catalog row)."""

    category: str = ""
    price: float | None = None
    margin: float | None = None
    created_at: str = ""
    season_tags: tuple[str, ...] = ()
    vendor: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleContext:
    """The request as the rules see it.

    anchor_ids: the viewed / cart / ordered products (never recommended back).
    bought_categories: category -> date of this customer's last purchase in it.
    exclude_ids: hard exclusions decided by serving (stock, dismissed, bought, `exclude=`).
    seed: from the request (see request_seed) so exploration is stable for a shopper's day.
    impressions: product id -> impressions in the last 14 days, None when the shop records
        none (exploration's "rarely shown").
    taste_shares: category -> share of this shopper's history (ShopModels.category_shares),
        for calibrated category caps on personal lists; empty for anonymous shoppers.
    """

    context: str
    slot: str
    today: date
    anchor_ids: tuple[str, ...] = ()
    anchor_categories: tuple[str, ...] = ()
    bought_categories: Mapping[str, date] = field(default_factory=dict)
    session_viewed: frozenset[str] = frozenset()
    exclude_ids: frozenset[str] = frozenset()
    seed: int = 0
    impressions: Mapping[str, int] | None = None
    taste_shares: Mapping[str, float] = field(default_factory=dict)


def facts_from_row(row: Mapping[str, Any]) -> ItemFacts:
    """ItemFacts from a products row (tags and season_tags are '|'-separated text)."""

    def split(text: Any) -> tuple[str, ...]:
        return tuple(t.strip().lower() for t in str(text or "").split("|") if t.strip())

    price, margin = row.get("price"), row.get("margin")
    return ItemFacts(
        category=str(row.get("category") or ""),
        price=None if price is None else float(price),
        margin=None if margin is None else float(margin),
        created_at=str(row.get("created_at") or ""),
        season_tags=split(row.get("season_tags")),
        vendor=str(row.get("vendor") or ""),
        tags=split(row.get("tags")),
    )


def request_seed(*parts: object) -> int:
    """A stable 64-bit seed from request parts (customer, session, anchors, date)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def request_context(
    context: str,
    slot: str,
    today: date,
    items: Mapping[str, ItemFacts],
    *,
    anchors: tuple[str, ...] = (),
    customer_id: str | None = None,
    session_id: str | None = None,
    bought_categories: Mapping[str, date] | None = None,
    session_viewed: frozenset[str] = frozenset(),
    exclude_ids: frozenset[str] = frozenset(),
    impressions: Mapping[str, int] | None = None,
    taste_shares: Mapping[str, float] | None = None,
) -> RuleContext:
    """One request's RuleContext: the anchors' categories read from `items`, the exploration
    seed from (shopper, session, anchors, day). Serving, pushed campaign blocks and the
    evaluation all build it here, so a pulled and a pushed block explore alike."""
    return RuleContext(
        context=context,
        slot=slot,
        today=today,
        anchor_ids=anchors,
        anchor_categories=tuple(dict.fromkeys(items[a].category for a in anchors if a in items)),
        bought_categories=bought_categories or {},
        session_viewed=session_viewed,
        exclude_ids=exclude_ids,
        seed=request_seed(customer_id, session_id, *anchors, today.isoformat()),
        impressions=impressions,
        taste_shares=taste_shares or {},
    )


def is_excluded(
    pid: str, items: Mapping[str, ItemFacts], ctx: RuleContext, s: RuleSettings
) -> bool:
    """The hard rules: unknown to the catalog, excluded by serving, blocked, out of season."""
    facts = items.get(pid)
    if facts is None or pid in ctx.exclude_ids or pid in ctx.anchor_ids:
        return True
    # Asked for every candidate of every request: the empty lists most shops have cost a
    # truth test, not a generator each.
    if s.blocked_products and any(
        b.value == pid and b.window.active(ctx.today) for b in s.blocked_products
    ):
        return True
    if s.blocked_categories and any(
        b.value == facts.category and b.window.active(ctx.today) for b in s.blocked_categories
    ):
        return True
    return (
        s.seasonal_exclusion
        and bool(facts.season_tags)
        and not in_season(facts.season_tags, ctx.today, s.hemisphere, s.season_lead_days)
    )
