"""Pairs bought together since the last training, on product pages at once.

The models learn pairs at training (nightly, or sooner as orders grow: worker.retrain_due).
Between trainings, a frequently-bought-together list also reads the orders newer than the
models (storage.orders.co_purchased_since): a product bought with the anchor in at least
RECENT_MIN_ORDERS new orders, more often than the two products' own sales among the new
orders explain (beyond_chance), joins the list ahead of the models' picks, at most
RECENT_MAX_AHEAD of them, most orders first; the business rules then treat it like any other
candidate. Without the test, a dense shop's staples (milk, bread: in every fourth basket)
paired with everything within a day and pushed better picks off the list; without the cap,
a large basket's many partners did. bench/recent_pairs_check.py replays groceries and Online
Retail: HR@8 0.8024 / 0.7441 with every pair of 2+ orders first, 0.8269 / 0.7930 with this
rule, 0.8277 / 0.7899 with no recent pairs at all. Every partner of RECENT_MIN_ORDERS new
orders is tested, up to RECENT_CANDIDATES, not only the most frequent few: those are the
staples the test turns away, and a rare pair ranked below them was never read (served
groceries replay 0.8313 before and after, the retrains there come every ~192 orders; the test
in tests/test_serving_recent_pairs.py shows the pair it recovers). Read per shop cache
generation, which every applied webhook batch and import moves, so an order is served within
a minute of its webhook; a retrain moves the cut to its own time, which folds the recent
counts into the models.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from engine.artifacts import MANIFEST
from engine.base import Recommendation
from engine.slot_specs import TABLES
from storage.orders import co_purchased_since, orders_holding_any_since, orders_holding_since

# Slots that fold in the pairs bought since training (engine.slot_specs feature recent_pairs).
RECENT_SLOTS = frozenset(slot for slot, names in TABLES.features.items() if "recent_pairs" in names)
RECENT_MIN_ORDERS = 2  # one order is an accident; two are a pattern worth a slot
# A pair goes first only when chance explains its orders together with at most this
# probability (beyond_chance).
RECENT_SIGNIFICANCE = 0.01
# At most this many go ahead of the models' picks: fresh evidence earns a quarter of a
# product page's list, and the models keep the rest.
RECENT_MAX_AHEAD = 2
# Partners of 2+ new orders put to the test, most orders first. Not the top few: in a dense
# shop the anchor's most frequent partners are the staples the test turns away, and a pair of
# two rare products bought together three times ranks below twenty of them. The bound keeps
# one anchor's reads small on a shop where one product meets thousands.
RECENT_CANDIDATES = 200
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

    @staticmethod
    def _beyond_chance(
        db: sqlite_utils.Database, anchors: tuple[str, ...], since: str
    ) -> list[tuple[str, int]]:
        """The new partners whose orders with the anchors chance does not explain."""
        together = co_purchased_since(
            db, anchors, since, limit=RECENT_CANDIDATES, min_orders=RECENT_MIN_ORDERS
        )
        if not together:
            return []
        total, holding = orders_holding_since(db, since, [*anchors, *(p for p, _ in together)])
        with_anchor = orders_holding_any_since(db, since, anchors)
        return [
            (pid, n)
            for pid, n in together
            if beyond_chance(n, with_anchor, holding.get(pid, 0), total)
        ]

    def pairs(
        self, db: sqlite_utils.Database, shop: str, generation: str, anchors: tuple[str, ...]
    ) -> list[tuple[str, int]]:
        """(product id, new orders with an anchor) of the pairs bought together since
        training more often than chance explains (beyond_chance), most orders first."""
        key = (shop, generation, anchors)
        if generation:
            with self._lock:
                hit = self._memo.get(key)
            if hit is not None:
                return hit
        since = models_data_until(self._models_dir_for(shop))
        found = self._beyond_chance(db, anchors, since) if since else []
        if generation:
            with self._lock:
                if len(self._memo) >= MAX_MEMO:
                    self._memo.clear()
                self._memo[key] = found
        return found


def with_recent_pairs(
    pool: list[Recommendation], recent: list[tuple[str, int]], excluded: frozenset[str]
) -> list[Recommendation]:
    """The pool with at most RECENT_MAX_AHEAD recent pairs in front (scored above every model
    pick, most orders first); a recent pair the models also picked moves up rather than
    showing twice."""
    fresh = [(pid, n) for pid, n in recent if pid not in excluded][:RECENT_MAX_AHEAD]
    if not fresh:
        return pool
    top = max((r.score for r in pool), default=0.0)
    ahead = [
        Recommendation(pid, top + n, RECENT_STRATEGY, RECENT_REASON, {"recent_orders": float(n)})
        for pid, n in fresh
    ]
    moved = {pid for pid, _ in fresh}
    return ahead + [r for r in pool if r.product_id not in moved]


def beyond_chance(
    together: int,
    anchor_orders: int,
    partner_orders: int,
    orders: int,
    alpha: float = RECENT_SIGNIFICANCE,
) -> bool:
    """Whether `together` new orders holding both the anchor and a partner are more than the
    two products' own frequencies explain.

    Of `orders` new orders, `anchor_orders` hold the anchor and `partner_orders` the partner;
    independent, they would share about anchor * partner / orders of them. Two orders
    together say little about a staple in every fourth basket (milk in a grocery shop) and
    much about two products that each sold a handful of times: the Poisson chance of seeing
    `together` or more at that expectation must fall under `alpha`.
    """
    if together < RECENT_MIN_ORDERS or orders <= 0:
        return False
    expected = anchor_orders * partner_orders / orders
    return poisson_tail(together, expected) < alpha


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    if mean <= 0:
        return 0.0 if k > 0 else 1.0
    term = math.exp(-mean)
    below = 0.0
    for i in range(k):
        below += term
        term *= mean / (i + 1)
    return max(0.0, 1.0 - below)
