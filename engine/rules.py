"""The business-rules layer: what the owner and the calendar say on top of the models' scores.

Serving asks the engine for a pool of candidates (a few times the list length), then
`apply_business_rules` turns the pool into the list a shopper sees:

1. hard exclusions (engine.rule_context.is_excluded): per-request excludes, out-of-season
   products, owner-blocked products and categories (with optional dates);
2. context filters (engine.context_filters): the anchor's category, loosened to its parent
   and then any when too few remain, and the price relative to the anchor's;
3. soft re-scoring: the category of a recent purchase, products already viewed in this
   session, and a margin boost;
4. reserved slots: owner pins at their position, promotions' share, exploration of new or
   rarely shown items from below the list's cut (engine.exploration, seeded per request);
5. diverse selection of the rest (engine.diversity), with best sellers where the pool
   lacks the categories or cannot fill the list under their caps (engine.rule_fill);
6. a best-seller fill when fewer than the context's minimum remain: the anchor's category
   first, then any (engine.rule_fill).

Every item's reason is the signal that put it there: the model's for ranked items (the
re-scoring and re-ranking change order, not why an item is relevant), "Featured by the shop"
for a pin, the promotion's label, exploration's own, and "Best seller in <category>" for
the fill (the fill draws on the best sellers of the last 30 days).

Pure and deterministic: everything it needs arrives as arguments (no storage, no clock).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from engine.base import Recommendation
from engine.context_filters import narrow_to_context
from engine.diversity import expected_counts, price_bands, select_diverse
from engine.exploration import ExplorationSignals, exploration_slots, pick_exploration
from engine.rule_context import ItemFacts, RuleContext, is_excluded
from engine.rule_fill import (
    calibration_shares,
    category_caps,
    diversity_candidates,
    fill_short_list,
)
from engine.rule_settings import Pin, Promotion, RuleSettings

# The pool the rules turn into a list: a few times its length, so exclusions, caps and the
# spread have room; the largest pool where context filters keep only part of it (same
# category, a price range), so the list is not left to the fill.
POOL_FACTOR, MIN_POOL, MAX_POOL = 4, 24, 200
SHOP_FEATURE = "Featured by the shop"
PINNED = ("pinned", SHOP_FEATURE)
PROMOTION_STRATEGY = "promotion"


def pool_size(limit: int, s: RuleSettings) -> int:
    """How many candidates to ask the engine for, for a list of `limit` under settings `s`
    (serving, the campaign worker and the evaluation ask alike)."""
    if s.category_filter != "off" or s.price_filter != "off":
        return MAX_POOL
    return min(max(limit * POOL_FACTOR, MIN_POOL), MAX_POOL)


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
    kept = []
    for c in candidates:
        if c.product_id in seen:
            continue
        seen.add(c.product_id)
        if not is_excluded(c.product_id, items, ctx, s):
            kept.append(c)
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
    return [c.with_score(scores[c.product_id]) for c in ranked]


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
        rest += diversity_candidates(rest, placed, fallback, items, ctx, s, limit)
    main = _main(rest, items, ctx, s, limit, placed)
    result = list(main)
    for i, rec in enumerate(promoted):
        result.insert(min(1 + 2 * i, len(result)), rec)
    result.extend(explored)
    for position, rec in pins:
        result.insert(min(position - 1, len(result)), rec)
    target = min(limit, s.min_items)
    if len(result) < target:
        shown = {r.product_id for r in result}
        result += fill_short_list(fallback, items, ctx, s, shown, target - len(result))
    return result[:limit]


def _main(
    rest: Sequence[Recommendation],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    limit: int,
    placed: Sequence[Recommendation],
) -> list[Recommendation]:
    """The ranked part of the list: diverse selection around what rules already placed
    (promoted, explored and pinned items)."""
    fixed = [r.product_id for r in placed]
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
        expected=expected_counts(limit, calibration_shares(s, ctx)),
    )
    return [by_id[pid] for pid in chosen]
