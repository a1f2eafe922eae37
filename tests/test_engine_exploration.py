"""Exploration: which items qualify (new or rarely shown), which are drawn, and their reasons."""

from __future__ import annotations

from datetime import date

from engine.base import Recommendation
from engine.exploration import (
    ExplorationSignals,
    created_since,
    exploration_reason,
    exploration_slots,
    new_since,
    pick_exploration,
)

TODAY = date(2026, 6, 15)


def beyond(n: int) -> list[Recommendation]:
    return [
        Recommendation(f"q{i:02d}", float(n - i), "content", f"Similar to A ({i})")
        for i in range(n)
    ]


def pick(
    recs: list[Recommendation],
    created: dict[str, str],
    n: int,
    seed: int = 1,
    impressions: dict[str, int] | None = None,
) -> list[Recommendation]:
    categories = {r.product_id: "Baking" for r in recs}
    return pick_exploration(
        recs, created, categories, n, TODAY, seed, 30, 20, ExplorationSignals(impressions)
    )


def test_exploration_takes_10_to_20_percent_of_a_list() -> None:
    sizes = (2, 4, 5, 6, 8, 12, 18)
    assert [exploration_slots(n, 0.1) for n in sizes] == [0, 0, 1, 1, 1, 1, 2]
    assert [exploration_slots(n, 0.2) for n in sizes] == [0, 0, 1, 1, 1, 2, 3]
    assert exploration_slots(8, 0.0) == 0 and exploration_slots(0, 0.1) == 0
    assert all(exploration_slots(n, 0.2) / n <= 0.2 for n in range(1, 51))


def test_is_new_counts_days_back_from_today() -> None:
    since = new_since(TODAY, 30)
    assert created_since("2026-05-16T09:00:00", since) and not created_since("2026-05-15", since)
    assert not created_since("", since)


def test_only_new_items_qualify_without_impression_counts() -> None:
    recs = beyond(20)
    created = {r.product_id: "2025-01-01" for r in recs} | {"q07": "2026-06-01"}
    got = pick(recs, created, 2)
    assert [r.product_id for r in got] == ["q07"]
    assert got[0].strategy == "exploration" and got[0].reason == "New in Baking"
    assert pick(recs, {}, 2) == []  # nothing new, nothing known to be rare


def test_rarely_shown_items_qualify_and_the_most_relevant_are_shortlisted() -> None:
    recs = beyond(20)
    shown = {r.product_id: 100 for r in recs} | {"q03": 0, "q09": 20, "q15": 2, "q18": 5}
    drawn = {r.product_id for seed in range(40) for r in pick(recs, {}, 1, seed, shown)}
    # Rare: q03, q09, q15, q18 (20 is "at most 20"); the shortlist is the 3 most relevant.
    assert drawn == {"q03", "q09", "q15"}
    two = pick(recs, {}, 2, 5, shown)
    assert len(two) == 2 and two == pick(recs, {}, 2, 5, shown)  # seeded: stable
    assert [r.product_id for r in two] == sorted(r.product_id for r in two)  # pool order kept
    assert {r.reason for r in two} <= {f"Similar to A ({i})" for i in range(20)}
    assert pick(recs, {}, 0, 5, shown) == []


def test_reasons_stay_true_without_a_model_reason_or_category() -> None:
    bare = Recommendation("x", 1.0, "content", "")
    assert exploration_reason(bare, "", new=True) == "New in the shop"
    assert exploration_reason(bare, "Rugs", new=False) == "Less seen in Rugs"
    assert exploration_reason(bare, "", new=False) == "Less seen in the shop"
