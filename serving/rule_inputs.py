"""What the business rules need from a shop's store for one request, read fresh.

Facts per product (category, price, margin, season tags...), whether a row is on sale, and
the honest reason of an untrained shop's fallback items. (The categories a customer just
bought: storage.orders.categories_bought_within, which the campaign worker reads too.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import sqlite_utils

from engine.rule_context import ItemFacts, facts_from_row
from engine.rule_fill import best_seller_reason
from storage.catalog import get_product_facts


def read_facts(db: sqlite_utils.Database, product_ids: Sequence[str]) -> dict[str, ItemFacts]:
    """ItemFacts per product id from the catalog (ids no longer in it are left out).

    The rows are read every time (stock and prices are the store's current ones); only the
    parsing of a row seen before is skipped (_facts_of, keyed by the row's values).
    """
    return {
        pid: _facts_of(tuple(row.items()))
        for pid, row in get_product_facts(db, product_ids).items()
    }


FACTS_TTL_S = 30.0  # bound on staleness for a catalog write that moves no generation
MAX_CACHED_FACTS = 100_000  # per shop; a larger catalog starts over rather than grow


class FactsCache:
    """Catalog facts per shop, kept while the shop's cache generation stands.

    The rules read the facts of every pooled product on every request: the same few hundred
    rows, reread thousands of times a minute, while the catalog changes a few times a day.
    Every catalog write (import, sync, product or stock webhook) moves the shop's cache
    generation, which is part of the key here, so a change is seen by the next request;
    FACTS_TTL_S bounds what a write that moves no generation could leave stale. Storefront
    events (views, impressions) write to the store constantly but move no generation, so
    they no longer empty the facts as they empty the per-connection memos. Without a
    generation (a caller without the serving cache) facts are read fresh.
    """

    def __init__(
        self, ttl_s: float = FACTS_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._shops: dict[str, tuple[str, float, dict[str, ItemFacts | None]]] = {}
        self._lock = threading.Lock()

    def facts(
        self, db: sqlite_utils.Database, shop: str, generation: str, product_ids: Sequence[str]
    ) -> dict[str, ItemFacts]:
        """ItemFacts per id, as read_facts gives them (ids not in the catalog left out)."""
        if not generation:
            return read_facts(db, product_ids)
        now = self._clock()
        with self._lock:
            entry = self._shops.get(shop)
            if entry is None or entry[0] != generation or entry[1] <= now:
                entry = (generation, now + self._ttl_s, {})
                self._shops[shop] = entry
            known = entry[2]
            missing = [pid for pid in dict.fromkeys(product_ids) if pid not in known]
        if missing:
            fresh = read_facts(db, missing)
            with self._lock:
                if len(known) + len(missing) > MAX_CACHED_FACTS:
                    known.clear()
                for pid in missing:
                    known[pid] = fresh.get(pid)
        found: dict[str, ItemFacts] = {}
        for pid in product_ids:
            facts = known.get(pid)
            if facts is not None:
                found[pid] = facts
        return found


@lru_cache(maxsize=65_536)
def _facts_of(row: tuple[tuple[str, Any], ...]) -> ItemFacts:
    """facts_from_row of one row's (column, value) pairs; ItemFacts is frozen, so shared."""
    return facts_from_row(dict(row))


def fallback_reason(strategy: str, category: str) -> str:
    """An untrained shop's reason: best sellers of the last 30 days, else the newest items."""
    if strategy == "newest_fallback":
        return f"Latest in {category}" if category else "Latest in the shop"
    return best_seller_reason(category)


def on_sale(product: Mapping[str, Any], today: str) -> bool:
    """Whether a products row may be shown today: the row-level twin of
    storage.catalog.unavailable_product_ids, for a row already read (a cached answer may
    predate a stock-out that nobody told the cache about)."""
    inventory, until = product.get("inventory"), product.get("available_until")
    return (
        product.get("status") == "active"
        and (inventory is None or inventory > 0)
        and (not until or until >= today)
    )
