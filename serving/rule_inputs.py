"""What the business rules need from a shop's store for one request, read fresh.

Facts per product (category, price, margin, season tags...), whether a row is on sale, and
the honest reason of an untrained shop's fallback items. (The categories a customer just
bought: storage.orders.categories_bought_within, which the campaign worker reads too.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
