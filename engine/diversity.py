"""Diverse selection from a ranked pool: category caps, category spread and mixed price points.

A shopper shown six coffee tables learns nothing new after the second; a list of six from
three categories, with something cheaper and something better, gets more clicks for the
same relevance. The selection is greedy (MMR-style): each step takes the best remaining item
after a soft penalty for its category's items already in the list, under a hard cap, and
keeps the cap only while the pool can honour it.
"""

from __future__ import annotations

import math
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
    remaining = [(pid, score, categories.get(pid, ""), bands.get(pid)) for pid, score in ranked]
    pool_categories = {c[2] for c in remaining} | set(counts)
    pool_bands = {c[3] for c in remaining if c[3] is not None} | used_bands
    total = min(k, len(remaining)) + len(fixed)
    want_categories = min(min_categories, len(pool_categories), total)
    chosen: list[str] = []
    ranked_counts: dict[str, int] = {}
    while remaining and len(chosen) < k:
        open_slots = k - len(chosen)
        # Per category, not per candidate (this loop runs k times over the pool): which
        # categories are at their cap, and the penalty factor of those picked or expected.
        if cap > 0:  # a category never picked is under the cap unless `caps` says 0
            full = {c for c, n in counts.items() if n >= per_category.get(c, cap)}
            full |= {c for c, n in per_category.items() if counts.get(c, 0) >= n}
        else:
            full = {c[2] for c in remaining if counts.get(c[2], 0) >= per_category.get(c[2], cap)}
        # The soft penalty counts only this ranking's picks: a pinned or explored item must
        # not push the best item of its category off the top. Ties: the earlier candidate.
        factors = {
            c: penalty ** max(ranked_counts.get(c, 0) + 1 - allowed.get(c, 1), 0)
            for c in ranked_counts.keys() | allowed.keys()
        }
        new_category = len(counts) < want_categories and want_categories - len(counts) >= open_slots
        new_band = mix_bands and len(pool_bands) >= 2 and len(used_bands) < 2 and open_slots == 1
        index = -1
        if not new_category and not new_band:
            # The usual step: the best candidate of a category under its cap, in one pass.
            best, first = -math.inf, -1
            for i, (_, score, cat, _) in enumerate(remaining):
                if cat in full:
                    continue
                if first < 0:
                    first = i
                value = score * factors.get(cat, 1)  # elsewhere penalty ** 0
                if value > best:
                    index, best = i, value
            if index < 0:  # NaN scores: the ranking's order (-1 when every category is full)
                index = first
        if index < 0:
            eligible = [i for i, c in enumerate(remaining) if c[2] not in full]
            eligible = eligible or list(range(len(remaining)))
            if new_category:
                eligible = [i for i in eligible if remaining[i][2] not in counts] or eligible
            if new_band:
                other = [
                    i
                    for i in eligible
                    if remaining[i][3] is not None and remaining[i][3] not in used_bands
                ]
                eligible = other or eligible
            best = -math.inf
            for i in eligible:
                _, score, cat, _ = remaining[i]
                value = score * factors.get(cat, 1)  # elsewhere penalty ** 0
                if value > best:
                    index, best = i, value
            if index < 0:  # NaN scores: keep the ranking's order
                index = eligible[0]
        pid, _, cat, band = remaining.pop(index)
        chosen.append(pid)
        counts[cat] = counts.get(cat, 0) + 1
        ranked_counts[cat] = ranked_counts.get(cat, 0) + 1
        if band is not None:
            used_bands.add(band)
    return chosen
