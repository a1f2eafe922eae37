"""Benchmark: what putting recent pairs first does to frequently-bought-together, with and
without a test of the pair against chance.

Run: python -P bench/recent_pairs_check.py [groceries|online_retail]
No shoprec code for the lists: plain co-purchase counts (top 8 partners per anchor, counted on
every order before the last retrain) against the same lists with recent pairs put first --
partners bought with the anchor in 2+ orders since the last retrain, most orders first -- and
against serving.recent_pairs' rule: only pairs bought together more often than chance
explains (beyond_chance), at most RECENT_MAX_AHEAD of them first. Groceries:
bench/served_eval.py's shop (80% before the split, 48 baskets a day) replayed as
`served_eval.py groceries --replay` does, a retrain once the store holds 2% more orders than
the last one saw. Online Retail: orders from 2011-09-01 on, a day at a time, a retrain after
each week (`--replay --step week`).
Each period's cases are asked before its orders arrive.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from serving.recent_pairs import RECENT_MAX_AHEAD, RECENT_MIN_ORDERS, beyond_chance

ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = [ROOT.parents[up] / "shared/datasets" for up in (0, 1)]
DATASETS = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
K, PER_DAY, GROWTH = 8, 48, 2.0


def pair_counts(orders: list[list[str]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for order in orders:
        for anchor in order:
            counts[anchor].update(x for x in order if x != anchor)
    return counts


Replay = tuple[list[list[str]], int, list[int], set[int] | None]


def groceries() -> Replay | None:
    """Baskets in file order, the training cut, period ends (a day each), retrain on growth."""
    source = DATASETS / "groceries/groceries.csv"
    if not source.exists():
        print(f"skipped: {source} is absent")
        return None
    with source.open(newline="") as handle:
        rows = [[i.strip() for i in row if i.strip()] for row in csv.reader(handle)]
    baskets = [list(dict.fromkeys(r)) for r in rows if r]
    trained = int(len(baskets) * 0.8)
    return baskets, trained, list(range(trained + PER_DAY, len(baskets), PER_DAY)), None


def online_retail() -> Replay | None:
    """Orders by time, the 2011-09-01 cut, period ends a day apart, a retrain each week."""
    from bench.served_eval import DATASETS as EVAL_DATASETS
    from bench.served_eval import online_retail as read_shop

    if not (EVAL_DATASETS / "online_retail/online_retail.csv.gz").exists():
        print("skipped: online_retail is absent")
        return None
    split = datetime(2011, 9, 1)
    orders: dict[str, tuple[str, dict[str, None]]] = {}
    for line in read_shop(split).lines:
        stamp, items = orders.setdefault(line["order_id"], (line["created_at"], {}))
        items[line["product_id"]] = None
    timeline = sorted((stamp, list(items)) for stamp, items in orders.values())
    baskets = [items for _, items in timeline]
    trained = sum(stamp < split.isoformat() for stamp, _ in timeline)
    ends, weekly, day = [], set(), None
    for i, (stamp, _) in enumerate(timeline[trained:], start=trained):
        if day is not None and stamp[:10] != day:
            ends.append(i)
            if (
                datetime.fromisoformat(stamp[:10]).isocalendar()[:2]
                != (datetime.fromisoformat(day).isocalendar()[:2])
            ):
                weekly.add(i)
        day = stamp[:10]
    return baskets, trained, ends, weekly


def periods(starts: int, ends: list[int], total: int) -> Iterator[tuple[int, int]]:
    previous = starts
    for end in [*ends, total]:
        if end > previous:
            yield previous, end
        previous = end


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "groceries"
    loaded = {"groceries": groceries, "online_retail": online_retail}[name]()
    if loaded is None:
        return 0
    baskets, trained, ends, retrain_at = loaded
    model = pair_counts(baskets[:trained])
    names = ("co-purchase", "every recent pair first", "serving's recent pairs first")
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    retrains = 0
    for start, end in periods(trained, ends, len(baskets)):
        since = baskets[trained:start]
        recent = pair_counts(since)
        holding = Counter(p for order in since for p in order)
        for order in baskets[start:end]:
            if len(order) < 2:
                continue
            for anchor in order:
                relevant = set(order) - {anchor}
                base = [x for x, _ in model[anchor].most_common(K)]
                found = [(x, n) for x, n in recent[anchor].most_common(20)]
                rest = [x for x, _ in model[anchor].most_common(30)]
                plain = [x for x, n in found if n >= RECENT_MIN_ORDERS]
                kept = [
                    x for x, n in found if beyond_chance(n, holding[anchor], holding[x], len(since))
                ]
                variants = ((names[1], plain), (names[2], kept[:RECENT_MAX_AHEAD]))
                for label, ahead in variants:
                    ranked = (ahead + [x for x in rest if x not in ahead])[:K]
                    tally[label][0] += 1
                    tally[label][1] += bool(relevant & set(ranked))
                tally[names[0]][0] += 1
                tally[names[0]][1] += bool(relevant & set(base))
        due = (
            end in retrain_at
            if retrain_at is not None
            else (end - trained) / trained * 100 >= GROWTH
        )
        if due:
            trained, retrains = end, retrains + 1
            model = pair_counts(baskets[:end])
    for label, (cases, hits) in tally.items():
        print(f"{label:<34}{cases:>7} cases  HR@{K} {hits / cases:.4f}")
    print(f"{retrains} retrains; reproduce: python -P bench/recent_pairs_check.py {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
