"""Popularity and trending between retrains: orders since training folded into the counts.

The models count purchases at training (nightly, or sooner as orders grow:
worker.retrain_due). Between trainings, the paid orders newer than the models
(storage.orders.purchases_since) are folded into the same decayed counts
(engine.popularity.Popularity.advanced): a product selling all morning rises in "trending",
in best-seller fallbacks and in every blend that weighs popularity, before tonight's
training, and the retrain then counts the same orders from scratch.

Each shop's counts are refreshed when its order lines change, at most every
REFRESH_EVERY_S: every list of the shop depends on them, so a busy shop's cached answers
move at most that often for this, and an order shows within a minute of its webhook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from serving.recent_pairs import models_data_until
from storage.clock import from_iso
from storage.orders import purchases_since

REFRESH_EVERY_S = 30.0


@dataclass
class _Shop:
    stamp: int  # the order-lines stamp the served counts include
    moved_at: float  # monotonic time the stamp last moved
    source: Any = None  # the loaded models the live ones were made from
    live: Any = None  # those models with the live counts


def _days_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 86400.0


def _parse_utc(stamp: str) -> datetime | None:
    """The stored time as aware UTC, or None when it is not ISO-8601 (never raises here:
    a bad row must not take the shop's lists down)."""
    try:
        return from_iso(stamp)
    except ValueError:
        return None


class LivePopularity:
    """Per shop: which order-lines stamp the served counts include, and the models with them."""

    def __init__(
        self,
        models_dir_for: Callable[[str], Path],
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._models_dir_for = models_dir_for
        self._clock = clock
        self._now = now
        self._shops: dict[str, _Shop] = {}
        self._lock = threading.Lock()

    def stamp(self, shop: str, lines_stamp: int) -> int:
        """The order-lines stamp to serve `shop` under: the current one, unless the last move
        was less than REFRESH_EVERY_S ago (then the previous one, for now)."""
        now = self._clock()
        with self._lock:
            state = self._shops.get(shop)
            if state is None:
                self._shops[shop] = _Shop(lines_stamp, now)
                return lines_stamp
            if lines_stamp != state.stamp and now - state.moved_at >= REFRESH_EVERY_S:
                self._shops[shop] = _Shop(lines_stamp, now)
            return self._shops[shop].stamp

    def models(self, db: sqlite_utils.Database, shop: str, models: Any, stamp: int) -> Any:
        """`models` with their popularity advanced to now over the orders since training, or
        `models` unchanged when nothing was bought since or the counts cannot be advanced."""
        with self._lock:
            state = self._shops.get(shop)
            if state is not None and state.stamp == stamp and state.source is models:
                return state.live
        live = self._advanced(db, shop, models)
        with self._lock:
            state = self._shops.get(shop)
            if state is not None and state.stamp == stamp:
                state.source, state.live = models, live
        return live

    def _advanced(self, db: sqlite_utils.Database, shop: str, models: Any) -> Any:
        popularity = models.popularity
        since = models_data_until(self._models_dir_for(shop))
        start = _parse_utc(since) if since else None
        if start is None or not popularity.can_advance:
            return models
        bought = purchases_since(db, since or "")
        if not bought:
            return models
        item_ids = models.item_ids
        products = np.array([pid for pid, _ in bought])
        at = np.searchsorted(item_ids, products)
        at = np.minimum(at, max(item_ids.size - 1, 0))
        known = item_ids.size > 0
        hits = (item_ids[at] == products) if known else np.zeros(products.size, bool)
        now = self._now()
        ages = np.array(
            [
                max(_days_between(_parse_utc(when) or now, now), 0.0)
                for (_, when), hit in zip(bought, hits, strict=True)
                if hit
            ]
        )
        advanced = popularity.advanced(at[hits].astype(np.int64), ages, _days_between(start, now))
        return replace(models, popularity=advanced)
