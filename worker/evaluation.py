"""Evaluating a shop's strategies on a temporal split of its own orders."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from config import Settings
from engine.evaluation import evaluate_split
from worker.training import load_training_data

METRICS = {
    "next_purchase": ("hr", "recall", "ndcg", "coverage", "diversity", "novelty_rank"),
    "fbt": ("hr", "coverage", "diversity", "novelty_rank"),
}
TITLES = {
    "next_purchase": "next purchase (home/for_you)",
    "fbt": "frequently bought together (product page)",
}


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
        }

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
            out.append(f"{'strategy':<12}{header}")
            for strategy, metrics in per_strategy.items():
                row = "".join(
                    f"{metrics[n]:>14.1f}" if n == "novelty_rank" else f"{metrics[n]:>14.3f}"
                    for n in names
                )
                out.append(f"{strategy:<12}{row}")
        return out


def _label(metric: str, k: int) -> str:
    if metric in ("hr", "recall", "ndcg"):
        return f"{metric.upper()}@{k}"
    return metric


def evaluate_shop(settings: Settings, shop: str, split: datetime, k: int = 10) -> EvaluationReport:
    """Fit on the shop's data before `split`, score every strategy on the orders after it."""
    start = time.perf_counter()
    data = load_training_data(settings, shop)
    results = evaluate_split(data, split, k)
    return EvaluationReport(shop, split, k, results, time.perf_counter() - start)
