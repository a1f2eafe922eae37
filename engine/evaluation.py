"""Offline evaluation: a temporal split, ranking metrics, and strategies side by side.

Models are fitted only on data before the split and queried through ShopModels.recommend,
the same code that serves, so a figure here is a figure of what shoppers would get.
Task "next_purchase": each customer with history before the split who buys, after it, an
item they never bought before gets K items (home/for_you, their past purchases excluded).
Task "fbt": each item of each later order with 2+ distinct items gets K items
(product/frequently_bought_together); a hit is another item of the same order in the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

import numpy as np

from engine.base import RecommendationRequest
from engine.holdout import Query, split_at
from engine.offline_rules import offline_rules, rules_answerer
from engine.shop_fit import fit_shop_models
from engine.shop_models import ShopModels
from engine.slot_limits import clamp_limit
from engine.training_data import TrainingData

# Each single strategy is the blend with one source at full weight, served un-adapted.
STRATEGIES: dict[str, dict[str, float] | None] = {
    "popularity": {"popularity": 1.0},
    "confidence": {"confidence": 1.0},
    "rules": {"rules": 1.0},
    "item-item": {"collaborative": 1.0},
    "content": {"content": 1.0},
    "taste": {"taste": 1.0},
    "sequence": {"sequence": 1.0},  # optional (PyTorch): scores nothing when not fitted
    "hybrid": None,
}
TASKS = ("next_purchase", "fbt")
# Every model fitted, the sequence model too where validation gives it no weight: each
# strategy is scored alone.
FIT_ALL = partial(fit_shop_models, fit_all=True)
RULED = "hybrid+rules"  # the hybrid's list after the business rules (default settings)
# The list as the storefront serves it: the hybrid through the rules at the length its
# context shows (engine.slot_limits: a product page at most 8, a home page 12), so a K
# above a placement's length counts the slots it never has.
SERVED = "served"
TASK_CONTEXT = {"next_purchase": "home", "fbt": "product"}


def hit_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1.0 when any of the first k is relevant, else 0.0."""
    return float(any(item in relevant for item in ranked[:k]))


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant items found in the first k (0.0 for no relevant items)."""
    if not relevant:
        return 0.0
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance NDCG: DCG of the first k over the DCG of a perfect list."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(pos + 2) for pos, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(pos + 2) for pos in range(min(len(relevant), k)))
    return dcg / ideal


def list_diversity(ranked: Sequence[str], category: Mapping[str, str]) -> float:
    """Share of item pairs in a list whose categories differ (0.0 when uncategorised)."""
    cats = [category.get(item, "") for item in ranked]
    pairs = [(a, b) for i, a in enumerate(cats) for b in cats[i + 1 :]]
    if not pairs or not any(cats):
        return 0.0
    return sum(1 for a, b in pairs if a != b) / len(pairs)


def score_task(
    models: ShopModels,
    queries: Iterable[Query],
    k: int,
    answer: Callable[[RecommendationRequest], list[str]] | None = None,
) -> dict[str, float]:
    """HR/Recall/NDCG@k, catalog coverage, diversity and novelty of one strategy on one task.

    answer: request -> ranked ids; default models.recommend (the engine's list), or e.g. the
    list after the business rules (engine.offline_rules). Identical requests (the same anchor
    in many orders) are answered once; their diversity and novelty are computed once too.
    """
    ask = answer or (lambda request: [r.product_id for r in models.recommend(request)])
    category = {
        str(i): str(models.items.category_names[c]) if c >= 0 else ""
        for i, c in zip(models.item_ids, models.items.category_codes, strict=True)
    }
    rank = dict(zip(models.item_ids.tolist(), models.popularity.rank.tolist(), strict=True))
    discount = [1.0 / math.log2(pos + 2) for pos in range(k)]
    ideal = np.cumsum(discount)
    answers: dict[RecommendationRequest, tuple[list[str], float, float]] = {}
    sums = {"hr": 0.0, "recall": 0.0, "ndcg": 0.0, "diversity": 0.0}
    novelty_sum, novelty_count, count = 0.0, 0, 0
    shown: set[str] = set()
    for query in queries:
        known = answers.get(query.request)
        if known is None:
            ranked = ask(query.request)[:k]
            novelty = float(sum(rank.get(item, 0) for item in ranked))
            known = (ranked, list_diversity(ranked, category), novelty)
            answers[query.request] = known
            shown.update(ranked)
        ranked, diversity, novelty = known
        relevant = query.relevant
        hits = [pos for pos, item in enumerate(ranked) if item in relevant]
        if relevant:
            sums["hr"] += 1.0 if hits else 0.0
            sums["recall"] += len(hits) / len(relevant)
            sums["ndcg"] += sum(discount[pos] for pos in hits) / ideal[min(len(relevant), k) - 1]
        sums["diversity"] += diversity
        novelty_sum += novelty
        novelty_count += len(ranked)
        count += 1
    metrics = {name: value / count if count else 0.0 for name, value in sums.items()}
    metrics["coverage"] = len(shown) / models.items.n_items if models.items.n_items else 0.0
    metrics["novelty_rank"] = novelty_sum / novelty_count if novelty_count else 0.0
    metrics["queries"] = float(count)
    return metrics


def evaluate_split(
    data: TrainingData,
    split: datetime,
    k: int = 10,
    strategies: Mapping[str, Mapping[str, float] | None] | None = None,
    fit: Callable[[TrainingData], ShopModels] = FIT_ALL,
    with_rules: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics per task per strategy: {task: {strategy: {metric: value}}}.

    Single strategies are served with exactly their weights (no trust or cold-start shift);
    the hybrid is served as shoppers get it, and (with_rules) once more through the business
    rules with their default settings ("hybrid+rules", engine.offline_rules), so the cost of
    the rules in relevance is visible, and as served ("served": the same at the length the
    placement shows, engine.slot_limits), next to the model-only figures.
    """
    parts = split_at(data, split, k)
    models = fit(parts.train)
    results: dict[str, dict[str, dict[str, float]]] = {task: {} for task in TASKS}
    for name, weights in (strategies or STRATEGIES).items():
        variant = (
            models
            if weights is None
            else models.with_weights(
                {"home": weights, "product": weights, "email": weights}, adaptive=False
            )
        )
        results["next_purchase"][name] = score_task(variant, parts.next_purchase, k)
        results["fbt"][name] = score_task(variant, parts.fbt, k)
    if with_rules:
        answer = rules_answerer(models, offline_rules(parts.train, split))
        for task, queries in (("next_purchase", parts.next_purchase), ("fbt", parts.fbt)):
            results[task][RULED] = score_task(models, queries, k, answer)
            shown = clamp_limit(TASK_CONTEXT[task], k)
            results[task][SERVED] = (
                results[task][RULED]
                if shown == k
                else score_task(models, queries, k, _at_length(answer, shown))
            )
    return results


def _at_length(
    answer: Callable[[RecommendationRequest], list[str]], limit: int
) -> Callable[[RecommendationRequest], list[str]]:
    """The answerer asked for `limit` items, whatever the query's K."""
    return lambda request: answer(replace(request, limit=limit))
