"""Best sellers where the engine's pool falls short: of the list's length (the fill) or of
its diversity (categories it lacks, slots its categories cannot fill under their caps).

Each one says what it is ("Best seller in Garden") and keeps the hard rules and the price
filter; a category filter that never leaves the anchors' family (same_or_parent) holds too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

from engine.base import Recommendation
from engine.context_filters import fill_predicate
from engine.diversity import calibrated_caps, max_per_category
from engine.rule_context import ItemFacts, RuleContext, is_excluded
from engine.rule_settings import RuleSettings

# Best sellers read for the fill and the spread: as many as the largest pool.
BEST_SELLERS = 200
TRENDING_FALLBACK = "trending_fallback"
POPULAR_FALLBACK = "popular_fallback"


def best_seller_reason(category: str) -> str:
    """The fill's reason: the fill is drawn from the shop's best sellers of the last 30 days,
    and an item among the shop's best sellers is among its category's too."""
    return f"Best seller in {category}" if category else "Best seller in the shop"


def usable_best_sellers(
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


def calibration_shares(s: RuleSettings, ctx: RuleContext) -> Mapping[str, float]:
    """The shopper's category shares where the settings calibrate this list, else none."""
    return ctx.taste_shares if s.calibrate_categories else {}


def category_caps(limit: int, s: RuleSettings, ctx: RuleContext) -> dict[str, int]:
    """Per category, how many of a list of `limit` it may hold: key "" holds the usual cap,
    for every category not named; a personal list's own categories are calibrated to the
    shopper's shares where the settings say so."""
    cap = max_per_category(limit, s.max_per_category)
    return {**calibrated_caps(limit, cap, calibration_shares(s, ctx)), "": cap}


def _category_counts(
    recs: Iterable[Recommendation], items: Mapping[str, ItemFacts]
) -> dict[str, int]:
    """Category -> items of it among `recs` (ids without facts left out)."""
    return dict(Counter(items[r.product_id].category for r in recs if r.product_id in items))


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
    counts = _category_counts(shown, items)
    caps = category_caps(limit, s, ctx)
    named = [c for c in counts if c]
    too_few = len(named) < min(s.min_categories, len(shown))
    return too_few or any(counts[c] > caps.get(c, caps[""]) for c in named)


def diversity_candidates(
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
    counts = _category_counts([*rest, *placed], items)
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
    for pid in usable_best_sellers(fallback, items, ctx, s, shown):
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


def fill_short_list(
    fallback: Sequence[str],
    items: Mapping[str, ItemFacts],
    ctx: RuleContext,
    s: RuleSettings,
    shown: set[str],
    wanted: int,
) -> list[Recommendation]:
    """Best sellers: first in the anchors' categories, then any; the price filter holds."""
    usable = list(usable_best_sellers(fallback, items, ctx, s, shown))
    same = [p for p in usable if items[p].category and items[p].category in ctx.anchor_categories]
    in_same = set(same)
    ordered = [(p, TRENDING_FALLBACK) for p in same]
    ordered += [(p, POPULAR_FALLBACK) for p in usable if p not in in_same]
    return [
        Recommendation(p, 0.0, strategy, best_seller_reason(items[p].category))
        for p, strategy in ordered[:wanted]
    ]
