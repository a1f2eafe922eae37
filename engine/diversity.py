"""Diverse selection from a ranked pool: category caps, category spread and mixed price points.

A shopper shown six coffee tables learns nothing new after the second; a list of six from
three categories, with something cheaper and something better, gets more clicks for the
same relevance. The selection is greedy (MMR-style): each step takes the best remaining item
after a soft penalty for its category's items already in the list, under a hard cap, and
keeps the cap only while the pool can honour it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence

# Soft MMR penalty: each item of the same category already chosen multiplies the score.
SAME_CATEGORY_PENALTY = 0.85


def max_per_category(limit: int, configured: int | None) -> int:
    """The category cap for a list of `limit`: max(2, ceil(limit / 3)) unless configured."""
    return configured if configured is not None else max(2, math.ceil(limit / 3))


def expected_counts(limit: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Per category, how many of `limit` items a list calibrated to `shares` holds."""
    return {c: math.floor(limit * share + 0.5) for c, share in shares.items() if c}


def calibrated_caps(limit: int, cap: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Per category, the cap raised to the shopper's own share of it in a list of `limit`.

    A personal list should show a shopper's interests in the proportions they have them
    (calibration, Steck 2018, https://doi.org/10.1145/3240323.3240372): someone who buys
    mostly baking gets mostly baking, not two items of six, while the category spread
    (min_categories) still holds. Categories the shopper never touched keep `cap`.
    shares: category -> share (0..1) of the shopper's history.
    """
    return {c: max(cap, n) for c, n in expected_counts(limit, shares).items()}


def price_bands(prices: Mapping[str, float | None]) -> dict[str, int]:
    """0 (budget), 1 (mid) or 2 (premium) per id by terciles of the known prices.

    Ids without a price get no band. When every price is the same all items are mid, so a
    pool without spread never asks for a mix.
    """
    known = sorted(p for p in prices.values() if p is not None)
    if not known:
        return {}
    low_cut, high_cut = known[len(known) // 3], known[(2 * len(known)) // 3]
    bands = {}
    for pid, price in prices.items():
        if price is None:
            continue
        bands[pid] = 0 if price < low_cut else 2 if price >= high_cut and price > low_cut else 1
    return bands


def select_diverse(
    ranked: Sequence[tuple[str, float]],
    categories: Mapping[str, str],
    bands: Mapping[str, int],
    k: int,
    fixed: Sequence[str] = (),
    cap: int = 2,
    min_categories: int = 3,
    mix_bands: bool = True,
    penalty: float = SAME_CATEGORY_PENALTY,
    caps: Mapping[str, int] | None = None,
    expected: Mapping[str, int] | None = None,
) -> list[str]:
    """Up to `k` ids from `ranked` ((id, score), best first) for a list that also holds `fixed`.

    Rules, in order of strength: at most `cap` per category, or `caps[category]` where given
    (calibrated_caps; relaxed only when nothing else is left); at least `min_categories`
    distinct categories and two price bands when the pool has them (enforced on the slots
    still open); then the highest penalised score, where each item of its category already
    picked multiplies a score by `penalty` (1: none), except the first `expected[category]`
    of a category (expected_counts: what a list calibrated to the shopper holds), so a
    personal list is penalised for over-representing a category, not for showing a shopper's
    favourite in its own proportion.
    """
    if k <= 0:
        return []
    per_category = caps or {}
    # Picks of a category that go unpenalised: the first, or the shopper's expected count.
    allowed = {c: max(n, 1) for c, n in (expected or {}).items()}
    counts: dict[str, int] = {}
    used_bands: set[int] = set()
    for pid in fixed:
        cat = categories.get(pid, "")
        counts[cat] = counts.get(cat, 0) + 1
        if pid in bands:
            used_bands.add(bands[pid])
    # Categories, bands and scores looked up once per candidate, not once per step.
    pool = [(pid, score, categories.get(pid, ""), bands.get(pid)) for pid, score in ranked]
    alive = [True] * len(pool)
    left = len(pool)
    pool_categories = {c[2] for c in pool} | set(counts)
    pool_bands = {c[3] for c in pool if c[3] is not None} | used_bands
    total = min(k, len(pool)) + len(fixed)
    want_categories = min(min_categories, len(pool_categories), total)
    # A pool best first with finite scores (what the rules hand over): each category's best
    # penalised candidate is its first one left, so a step compares category heads, not the
    # whole pool. Any other pool is scanned whole, in order.
    heads = _category_queues(pool) if _ranked_finite(pool) else None
    chosen: list[str] = []
    ranked_counts: dict[str, int] = {}

    def at_cap(c: str) -> bool:  # a category never picked is under a cap above 0
        return counts.get(c, 0) >= per_category.get(c, cap)

    def factor(c: str) -> float:  # this ranking's picks only: pinned or explored ones
        return float(penalty ** max(ranked_counts.get(c, 0) + 1 - allowed.get(c, 1), 0))

    # Which categories are at their cap, and the penalty factor of those picked or expected:
    # kept per category and moved only for the category of each pick. The soft penalty
    # counts only this ranking's picks, so a pinned or explored item does not push the best
    # item of its category off the top. Ties: the earlier candidate.
    full = {c for c in pool_categories | per_category.keys() if at_cap(c)}
    factors = {c: factor(c) for c in allowed}
    while left and len(chosen) < k:
        open_slots = k - len(chosen)
        new_category = len(counts) < want_categories and want_categories - len(counts) >= open_slots
        new_band = mix_bands and len(pool_bands) >= 2 and len(used_bands) < 2 and open_slots == 1
        index = -1
        if not new_category and not new_band:
            if heads is not None:
                index = _best_head(pool, alive, heads, full, factors)
            else:
                index = _best_scanned(pool, alive, full, factors)
        if index < 0:
            eligible = [i for i, c in enumerate(pool) if alive[i] and c[2] not in full]
            eligible = eligible or [i for i in range(len(pool)) if alive[i]]
            if new_category:
                eligible = [i for i in eligible if pool[i][2] not in counts] or eligible
            if new_band:
                other = [
                    i for i in eligible if pool[i][3] is not None and pool[i][3] not in used_bands
                ]
                eligible = other or eligible
            best = -math.inf
            for i in eligible:
                _, score, cat, _ = pool[i]
                value = score * factors.get(cat, 1)  # elsewhere penalty ** 0
                if value > best:
                    index, best = i, value
            if index < 0:  # NaN scores: keep the ranking's order
                index = eligible[0]
        pid, _, cat, band = pool[index]
        alive[index] = False
        left -= 1
        chosen.append(pid)
        counts[cat] = counts.get(cat, 0) + 1
        ranked_counts[cat] = ranked_counts.get(cat, 0) + 1
        factors[cat] = factor(cat)
        if at_cap(cat):
            full.add(cat)
        if band is not None:
            used_bands.add(band)
    return chosen


_Candidate = tuple[str, float, str, int | None]


def _ranked_finite(pool: Sequence[_Candidate]) -> bool:
    """Whether the pool's scores are finite and never rise down the list."""
    scores = [c[1] for c in pool]
    return all(math.isfinite(v) for v in scores) and all(
        a >= b for a, b in zip(scores, scores[1:], strict=False)
    )


def _category_queues(pool: Sequence[_Candidate]) -> dict[str, deque[int]]:
    """Per category, its candidates' positions in pool order."""
    queues: dict[str, deque[int]] = {}
    for i, c in enumerate(pool):
        queues.setdefault(c[2], deque()).append(i)
    return queues


def _best_head(
    pool: Sequence[_Candidate],
    alive: list[bool],
    heads: dict[str, deque[int]],
    full: set[str],
    factors: Mapping[str, float],
) -> int:
    """The usual step over a best-first pool: the best penalised head of a category under
    its cap (ties: the earlier candidate), or -1 when every category is full."""
    index, best = -1, -math.inf
    for cat, queue in heads.items():
        while queue and not alive[queue[0]]:
            queue.popleft()
        if not queue or cat in full:
            continue
        i = queue[0]
        value = pool[i][1] * factors.get(cat, 1)  # elsewhere penalty ** 0
        if value > best or (value == best and i < index):
            index, best = i, value
    return index


def _best_scanned(
    pool: Sequence[_Candidate], alive: list[bool], full: set[str], factors: Mapping[str, float]
) -> int:
    """The usual step over any pool, in one pass: the best penalised candidate of a category
    under its cap; with NaN scores the ranking's order; -1 when every category is full."""
    index, best, first = -1, -math.inf, -1
    for i, (_, score, cat, _) in enumerate(pool):
        if not alive[i] or cat in full:
            continue
        if first < 0:
            first = i
        value = score * factors.get(cat, 1)  # elsewhere penalty ** 0
        if value > best:
            index, best = i, value
    return index if index >= 0 else first
