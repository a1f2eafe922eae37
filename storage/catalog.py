"""Products: upserts from any feed, and the reads serving and training need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import sqlite_utils

from storage.clock import utc_now_iso
from storage.errors import InvalidValue
from storage.frames import read_frame
from storage.upserts import upsert_dicts

PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id",
    "title",
    "description",
    "category",
    "tags",
    "vendor",
    "price",
    "compare_at_price",
    "inventory",
    "status",
    "margin",
    "season_tags",
    "available_until",
    "image_url",
    "url",
    "created_at",
)


def upsert_products(db: sqlite_utils.Database, products: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update products by product_id; return how many were new or changed.

    Each record needs product_id, title and price when new; other columns it lacks keep
    their stored (or default) values.
    """
    records = []
    for product in products:
        unknown = set(product) - set(PRODUCT_COLUMNS)
        if unknown:
            raise InvalidValue(f"unknown product fields {sorted(unknown)}")
        records.append(product)
    return upsert_dicts(
        db,
        "products",
        ["product_id"],
        records,
        "updated_at",
        utc_now_iso(),
        required=("title", "price"),
    )


def set_inventory(db: sqlite_utils.Database, product_id: str, inventory: int | None) -> bool:
    """Set one product's stock level; return whether the product exists."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE products SET inventory = ?, updated_at = ? WHERE product_id = ?",
            (inventory, utc_now_iso(), product_id),
        )
    return cursor.rowcount > 0


def sample_product_ids(db: sqlite_utils.Database, n: int) -> list[str]:
    """A few product ids of the catalog (for messages that show what an id looks like)."""
    rows = db.execute("SELECT product_id FROM products ORDER BY product_id LIMIT ?", (n,))
    return [str(row[0]) for row in rows]


def active_product_ids(db: sqlite_utils.Database) -> list[str]:
    """Ids of the active products, in the store's order."""
    return [r[0] for r in db.execute("SELECT product_id FROM products WHERE status = 'active'")]


def get_products(
    db: sqlite_utils.Database, product_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Products by id (fresh price and stock for display); unknown ids are left out."""
    found: dict[str, dict[str, Any]] = {}
    ids = list(dict.fromkeys(product_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        # db.execute, not db.query: the latter wraps each read in a savepoint and tokenises
        # the statement, which cost more than the read on the serving path.
        cursor = db.execute(f"SELECT * FROM products WHERE product_id IN ({marks})", chunk)
        keys = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(keys, values, strict=True))
            found[row["product_id"]] = row
    return found


# What a served item shows and whether it may be shown today (serving's on_sale).
DISPLAY_COLUMNS: tuple[str, ...] = (
    "product_id",
    "title",
    "price",
    "compare_at_price",
    "url",
    "image_url",
    "status",
    "inventory",
    "available_until",
)


def get_display_rows(
    db: sqlite_utils.Database, product_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The columns a served list shows (DISPLAY_COLUMNS), fresh, by id; unknown ids left out.

    Every uncached answer reads these for its 4-12 items: the narrow select skips the
    description, which a shop's HTML can make kilobytes long per product.
    """
    return _rows_of(db, DISPLAY_COLUMNS, product_ids)


FACT_COLUMNS: tuple[str, ...] = (
    "product_id",
    "category",
    "price",
    "margin",
    "created_at",
    "season_tags",
    "vendor",
    "tags",
)


def get_product_facts(
    db: sqlite_utils.Database, product_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The columns the business rules read (FACT_COLUMNS), by id; unknown ids left out.

    Serving reads these for a pool of up to a few hundred candidates per request: the
    narrow select skips descriptions and URLs it would only throw away.
    """
    return _rows_of(db, FACT_COLUMNS, product_ids)


def _rows_of(
    db: sqlite_utils.Database, columns: tuple[str, ...], product_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Rows of `columns` (product_id first) by id, read 500 ids at a time."""
    found: dict[str, dict[str, Any]] = {}
    ids = list(dict.fromkeys(product_ids))
    select = ", ".join(columns)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT {select} FROM products WHERE product_id IN ({marks})"
        for row in db.execute(sql, chunk).fetchall():
            found[row[0]] = dict(zip(columns, row, strict=True))
    return found


def unavailable_product_ids(db: sqlite_utils.Database, today: str) -> set[str]:
    """Ids that must never be recommended now: out of stock, not active, or past available_until."""
    rows = db.execute(
        "SELECT product_id FROM products WHERE status != 'active' "
        "OR (inventory IS NOT NULL AND inventory <= 0) "
        "OR (available_until IS NOT NULL AND available_until < ?)",
        (today,),
    ).fetchall()
    return {r[0] for r in rows}


def read_products_frame(db: sqlite_utils.Database) -> pd.DataFrame:
    """Every product as a DataFrame (one row per product, columns as PRODUCT_COLUMNS)."""
    return read_frame(db, f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM products ORDER BY product_id")


def count_products(db: sqlite_utils.Database) -> int:
    """Number of products in the catalog."""
    return int(db.execute("SELECT count(*) FROM products").fetchone()[0])


def newest_product_ids(db: sqlite_utils.Database, limit: int = 100) -> list[str]:
    """Active, in-stock product ids, newest first (a shop with no orders yet still has these)."""
    rows = db.execute(
        "SELECT product_id FROM products WHERE status = 'active' "
        "AND (inventory IS NULL OR inventory > 0) "
        "ORDER BY coalesce(created_at, updated_at) DESC, product_id LIMIT ?",
        (int(limit),),
    ).fetchall()
    return [r[0] for r in rows]


def category_count(db: sqlite_utils.Database) -> int:
    """How many named categories the catalog has."""
    row = db.execute("SELECT COUNT(DISTINCT category) FROM products WHERE category != ''")
    return int(row.fetchone()[0])


def product_titles(db: sqlite_utils.Database) -> dict[str, str]:
    """Every product's title by id."""
    return {str(pid): title for pid, title in db.execute("SELECT product_id, title FROM products")}
