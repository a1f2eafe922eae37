"""Read queries behind the admin's quality page: who gets shown, and who is kept out and why.

Impressions are the widget's own `impression` events (one per item actually seen), so these
figures describe what shoppers saw, not what the models scored.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

# Why the catalog keeps a product out of every list, in the order the page lists them.
STORE_EXCLUSIONS: tuple[tuple[str, str], ...] = (
    ("draft", "status = 'draft'"),
    ("archived", "status = 'archived'"),
    ("out of stock", "inventory IS NOT NULL AND inventory <= 0"),
    ("expired", "available_until IS NOT NULL AND available_until < :today"),
)


def impressions_per_product(db: sqlite_utils.Database, since: str) -> list[dict[str, Any]]:
    """Every product shown since `since` (ISO UTC) with its impressions, most shown first.

    Rows: product_id, title, category, created_at, impressions. A product deleted from the
    catalog since keeps its events; its title and category are then ''.
    """
    rows = db.execute(
        "SELECT e.product_id, coalesce(p.title, ''), coalesce(p.category, ''), p.created_at, "
        "count(*) AS n FROM events e LEFT JOIN products p ON p.product_id = e.product_id "
        "WHERE e.type = 'impression' AND e.ts >= ? GROUP BY e.product_id "
        "ORDER BY n DESC, e.product_id",
        (since,),
    ).fetchall()
    keys = ("product_id", "title", "category", "created_at", "impressions")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def impressions_per_context(db: sqlite_utils.Database, since: str) -> list[dict[str, Any]]:
    """Per context: impressions and distinct products shown since `since`."""
    rows = db.execute(
        "SELECT coalesce(context, '(none)'), count(*), count(DISTINCT product_id) FROM events "
        "WHERE type = 'impression' AND ts >= ? GROUP BY 1 ORDER BY 2 DESC",
        (since,),
    ).fetchall()
    return [{"context": c, "impressions": n, "products": d} for c, n, d in rows]


def recommendable_products(db: sqlite_utils.Database, today: str) -> list[dict[str, Any]]:
    """Active, in-stock, unexpired products: the catalog the lists may draw from."""
    rows = db.execute(
        "SELECT product_id, title, category, created_at, season_tags FROM products "
        "WHERE status = 'active' AND (inventory IS NULL OR inventory > 0) "
        "AND (available_until IS NULL OR available_until >= ?) ORDER BY product_id",
        (today,),
    ).fetchall()
    keys = ("product_id", "title", "category", "created_at", "season_tags")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def store_excluded_products(db: sqlite_utils.Database, today: str) -> list[dict[str, Any]]:
    """Products the catalog itself keeps out of lists, each with every reason that applies."""
    cases = ", ".join(
        f"CASE WHEN {condition} THEN '{reason}' END" for reason, condition in STORE_EXCLUSIONS
    )
    where = " OR ".join(f"({condition})" for _, condition in STORE_EXCLUSIONS)
    rows = db.execute(
        f"SELECT product_id, title, category, inventory, available_until, {cases} "
        f"FROM products WHERE {where} ORDER BY product_id",
        {"today": today},
    ).fetchall()
    return [
        {
            "product_id": row[0],
            "title": row[1],
            "category": row[2],
            "inventory": row[3],
            "available_until": row[4],
            "reasons": [r for r in row[5:] if r],
        }
        for row in rows
    ]


def category_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Active products per category ('' = uncategorised)."""
    rows = db.execute(
        "SELECT category, count(*) FROM products WHERE status = 'active' GROUP BY category"
    ).fetchall()
    return {c: int(n) for c, n in rows}


def clicks_outside_session_categories(db: sqlite_utils.Database, since: str) -> tuple[int, int]:
    """(clicks on categorised recommendations since `since` within a session, how many of them
    landed in a category the session had not viewed before the click): the serendipity of
    the lists, relevant enough to click and not what the shopper was already looking at."""
    row = db.execute(
        "SELECT count(*), coalesce(sum(CASE WHEN NOT EXISTS ("
        "SELECT 1 FROM events v JOIN products pv ON pv.product_id = v.product_id "
        "WHERE v.session_id = c.session_id AND v.type = 'view' AND v.ts < c.ts "
        "AND pv.category = p.category) THEN 1 ELSE 0 END), 0) "
        "FROM events c JOIN products p ON p.product_id = c.product_id "
        "WHERE c.type = 'click' AND c.ts >= ? AND c.session_id IS NOT NULL "
        "AND p.category != ''",
        (since,),
    ).fetchone()
    return int(row[0]), int(row[1])
