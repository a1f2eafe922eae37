"""The business-rules layer: what the owner and the calendar say on top of the models' scores.

Serving asks the engine for a pool of candidates (a few times the list length), then
`apply_business_rules` turns the pool into the list a shopper sees:

1. hard exclusions: per-request excludes, out-of-season products, owner-blocked products and
   categories (with optional dates);
2. soft re-scoring: the category of a recent purchase, products already viewed in this
   session, and a margin boost;
3. reserved slots: owner pins at their position, promotions' share, exploration of newer
   items from the lower half of the pool (seeded, so a shopper's list is stable for a day);
4. diverse selection of the rest (engine.diversity);
5. a popular fill when fewer than the context's minimum remain.

Pure and deterministic: everything it needs arrives as arguments (no storage, no clock).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from engine.base import Recommendation
from engine.diversity import max_per_category, price_bands, select_diverse
from engine.rule_settings import Pin, Promotion, RuleSettings

# Month ranges (first, last) in the northern hemisphere; the south is six months on.
SEASON_MONTHS: dict[str, tuple[int, int]] = {
    "spring": (3, 5),
    "summer": (6, 8),
    "autumn": (9, 11),
    "fall": (9, 11),
    "winter": (12, 2),
}
CHRISTMAS_TAGS = ("christmas", "xmas")
PINNED = ("pinned", "Picked by the shop")
PROMOTED = ("promotion", "On promotion")
EXPLORATION_STRATEGY = "exploration"
TRENDING_FALLBACK = "trending_fallback"
POPULAR_FALLBACK = ("popular_fallback", "Popular right now")


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


def _season_window(months: tuple[int, int], year: int, lead_days: int) -> tuple[date, date]:
    first, last = months
    end_year = year + 1 if last < first else year
    end = date(end_year + (last == 12), last % 12 + 1, 1) - timedelta(days=1)
    return date(year, first, 1) - timedelta(days=lead_days), end


def in_season(tags: Sequence[str], today: date, hemisphere: str, lead_days: int) -> bool:
    """Whether a product with these season tags may be shown today.

    No season tag: always. Christmas: Nov 1 - Dec 31 in both hemispheres; other seasons by
    meteorological months (south: six months on). Every season is shown `lead_days` before
    it starts (shops sell Christmas from October, barbecues from May). A
    product with several season tags is in season when any of them is.
    """
    known = [t for t in tags if t in SEASON_MONTHS or t in CHRISTMAS_TAGS]
    if not known:
        return True
    for tag in known:
        if tag in CHRISTMAS_TAGS:
            months = (11, 12)
        else:
            first, last = SEASON_MONTHS[tag]
            if hemisphere == "south":
                first, last = (first + 5) % 12 + 1, (last + 5) % 12 + 1
            months = (first, last)
        for year in (today.year - 1, today.year, today.year + 1):
            start, end = _season_window(months, year, lead_days)
            if start <= today <= end:
                return True
    return False


def is_excluded(
    pid: str, items: Mapping[str, ItemFacts], ctx: RuleContext, s: RuleSettings
) -> bool:
    """The hard rules: unknown to the catalog, excluded by serving, blocked, out of season."""
    facts = items.get(pid)
    if facts is None or pid in ctx.exclude_ids or pid in ctx.anchor_ids:
        return True
    if any(b.value == pid and b.window.active(ctx.today) for b in s.blocked_products):
        return True
    if any(b.value == facts.category and b.window.active(ctx.today) for b in s.blocked_categories):
        return True
    return s.seasonal_exclusion and not in_season(
        facts.season_tags, ctx.today, s.hemisphere, s.season_lead_days
    )


def rescore(
    rec: Recommendation, facts: ItemFacts, ctx: RuleContext, s: RuleSettings, base: float
) -> float:
    """The soft rules on one score (`base` shifts scores so they are all positive)."""
    score = rec.score - base
    bought = ctx.bought_categories.get(facts.category)
    if bought is not None and (ctx.today - bought).days < s.bought_category_days:
        score *= s.bought_category_factor
    if rec.product_id in ctx.session_viewed:
        score *= s.session_viewed_factor
    if facts.margin is not None:
        score *= 1.0 + s.margin_weight * min(max(facts.margin, 0.0), 1.0)
    return score


def share_slots(limit: int, share: float) -> int:
    """Slots for a share of a list: one once the share covers 3/4 of a slot (0.1: 8->1, 4->0)."""
    return int(math.floor(limit * share + 0.25 + 1e-9)) if share > 0 else 0


def _pin_applies(pin: Pin, ctx: RuleContext) -> bool:
    if not pin.window.active(ctx.today):
        return False
    if pin.anchor_product_id is not None:
        return pin.anchor_product_id in ctx.anchor_ids
    if pin.anchor_category is not None:
        return pin.anchor_category in ctx.anchor_categories
    return True


def _matches(promo: Promotion, facts: ItemFacts) -> bool:
    return (
        (promo.category is None or facts.category == promo.category)
        and (promo.tag is None or promo.tag.lower() in facts.tags)
        and (promo.vendor is None or facts.vendor == promo.vendor)
    )


def _tagged(rec: Recommendation, strategy: str, reason: str) -> Recommendation:
    return replace(rec, strategy=strategy, reason=reason)


def apply_business_rules(
    candidates: Sequence[Recommendation],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    settings: RuleSettings,
    limit: int,
    fallback: Sequence[str] = (),
) -> list[Recommendation]:
    """The list to show, at most `limit` long, from the engine's candidate pool (best first).

    Args:
        candidates: the engine's answer for a pool larger than `limit`.
        items: facts for every candidate, pinned and fallback product; ids without facts
            (deleted from the catalog) are never shown.
        fallback: popular product ids, best first, to fill a short list and promotions.
    Items keep the engine's reason unless a rule placed them (pins, promotions, exploration,
    fill), which say so.
    """
    s = settings
    seen: set[str] = set()
    kept = [
        c
        for c in candidates
        if not (c.product_id in seen or seen.add(c.product_id))
        and not is_excluded(c.product_id, items, ctx, s)
    ]
    base = min((c.score for c in kept), default=0.0)
    base = base - 1e-6 if base <= 0 else 0.0
    scored = sorted(
        ((c, rescore(c, items[c.product_id], ctx, s, base)) for c in kept),
        key=lambda pair: -pair[1],
    )
    pool = [replace(c, score=v) for c, v in scored]
    by_id = {r.product_id: r for r in pool}
    taken: set[str] = set()

    pins: list[tuple[int, Recommendation]] = []
    for pin in sorted(s.pins, key=lambda p: p.position):
        pid = pin.product_id
        if len(pins) >= limit or pid in taken or not _pin_applies(pin, ctx):
            continue
        if is_excluded(pid, items, ctx, s):
            continue
        rec = by_id.get(pid) or Recommendation(pid, 0.0, *PINNED)
        pins.append((pin.position, _tagged(rec, *PINNED)))
        taken.add(pid)

    promoted: list[Recommendation] = []
    for promo in s.promotions:
        if not promo.window.active(ctx.today):
            continue
        room = limit - len(pins) - len(promoted)
        want = min(room, max(1, share_slots(limit, promo.share)))
        sources = [r.product_id for r in pool] + list(fallback)
        for pid in sources:
            if want <= 0:
                break
            if pid in taken or is_excluded(pid, items, ctx, s) or not _matches(promo, items[pid]):
                continue
            promoted.append(_tagged(by_id.get(pid) or Recommendation(pid, 0.0, "", ""), *PROMOTED))
            taken.add(pid)
            want -= 1

    rest = [r for r in pool if r.product_id not in taken]
    explored: list[Recommendation] = []
    n_explore = min(share_slots(limit, s.exploration), limit - len(pins) - len(promoted))
    if n_explore > 0 and len(rest) > limit:
        lower = rest[len(rest) // 2 :]
        shortlist = sorted(
            lower, key=lambda r: (items[r.product_id].created_at, r.product_id), reverse=True
        )
        shortlist = shortlist[: max(3, 2 * n_explore)]
        for rec in random.Random(ctx.seed).sample(shortlist, min(n_explore, len(shortlist))):
            category = items[rec.product_id].category
            reason = f"New in {category}" if category else "New in the shop"
            explored.append(_tagged(rec, EXPLORATION_STRATEGY, reason))
            taken.add(rec.product_id)
        rest = [r for r in rest if r.product_id not in taken]

    fixed = [r.product_id for r in promoted + explored] + [r.product_id for _, r in pins]
    open_slots = limit - len(fixed)
    if s.diversity:
        categories = {pid: f.category for pid, f in items.items()}
        bands = price_bands(
            {r.product_id: items[r.product_id].price for r in rest}
            | {pid: items[pid].price for pid in fixed}
        )
        chosen = select_diverse(
            [(r.product_id, r.score) for r in rest],
            categories,
            bands,
            open_slots,
            fixed=fixed,
            cap=max_per_category(limit, s.max_per_category),
            min_categories=s.min_categories,
            mix_bands=s.mix_price_bands,
        )
        main = [by_id[pid] for pid in chosen]
    else:
        main = rest[: max(open_slots, 0)]

    result = list(main)
    for i, rec in enumerate(promoted):
        result.insert(min(1 + 2 * i, len(result)), rec)
    result.extend(explored)
    for position, rec in pins:
        result.insert(min(position - 1, len(result)), rec)

    target = min(limit, s.min_items)
    if len(result) < target:
        result += _fill(
            fallback, items, ctx, s, {r.product_id for r in result}, target - len(result)
        )
    return result[:limit]


def _fill(
    fallback: Sequence[str],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    shown: set[str],
    wanted: int,
) -> list[Recommendation]:
    """Popular items: first in the anchor's categories ("Trending in ..."), then any."""
    usable = [p for p in fallback if p not in shown and not is_excluded(p, items, ctx, s)]
    same = [p for p in usable if items[p].category and items[p].category in ctx.anchor_categories]
    picks = [
        Recommendation(p, 0.0, TRENDING_FALLBACK, f"Trending in {items[p].category}") for p in same
    ]
    in_same = set(same)
    picks += [Recommendation(p, 0.0, *POPULAR_FALLBACK) for p in usable if p not in in_same]
    return picks[:wanted]
