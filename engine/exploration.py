"""Exploration: a few slots for relevant products that shoppers rarely get to see.

Models learn from what was shown; a product never shown never earns the clicks that would
show it. So a share of each list (setting `exploration`, default 10%) goes to candidates from
the engine's own pool (relevant to this request) that the list would not show anyway and that
are new (created within `exploration_new_days`) or rarely shown (at most
`exploration_max_impressions` impressions in the last 14 days). A shop that records no
impressions at all gets only the "new" half: without counts, nothing is known to be rare.

The pick is seeded per request (engine.rule_context.request_seed: shopper, anchors, day), so a
shopper's list is stable over a day and differs between shoppers. Each pick says why it is
there, truthfully: "New in Baking" for a new product; a rarely shown one keeps the model's
reason (the signal that made it relevant), with strategy "exploration".
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from engine.base import Recommendation

EXPLORATION_STRATEGY = "exploration"
# "Rarely shown" counts impressions over this many days (read by serving and the worker).
IMPRESSION_DAYS = 14
# The intended band: 10-20% of slots. A list's share may round up to one slot, never past this.
MAX_SHARE = 0.2


@dataclass(frozen=True)
class ExplorationSignals:
    """What exploration knows beyond the pool, read by serving per request.

    impressions: product id -> impressions in the last 14 days; None when the shop records
        no impressions (then no product counts as rarely shown).
    """

    impressions: Mapping[str, int] | None = None


def exploration_slots(limit: int, share: float) -> int:
    """Slots for exploration in a list of `limit`: the share rounded (one from 3/4 of a
    slot), at least one when that stays within MAX_SHARE of the list, never more.

    0.1 of 4 -> 0 (one would be 25%), of 5, 6 or 8 -> 1, of 18 -> 2.
    """
    if share <= 0 or limit <= 0:
        return 0
    ceiling = int(limit * MAX_SHARE + 1e-9)
    wanted = max(1, int(limit * share + 0.25 + 1e-9))
    return min(wanted, ceiling)


def new_since(today: date, new_days: int) -> str:
    """The first ISO day a product counts as new on `today`."""
    return (today - timedelta(days=new_days)).isoformat()


def created_since(created_at: str, since: str) -> bool:
    """Whether an ISO created_at falls on or after the ISO day `since` (unknown: no)."""
    return bool(created_at) and created_at[:10] >= since


def exploration_reason(rec: Recommendation, category: str, new: bool) -> str:
    """The true reason for an explored item: its newness, else the model's own reason."""
    if new:
        return f"New in {category}" if category else "New in the shop"
    if rec.reason:
        return rec.reason
    return f"Less seen in {category}" if category else "Less seen in the shop"


def pick_exploration(
    beyond: Sequence[Recommendation],
    created_at: Mapping[str, str],
    categories: Mapping[str, str],
    n: int,
    today: date,
    seed: int,
    new_days: int,
    max_impressions: int,
    signals: ExplorationSignals,
) -> list[Recommendation]:
    """Up to `n` explored items, tagged, from `beyond` (the pool below what the list shows).

    Eligible: new or rarely shown. Of those, the 2n most relevant (pool order: best first,
    at least 3) form a shortlist, and the seed draws n from it, so exploration stays
    relevant and still varies between shoppers.
    """
    if n <= 0:
        return []
    counts = signals.impressions
    since = new_since(today, new_days)  # once per list, not per candidate
    room = max(3, 2 * n)
    shortlist: list[tuple[Recommendation, bool]] = []
    for rec in beyond:
        new = created_since(created_at.get(rec.product_id, ""), since)
        rare = counts is not None and counts.get(rec.product_id, 0) <= max_impressions
        if new or rare:
            shortlist.append((rec, new))
            if len(shortlist) == room:  # the most relevant eligible items are enough
                break
    drawn = random.Random(seed).sample(range(len(shortlist)), min(n, len(shortlist)))
    picks = []
    for index in sorted(drawn):
        rec, new = shortlist[index]
        reason = exploration_reason(rec, categories.get(rec.product_id, ""), new)
        picks.append(replace(rec, strategy=EXPLORATION_STRATEGY, reason=reason))
    return picks
