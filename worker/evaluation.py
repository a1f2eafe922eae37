"""Evaluating a shop's strategies on a temporal split of its own orders."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import pandas as pd

from config import Settings
from engine.evaluation import RULED, evaluate_split
from worker.errors import SplitOutsideOrders
from worker.training import load_training_data

METRICS = MappingProxyType(
    {
        "next_purchase": ("hr", "recall", "ndcg", "coverage", "diversity", "novelty_rank"),
        "fbt": ("hr", "coverage", "diversity", "novelty_rank"),
    }
)
# The headline metric per task, whose share kept after the business rules is reported.
HEADLINE = MappingProxyType({"next_purchase": "ndcg", "fbt": "hr"})
TITLES = MappingProxyType(
    {
        "next_purchase": "next purchase (home/for_you)",
        "fbt": "frequently bought together (product page)",
    }
)


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics per task and strategy for one split: {task: {strategy: {metric: value}}}."""

    shop: str
    split: datetime
    k: int
    results: dict[str, dict[str, dict[str, float]]]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-able object: shop, split_date, k, seconds, tasks."""
        return {
            "shop": self.shop,
            "split_date": self.split.date().isoformat(),
            "k": self.k,
            "seconds": round(self.seconds, 2),
            "tasks": self.results,
            "rules_kept": self.rules_kept(),
        }

    def rules_kept(self) -> dict[str, float]:
        """Per task, the hybrid's headline metric after rules over before (1.0 = no cost)."""
        kept = {}
        for task, per_strategy in self.results.items():
            metric = HEADLINE[task]
            before = per_strategy.get("hybrid", {}).get(metric)
            after = per_strategy.get(RULED, {}).get(metric)
            if before and after is not None:
                kept[task] = round(after / before, 4)
        return kept

    def lines(self) -> list[str]:
        """Tables for the CLI, one per task, strategies as rows."""
        out = [
            f"shop {self.shop}: split {self.split.date().isoformat()}, K={self.k}, "
            f"{self.seconds:.1f} s"
        ]
        for task, per_strategy in self.results.items():
            names = METRICS[task]
            queries = int(next(iter(per_strategy.values()), {}).get("queries", 0))
            out.append("")
            out.append(f"{TITLES[task]}: {queries} queries")
            header = "".join(f"{_label(n, self.k):>14}" for n in names)
            out.append(f"{'strategy':<14}{header}")
            for strategy, metrics in per_strategy.items():
                row = "".join(
                    f"{metrics[n]:>14.1f}" if n == "novelty_rank" else f"{metrics[n]:>14.3f}"
                    for n in names
                )
                out.append(f"{strategy:<14}{row}")
            if task in self.rules_kept():
                out.append(
                    f"after the business rules the hybrid keeps "
                    f"{self.rules_kept()[task]:.1%} of its {_label(HEADLINE[task], self.k)}"
                )
        return out


def _label(metric: str, k: int) -> str:
    if metric in ("hr", "recall", "ndcg"):
        return f"{metric.upper()}@{k}"
    return metric


def check_split(purchases: pd.DataFrame, split: datetime) -> None:
    """Refuse a split with no orders before it or none after it (the tables would be all zeros),
    suggesting the date that keeps the newest fifth of the orders for testing."""
    if not len(purchases):
        raise SplitOutsideOrders("the shop has no orders to evaluate on: import orders first")
    times = pd.to_datetime(purchases["created_at"], utc=True, format="ISO8601")
    first, last = times.min(), times.max()
    at = pd.Timestamp(split)
    if first < at <= last:
        return
    suggested = times.quantile(0.8).date().isoformat()
    side = "after the last order" if at > last else "on or before the first order"
    raise SplitOutsideOrders(
        f"--split-date {at.date().isoformat()} is {side}: the shop's orders run from "
        f"{first.date().isoformat()} to {last.date().isoformat()}. Pick a date between them, "
        f"e.g. --split-date {suggested} (the newest fifth of the orders for testing)."
    )


def evaluate_shop(
    settings: Settings,
    shop: str,
    split: datetime,
    k: int = 10,
    progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Fit on the shop's data before `split`, score every strategy on the orders after it.

    progress: told each stage as it starts (the CLI prints them: evaluation takes minutes).
    """
    say = progress or (lambda _stage: None)
    start = time.perf_counter()
    say("reading the shop's orders, products and events")
    data = load_training_data(settings, shop)
    check_split(data.purchases, split)
    say(f"fitting every model on the orders before {split.date().isoformat()} and scoring them")
    results = evaluate_split(data, split, k)
    return EvaluationReport(shop, split, k, results, time.perf_counter() - start)
