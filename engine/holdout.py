"""A temporal split of a shop's data into training data and the queries of what came after.

Shared by offline evaluation (engine.evaluation, a split the operator picks) and by per-shop
validation at training (engine.shop_validation, the shop's most recent orders held out).
Task "next_purchase": each customer with history before the split who buys, after it, an
item they never bought before gets K items (home/for_you, their past purchases excluded).
Task "fbt": each item of each later order with 2+ distinct items gets K items
(product/frequently_bought_together); a hit is another item of the same order in the list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from engine.base import RecommendationRequest
from engine.training_data import TrainingData, utc


@dataclass(frozen=True)
class Query:
    """One evaluation request and the items that count as right answers."""

    request: RecommendationRequest
    relevant: frozenset[str]


@dataclass(frozen=True)
class SplitData:
    """Training data before the split and the queries built from orders after it."""

    train: TrainingData
    next_purchase: tuple[Query, ...]
    fbt: tuple[Query, ...]


def split_at(data: TrainingData, split: datetime, k: int) -> SplitData:
    """Cut purchases and events at `split`; build both tasks' queries from the later orders."""
    stamp = pd.Timestamp(utc(split))
    bought_at = pd.to_datetime(data.purchases["created_at"], utc=True, format="ISO8601")
    seen_at = pd.to_datetime(data.events["ts"], utc=True, format="ISO8601")
    before, after = data.purchases[bought_at < stamp], data.purchases[bought_at >= stamp]
    train = replace(data, purchases=before, events=data.events[seen_at < stamp], now=utc(split))
    history = before.dropna(subset=["customer_id"]).groupby("customer_id")["product_id"].agg(set)
    later = after.dropna(subset=["customer_id"]).groupby("customer_id")["product_id"].agg(set)
    next_purchase = []
    for customer in sorted(set(history.index) & set(later.index)):
        past = frozenset(str(p) for p in history[customer])
        new = frozenset(str(p) for p in later[customer]) - past
        if new:
            request = RecommendationRequest(
                "home", "for_you", customer_id=str(customer), exclude_ids=past, limit=k
            )
            next_purchase.append(Query(request, new))
    fbt = []
    for _, items in sorted(after.groupby("order_id")["product_id"].agg(set).items()):
        distinct = sorted(str(p) for p in items)
        if len(distinct) < 2:
            continue
        for anchor in distinct:
            request = RecommendationRequest(
                "product", "frequently_bought_together", product_ids=(anchor,), limit=k
            )
            fbt.append(Query(request, frozenset(distinct) - {anchor}))
    return SplitData(train, tuple(next_purchase), tuple(fbt))
