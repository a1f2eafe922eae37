"""The serving counters: answers (empty or not) and serving-cache lookups.

Defined where lists are built so the email worker's answers count as the storefront's do;
plugin.metrics exposes them with the HTTP metrics at /metrics.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

CACHE_LOOKUPS = Counter(
    "shoprec_serving_cache_lookups",
    "Serving-cache lookups (answers and candidate pools), by shop and result (hit or miss).",
    ["shop", "result"],
)
ANSWERS = Counter(
    "shoprec_recommendation_answers",
    "Recommendation lists served, by shop, context and whether the list was empty.",
    ["shop", "context", "empty"],
)


def record_answer(shop: str, context: str, items: list[Any]) -> None:
    """Count one recommendation list (called where every answer is built)."""
    ANSWERS.labels(shop, context, "true" if not items else "false").inc()


def record_cache_lookup(shop: str, hit: bool) -> None:
    """Count one serving-cache lookup."""
    CACHE_LOOKUPS.labels(shop, "hit" if hit else "miss").inc()
