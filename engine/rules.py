"""The business-rules layer: what the owner and the calendar say on top of the models' scores.

Serving asks the engine for a pool of candidates (a few times the list length), then
`apply_business_rules` turns the pool into the list a shopper sees:

1. hard exclusions: per-request excludes, out-of-season products, owner-blocked products and
   categories (with optional dates);
2. context filters (engine.context_filters): the anchor's category, loosened to its parent
   and then any when too few remain, and the price relative to the anchor's;
3. soft re-scoring: the category of a recent purchase, products already viewed in this
   session, and a margin boost;
4. reserved slots: owner pins at their position, promotions' share, exploration of new or
   rarely shown items from below the list's cut (engine.exploration, seeded per request);
5. diverse selection of the rest (engine.diversity);
6. a best-seller fill when fewer than the context's minimum remain: the anchor's category
   first, then any.

Every item's reason is the signal that put it there: the model's for ranked items (the
re-scoring and re-ranking change order, not why an item is relevant), "Featured by the shop"
for a pin, the promotion's label, exploration's own, and "Best seller in <category>" for
the fill (the fill draws on the best sellers of the last 30 days).

Pure and deterministic: everything it needs arrives as arguments (no storage, no clock).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from engine.base import Recommendation
from engine.context_filters import fill_predicate, narrow_to_context
from engine.diversity import (
    calibrated_caps,
    expected_counts,
    max_per_category,
    price_bands,
    select_diverse,
)
from engine.exploration import ExplorationSignals, exploration_slots, pick_exploration
from engine.rule_settings import Pin, Promotion, RuleSettings
from engine.seasons import in_season

SHOP_FEATURE = "Featured by the shop"
PINNED = ("pinned", SHOP_FEATURE)
PROMOTION_STRATEGY = "promotion"
TRENDING_FALLBACK = "trending_fallback"
POPULAR_FALLBACK = "popular_fallback"


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


def best_seller_reason(category: str) -> str:
    """The fill's reason: the fill is drawn from the shop's best sellers of the last 30 days,
    and an item among the shop's best sellers is among its category's too."""
    return f"Best seller in {category}" if category else "Best seller in the shop"


def _admissible(
    candidates: Sequence[Recommendation],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    limit: int,
) -> tuple[list[Recommendation], dict[str, int]]:
    """Candidates once each, without hard exclusions, narrowed by the context filters, with
    each one's filter tier (0 unless the category filter had to loosen)."""
    seen: set[str] = set()
    kept = [
        c
        for c in candidates
        if not (c.product_id in seen or seen.add(c.product_id))
        and not is_excluded(c.product_id, items, ctx, s)
    ]
    anchors = [items[a] for a in ctx.anchor_ids if a in items]
    tiers, _level = narrow_to_context(
        [c.product_id for c in kept],
        items,
        anchors,
        s.category_filter,
        s.price_filter,
        s.price_tolerance,
        limit,
    )
    return [c for c in kept if c.product_id in tiers], tiers


def _rescored(
    kept: Sequence[Recommendation],
    tiers: Mapping[str, int],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
) -> list[Recommendation]:
    """Soft rules applied, best first; a looser filter tier sits below every tighter one
    (its scores are offset down by the pool's best score per tier)."""
    base = min((c.score for c in kept), default=0.0)
    base = base - 1e-6 if base <= 0 else 0.0
    scores = {c.product_id: rescore(c, items[c.product_id], ctx, s, base) for c in kept}
    loosest = max(tiers.values(), default=0)
    if loosest:
        step = max(scores.values()) + 1.0
        scores = {pid: v + (loosest - tiers[pid]) * step for pid, v in scores.items()}
    ranked = sorted(kept, key=lambda c: -scores[c.product_id])
    return [replace(c, score=scores[c.product_id]) for c in ranked]


def _pinned(
    by_id: Mapping[str, Recommendation],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    limit: int,
    taken: set[str],
) -> list[tuple[int, Recommendation]]:
    """Owner pins that apply to this request, with their 1-based positions."""
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
    return pins


