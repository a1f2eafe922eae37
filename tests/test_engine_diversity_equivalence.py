"""engine.diversity.select_diverse picks exactly what its earlier, per-candidate form picked.

The selection now looks caps and penalties up once per category per step instead of once per
candidate, and on a best-first pool compares only each category's first candidate left;
`reference_select_diverse` below is the former code, kept verbatim, and random pools (caps
of 0, expected counts, fixed items, NaN scores, ties, best-first pools) must give the same
lists.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

import pytest

from engine.diversity import SAME_CATEGORY_PENALTY, select_diverse


def reference_select_diverse(
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
        eligible = [
            i for i, c in enumerate(remaining) if counts.get(c[2], 0) < per_category.get(c[2], cap)
        ] or list(range(len(remaining)))
        if len(counts) < want_categories and want_categories - len(counts) >= open_slots:
            eligible = [i for i in eligible if remaining[i][2] not in counts] or eligible
        if mix_bands and len(pool_bands) >= 2 and len(used_bands) < 2 and open_slots == 1:
            other = [
                i
                for i in eligible
                if remaining[i][3] is not None and remaining[i][3] not in used_bands
            ]
            eligible = other or eligible
        # The soft penalty counts only this ranking's picks: a pinned or explored item must
        # not push the best item of its category off the top. Ties: the earlier candidate.
        index, best = -1, -math.inf
        for i in eligible:
            _, score, cat, _ = remaining[i]
            value = score * penalty ** max(ranked_counts.get(cat, 0) + 1 - allowed.get(cat, 1), 0)
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


def _case(rng: random.Random) -> tuple[list[tuple[str, float]], dict[str, object]]:
    n = rng.randint(0, 60)
    cats = [f"c{i}" for i in range(rng.randint(1, 8))] + [""]
    ranked = []
    for i in range(n):
        score = rng.choice([rng.random(), round(rng.random(), 1), float("nan")] + [0.5] * 2)
        ranked.append((f"p{i}", score))
    if rng.random() < 0.5:  # best first with finite scores, as the rules hand pools over
        finite = [0.5 if math.isnan(v) else v for _, v in ranked]
        ranked = [
            (pid, v) for (pid, _), v in zip(ranked, sorted(finite, reverse=True), strict=True)
        ]
    categories = {pid: rng.choice(cats) for pid, _ in ranked if rng.random() < 0.95}
    bands = {pid: rng.randint(0, 2) for pid, _ in ranked if rng.random() < 0.8}
    options: dict[str, object] = {
        "k": rng.randint(0, 12),
        "fixed": tuple(rng.sample([p for p, _ in ranked], min(len(ranked), rng.randint(0, 2)))),
        "cap": rng.randint(0, 4),
        "min_categories": rng.randint(0, 4),
        "mix_bands": rng.random() < 0.7,
        "penalty": rng.choice([SAME_CATEGORY_PENALTY, 1.0, 0.5, 0.0]),
    }
    if rng.random() < 0.5:
        options["caps"] = {
            c: rng.randint(0, 3) for c in rng.sample(cats, rng.randint(1, len(cats)))
        }
    if rng.random() < 0.5:
        options["expected"] = {
            c: rng.randint(0, 3) for c in rng.sample(cats, rng.randint(1, len(cats)))
        }
    return ranked, {"categories": categories, "bands": bands, **options}


@pytest.mark.parametrize("seed", range(40))
def test_select_diverse_matches_the_per_candidate_form(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        ranked, options = _case(rng)
        assert select_diverse(ranked, **options) == reference_select_diverse(ranked, **options)
