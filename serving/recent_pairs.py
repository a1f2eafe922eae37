"""Pairs bought together since the last training, on product pages at once.

The models learn pairs at training (nightly, or sooner as orders grow: worker.retrain_due).
Between trainings, a frequently-bought-together list also reads the orders newer than the
models (storage.orders.co_purchased_since): a product bought with the anchor in at least
RECENT_MIN_ORDERS new orders joins the list ahead of the models' picks, most orders first,
and the business rules then treat it like any other candidate. Read per shop cache
generation, which every applied webhook batch and import moves, so an order is served within
a minute of its webhook; a retrain moves the cut to its own time, which folds the recent
counts into the models.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from engine.artifacts import MANIFEST
from engine.base import Recommendation
from engine.slot_specs import TABLES
from storage.orders import co_purchased_since

# Slots that fold in the pairs bought since training (engine.slot_specs feature recent_pairs).
RECENT_SLOTS = frozenset(slot for slot, names in TABLES.features.items() if "recent_pairs" in names)
RECENT_MIN_ORDERS = 2  # one order is an accident; two are a pattern worth a slot
RECENT_STRATEGY = "recent_pairs"
RECENT_REASON = "Often bought together in recent orders"
MAX_MEMO = 4096


def models_data_until(models: Path) -> str | None:
    """Where the shop's models' data ends (ISO UTC, as order lines store times), or None.

    The manifest's `data_until` (the newest order or event trained on); models saved before
    it was kept give their training time. Orders after it are what the models have not
    counted; one that reaches shoprec late, dated before it, waits for the next retrain.
    """
    try:
        manifest = json.loads((models / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    stamp = manifest.get("data_until") or manifest.get("trained_at")
    return str(stamp)[:19] if stamp else None


class RecentPairs:
    """The new pairs of a shop's anchors, memoised per cache generation."""

    def __init__(self, models_dir_for: Callable[[str], Path]) -> None:
        self._models_dir_for = models_dir_for
        self._memo: dict[tuple[str, str, tuple[str, ...]], list[tuple[str, int]]] = {}
        self._lock = threading.Lock()

    def pairs(
        self, db: sqlite_utils.Database, shop: str, generation: str, anchors: tuple[str, ...]
    ) -> list[tuple[str, int]]:
        """(product id, new orders with an anchor), at least RECENT_MIN_ORDERS each."""
        key = (shop, generation, anchors)
        if generation:
            with self._lock:
                hit = self._memo.get(key)
            if hit is not None:
                return hit
        since = models_data_until(self._models_dir_for(shop))
        found = (
            [
                (pid, n)
                for pid, n in co_purchased_since(db, anchors, since)
                if n >= RECENT_MIN_ORDERS
            ]
            if since
            else []
        )
        if generation:
            with self._lock:
                if len(self._memo) >= MAX_MEMO:
                    self._memo.clear()
                self._memo[key] = found
        return found


def with_recent_pairs(
    pool: list[Recommendation], recent: list[tuple[str, int]], excluded: frozenset[str]
) -> list[Recommendation]:
    """The pool with the recent pairs in front (scored above every model pick, most orders
    first); a recent pair the models also picked moves up rather than showing twice."""
    fresh = [(pid, n) for pid, n in recent if pid not in excluded]
    if not fresh:
        return pool
    top = max((r.score for r in pool), default=0.0)
    ahead = [
        Recommendation(pid, top + n, RECENT_STRATEGY, RECENT_REASON, {"recent_orders": float(n)})
        for pid, n in fresh
    ]
    moved = {pid for pid, _ in fresh}
    return ahead + [r for r in pool if r.product_id not in moved]