def _promoted(
    pool: Sequence[Recommendation],
    by_id: Mapping[str, Recommendation],
    fallback: Sequence[str],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    room: int,
    limit: int,
    taken: set[str],
) -> list[Recommendation]:
    """Each active promotion's share of slots: matching pool items first, then best sellers."""
    promoted: list[Recommendation] = []
    for promo in s.promotions:
        if not promo.window.active(ctx.today):
            continue
        want = min(room - len(promoted), max(1, share_slots(limit, promo.share)))
        reason = promo.label or SHOP_FEATURE
        for pid in [r.product_id for r in pool] + list(fallback):
            if want <= 0:
                break
            if pid in taken or is_excluded(pid, items, ctx, s) or not _matches(promo, items[pid]):
                continue
            rec = by_id.get(pid) or Recommendation(pid, 0.0, "", "")
            promoted.append(_tagged(rec, PROMOTION_STRATEGY, reason))
            taken.add(pid)
            want -= 1
    return promoted


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
        items: facts for every candidate, anchor, pinned and fallback product; ids without
            facts (deleted from the catalog) are never shown.
        fallback: best-seller ids, best first, to fill a short list and promotions.
    Items keep the engine's reason unless a rule placed them (pins, promotions, exploration,
    fill), which say so.
    """
    s = settings
    kept, tiers = _admissible(candidates, items, ctx, s, limit)
    pool = _rescored(kept, tiers, items, ctx, s)
    by_id = {r.product_id: r for r in pool}
    taken: set[str] = set()
    pins = _pinned(by_id, items, ctx, s, limit, taken)
    promoted = _promoted(pool, by_id, fallback, items, ctx, s, limit - len(pins), limit, taken)
    rest = [r for r in pool if r.product_id not in taken]
    open_slots = limit - len(pins) - len(promoted)
    n_explore = min(exploration_slots(limit, s.exploration), open_slots)
    explored = (
        pick_exploration(
            rest[open_slots:],
            {r.product_id: items[r.product_id].created_at for r in rest[open_slots:]},
            {r.product_id: items[r.product_id].category for r in rest[open_slots:]},
            n_explore,
            ctx.today,
            ctx.seed,
            s.exploration_new_days,
            s.exploration_max_impressions,
            ExplorationSignals(ctx.impressions),
        )
        if n_explore > 0
        else []
    )
    taken |= {r.product_id for r in explored}
    rest = [r for r in rest if r.product_id not in taken]
    placed = promoted + explored + [r for _, r in pins]
    if s.diversity:
        rest += _diversity_candidates(rest, placed, fallback, items, ctx, s, limit)
    main = _main(rest, items, ctx, s, limit, promoted + explored, [r for _, r in pins])
    result = list(main)
    for i, rec in enumerate(promoted):
        result.insert(min(1 + 2 * i, len(result)), rec)
    result.extend(explored)
    for position, rec in pins:
        result.insert(min(position - 1, len(result)), rec)
    target = min(limit, s.min_items)
    if len(result) < target:
        shown = {r.product_id for r in result}
        result += _fill(fallback, items, ctx, s, shown, target - len(result))
    return result[:limit]


def _main(
    rest: Sequence[Recommendation],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    limit: int,
    placed: Sequence[Recommendation],
    pinned: Sequence[Recommendation],
) -> list[Recommendation]:
    """The ranked part of the list: diverse selection around what rules already placed."""
    fixed = [r.product_id for r in placed] + [r.product_id for r in pinned]
    open_slots = limit - len(fixed)
    if not s.diversity:
        return list(rest[: max(open_slots, 0)])
    by_id = {r.product_id: r for r in rest}
    categories = {pid: f.category for pid, f in items.items()}
    bands = price_bands(
        {r.product_id: items[r.product_id].price for r in rest}
        | {pid: items[pid].price for pid in fixed}
    )
    caps = category_caps(limit, s, ctx)
    shares = ctx.taste_shares if s.calibrate_categories else {}
    chosen = select_diverse(
        [(r.product_id, r.score) for r in rest],
        categories,
        bands,
        open_slots,
        fixed=fixed,
        cap=caps[""],
        min_categories=s.min_categories,
        mix_bands=s.mix_price_bands,
        penalty=s.category_penalty,
        caps=caps,
        expected=expected_counts(limit, shares),
    )
    return [by_id[pid] for pid in chosen]


def _usable_fallback(
    fallback: Sequence[str],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    shown: set[str],
) -> Iterator[str]:
    """Best sellers that may be shown here, best first: not shown yet, not excluded, within
    the price filter and, where the category filter never leaves it, the anchors' category
    family (otherwise the category is the fill's to loosen). Lazy: the spread needs only
    the first of each missing category."""
    anchors = [items[a] for a in ctx.anchor_ids if a in items]
    allowed = fill_predicate(anchors, s.category_filter, s.price_filter, s.price_tolerance)
    return (
        p
        for p in fallback
        if p not in shown
        and not is_excluded(p, items, ctx, s)
        and (allowed is None or allowed(items[p]))
    )


def category_caps(limit: int, s: RuleSettings, ctx: RuleContext) -> dict[str, int]:
    """Per category, how many of a list of `limit` it may hold: key "" holds the usual cap,
    for every category not named; a personal list's own categories are calibrated to the
    shopper's shares where the settings say so."""
    cap = max_per_category(limit, s.max_per_category)
    shares = ctx.taste_shares if s.calibrate_categories else {}
    return {**calibrated_caps(limit, cap, shares), "": cap}


def breaks_diversity(
    shown: Sequence[Recommendation],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    limit: int,
) -> bool:
    """Whether a list misses the diversity rules: fewer categories than min_categories (of
    its length) or a category past its cap. The selection gives way only when its
    candidates leave no choice, so serving reads best sellers and asks again then."""
    if not s.diversity:
        return False
    counts: dict[str, int] = {}
    for r in shown:
        category = items[r.product_id].category if r.product_id in items else ""
        counts[category] = counts.get(category, 0) + 1
    caps = category_caps(limit, s, ctx)
    named = [c for c in counts if c]
    too_few = len(named) < min(s.min_categories, len(shown))
    return too_few or any(counts[c] > caps.get(c, caps[""]) for c in named)


def _diversity_candidates(
    rest: Sequence[Recommendation],
    placed: Sequence[Recommendation],
    fallback: Sequence[str],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    limit: int,
) -> list[Recommendation]:
    """Best sellers for what the pool cannot give the diversity rules: categories it lacks
    (fewer than min_categories) and slots its categories cannot fill under their caps.

    A personal pool can sit in one or two categories (a shopper's taste), and a product's
    pool can lose its other categories to the hard rules (out of season, blocked); the
    selection can only pick from what it is given, and would otherwise relax the cap. These
    are best sellers of missing categories first, then of any category still under its
    cap, scored under every pool item, so they are picked only where the spread or a cap
    needs them, and say what they are ("Best seller in Garden").
    """
    caps = category_caps(limit, s, ctx)
    counts: dict[str, int] = {}
    for r in [*rest, *placed]:
        if r.product_id in items:
            category = items[r.product_id].category
            counts[category] = counts.get(category, 0) + 1
    missing = s.min_categories - len(counts)
    room = sum(min(n, caps.get(c, caps[""])) for c, n in counts.items())
    # Slots the pool has items for but the caps forbid (a pool too small for the list is
    # the fill's: it prefers the anchors' categories).
    short = min(limit, len(rest) + len(placed)) - room
    if (missing <= 0 and short <= 0) or not fallback:
        return []
    shown = {r.product_id for r in [*rest, *placed]}
    floor = min((r.score for r in rest), default=1.0)
    score = floor / 2 if floor > 0 else floor - 1.0
    extra: list[Recommendation] = []
    for pid in _usable_fallback(fallback, items, ctx, s, shown):
        category = items[pid].category
        new = category not in counts
        if counts.get(category, 0) >= caps.get(category, caps[""]) or (short <= 0 and not new):
            continue
        counts[category] = counts.get(category, 0) + 1
        missing -= new
        short -= 1
        extra.append(Recommendation(pid, score, POPULAR_FALLBACK, best_seller_reason(category)))
        if missing <= 0 and short <= 0:
            break
    return extra


def _fill(
    fallback: Sequence[str],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    shown: set[str],
    wanted: int,
) -> list[Recommendation]:
    """Best sellers: first in the anchors' categories, then any; the price filter holds."""
    usable = list(_usable_fallback(fallback, items, ctx, s, shown))
    same = [p for p in usable if items[p].category and items[p].category in ctx.anchor_categories]
    in_same = set(same)
    ordered = [(p, TRENDING_FALLBACK) for p in same]
    ordered += [(p, POPULAR_FALLBACK) for p in usable if p not in in_same]
    return [
        Recommendation(p, 0.0, strategy, best_seller_reason(items[p].category))
        for p, strategy in ordered[:wanted]
    ]
