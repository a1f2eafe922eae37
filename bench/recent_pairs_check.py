"""Benchmark: what putting recent pairs first does to frequently-bought-together on groceries.

Run: python -P bench/recent_pairs_check.py
No shoprec code: plain co-purchase confidence (top 8 partners per anchor, counted on every
order before the last retrain) against the same lists with serving/recent_pairs.py's rule
applied first (partners bought with the anchor in 2+ orders since the last retrain, most
orders first, ahead of every model pick). The baskets are bench/served_eval.py's groceries
shop (80% before the split, 48 a day), replayed as `served_eval.py groceries --replay` does:
each day's cases asked before its orders arrive, a retrain once the store holds 2% more
orders than the last one saw. Separates the recent-pairs rule from the retrains' effect.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = [ROOT.parents[up] / "shared/datasets" for up in (0, 1)]
DATASETS = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
K, PER_DAY, GROWTH, MIN_ORDERS = 8, 48, 2.0, 2


def pair_counts(orders: list[list[str]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for order in orders:
        for anchor in order:
            counts[anchor].update(x for x in order if x != anchor)
    return counts


def main() -> int:
    source = DATASETS / "groceries/groceries.csv"
    if not source.exists():
        print(f"skipped: {source} is absent")
        return 0
    with source.open(newline="") as handle:
        rows = [[i.strip() for i in row if i.strip()] for row in csv.reader(handle)]
    baskets = [list(dict.fromkeys(r)) for r in rows if r]
    trained = int(len(baskets) * 0.8)
    model = pair_counts(baskets[:trained])
    tally = {"confidence": [0, 0], "recent pairs first": [0, 0]}
    retrains = 0
    for day in range(trained, len(baskets), PER_DAY):
        recent = pair_counts(baskets[trained:day])
        for order in baskets[day : day + PER_DAY]:
            if len(order) < 2:
                continue
            for anchor in order:
                relevant = set(order) - {anchor}
                base = [x for x, _ in model[anchor].most_common(K)]
                ahead = [x for x, n in recent[anchor].most_common(20) if n >= MIN_ORDERS]
                first = ahead + [x for x, _ in model[anchor].most_common(30) if x not in ahead]
                for name, ranked in (("confidence", base), ("recent pairs first", first[:K])):
                    tally[name][0] += 1
                    tally[name][1] += bool(relevant & set(ranked))
        end = min(day + PER_DAY, len(baskets))
        if (end - trained) / trained * 100 >= GROWTH:
            trained, retrains = end, retrains + 1
            model = pair_counts(baskets[:end])
    for name, (cases, hits) in tally.items():
        print(f"{name:<22}{cases:>7} cases  HR@{K} {hits / cases:.4f}")
    print(f"{retrains} retrains; reproduce: python -P bench/recent_pairs_check.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
