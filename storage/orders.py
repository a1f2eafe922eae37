"""Orders and order lines. Returns are negative lines: stored, never counted as purchases."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlite_utils

from storage.clock import utc_now_iso
from storage.frames import read_frame
from storage.upserts import upsert_dicts, upsert_rows

LINE_COLUMNS: tuple[str, ...] = (
    "order_id",
    "line_key",
    "product_id",
    "customer_id",
    "created_at",
    "quantity",
    "unit_price",
)


def upsert_orders(db: sqlite_utils.Database, orders: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update order headers (id, customer, created_at, status, country, source)."""
    return upsert_dicts(
        db, "orders", ["order_id"], orders, "updated_at", utc_now_iso(), required=("created_at",)
    )


def upsert_order_lines(db: sqlite_utils.Database, lines: Iterable[Sequence[Any]]) -> int:
    """Insert or update lines given as tuples ordered as LINE_COLUMNS; return rows changed.

    line_key must be stable for the same line across imports ('<product_id>#<n>', n counting
    repeats of that product within the order) so a re-import updates rather than duplicates.
    """
    return upsert_rows(db, "order_lines", ["order_id", "line_key"], LINE_COLUMNS, lines)


def read_purchase_lines(db: sqlite_utils.Database, before: str | None = None) -> pd.DataFrame:
    """Purchase lines (quantity > 0, order not cancelled) as a DataFrame for training.

    Columns: order_id, customer_id (None for guests), product_id, quantity, unit_price,
    created_at (ISO text). `before` keeps lines with created_at < before.
    """
    sql = (
        "SELECT l.order_id, l.customer_id, l.product_id, l.quantity, l.unit_price, l.created_at "
        "FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
        "WHERE l.quantity > 0 AND o.status = 'paid'"
    )
    params: list[Any] = []
    if before is not None:
        sql += " AND l.created_at < ?"
        params.append(before)
    return read_frame(db, sql + " ORDER BY l.created_at, l.order_id", params)


def recently_bought(db: sqlite_utils.Database, customer_id: str, since: str) -> set[str]:
    """Products this customer bought (and did not fully return) since `since`."""
    rows = db.execute(
        "SELECT product_id FROM order_lines WHERE customer_id = ? AND created_at >= ? "
        "GROUP BY product_id HAVING sum(quantity) > 0",
        (customer_id, since),
    ).fetchall()
    return {r[0] for r in rows}


def order_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Orders, lines, purchase lines and return lines in the store."""
    row = db.execute(
        "SELECT (SELECT count(*) FROM orders), count(*), "
        "coalesce(sum(quantity > 0), 0), coalesce(sum(quantity < 0), 0) FROM order_lines"
    ).fetchone()
    return {"orders": row[0], "lines": row[1], "purchase_lines": row[2], "return_lines": row[3]}


def popular_products(db: sqlite_utils.Database, days: int = 30, limit: int = 100) -> list[str]:
    """Product ids by units bought in the `days` before the newest order line, best first.

    The window ends at the newest line rather than today so that a shop imported from an
    old export still has a "recent" window. Cancelled orders and returns are not counted.
    Used by serving as the answer for a shop whose models are not trained yet.
    """
    rows = db.execute(
        "SELECT l.product_id, sum(l.quantity) AS units FROM order_lines l "
        "JOIN orders o ON o.order_id = l.order_id "
        "WHERE o.status = 'paid' AND l.created_at >= "
        "strftime('%Y-%m-%dT%H:%M:%S', (SELECT max(created_at) FROM order_lines), ?) "
        "GROUP BY l.product_id HAVING sum(l.quantity) > 0 "  # no alias here on PostgreSQL
        "ORDER BY units DESC, l.product_id LIMIT ?",
        (f"-{int(days)} days", int(limit)),
    ).fetchall()
    return [r[0] for r in rows]


def categories_bought_since(
    db: sqlite_utils.Database, customer_id: str, since: str
) -> dict[str, str]:
    """Category -> created_at of this customer's latest purchase in it since `since`.

    Serving pushes a just-bought category down for a while (the business rules), so a shopper
    who bought a coffee table does not see coffee tables at the top of every list.
    """
    rows = db.execute(
        "SELECT p.category, max(l.created_at) FROM order_lines l "
        "JOIN products p ON p.product_id = l.product_id "
        "WHERE l.customer_id = ? AND l.created_at >= ? AND l.quantity > 0 AND p.category != '' "
        "GROUP BY p.category",
        (customer_id, since),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def categories_bought_within(
    db: sqlite_utils.Database, customer_id: str | None, now: datetime, days: int
) -> dict[str, date]:
    """Category -> day of this customer's latest purchase in it within the last `days`
    (empty without a customer, or for days <= 0): the purchase down-weight's input, for
    serving and for pushed campaign blocks alike."""
    if not customer_id or days <= 0:
        return {}
    since = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        category: date.fromisoformat(at[:10])
        for category, at in categories_bought_since(db, customer_id, since).items()
    }


def last_bought_product(db: sqlite_utils.Database, customer_id: str) -> str | None:
    """The product of this customer's newest purchase line (anchor of a post-purchase email)."""
    row = db.execute(
        "SELECT product_id FROM order_lines WHERE customer_id = ? AND quantity > 0 "
        "ORDER BY created_at DESC, order_id DESC, line_key DESC LIMIT 1",
        (customer_id,),
    ).fetchone()
    return row[0] if row else None


def customer_orders(
    db: sqlite_utils.Database, customer_id: str, limit: int = 10
) -> list[dict[str, Any]]:
    """The customer's latest orders, newest first: order_id, created_at, status and lines
    (product_id, title, quantity, unit_price; returns as negative quantities)."""
    orders = db.execute(
        "SELECT order_id, created_at, status FROM orders WHERE customer_id = ? "
        "ORDER BY created_at DESC, order_id DESC LIMIT ?",
        (customer_id, int(limit)),
    ).fetchall()
    if not orders:
        return []
    ids = [row[0] for row in orders]
    marks = ", ".join("?" for _ in ids)
    lines: dict[str, list[dict[str, Any]]] = {}
    for order_id, product_id, title, quantity, unit_price in db.execute(
        "SELECT l.order_id, l.product_id, coalesce(p.title, ''), l.quantity, l.unit_price "
        "FROM order_lines l LEFT JOIN products p ON p.product_id = l.product_id "
        f"WHERE l.order_id IN ({marks}) ORDER BY l.order_id, l.line_key",
        ids,
    ):
        lines.setdefault(order_id, []).append(
            {
                "product_id": product_id,
                "title": title,
                "quantity": quantity,
                "unit_price": unit_price,
            }
        )
    return [
        {"order_id": oid, "created_at": at, "status": status, "lines": lines.get(oid, [])}
        for oid, at, status in orders
    ]


def co_purchased_since(
    db: sqlite_utils.Database,
    product_ids: Sequence[str],
    since: str,
    limit: int = 20,
    min_orders: int = 1,
) -> list[tuple[str, int]]:
    """(product id, orders) bought in the same order as any of `product_ids`, counting only
    orders whose lines are newer than `since` (ISO UTC), most orders first; only partners of
    at least `min_orders` such orders.

    What the trained models have not seen yet: serving folds it into product pages between
    retrains, so a pair bought together all morning shows before tonight's training.
    """
    ids = list(dict.fromkeys(product_ids))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(
        "SELECT b.product_id, count(DISTINCT a.order_id) AS orders, max(b.created_at) AS latest "
        "FROM order_lines a JOIN order_lines b "
        "ON b.order_id = a.order_id AND b.product_id <> a.product_id "
        f"WHERE a.product_id IN ({marks}) AND a.created_at > ? AND a.quantity > 0 "
        f"AND b.quantity > 0 AND b.product_id NOT IN ({marks}) "
        "GROUP BY b.product_id HAVING count(DISTINCT a.order_id) >= ? "
        "ORDER BY orders DESC, latest DESC, b.product_id LIMIT ?",
        [*ids, since, *ids, int(min_orders), int(limit)],
    ).fetchall()
    return [(str(row[0]), int(row[1])) for row in rows]


def orders_holding_since(
    db: sqlite_utils.Database, since: str, product_ids: Sequence[str] | None = None
) -> tuple[int, dict[str, int]]:
    """(orders with a purchase line newer than `since`, per product id: how many of them
    hold it), for `product_ids` or (None) every product bought since."""
    total = int(
        db.execute(
            "SELECT count(DISTINCT order_id) FROM order_lines "
            "WHERE created_at > ? AND quantity > 0",
            (since,),
        ).fetchone()[0]
    )
    ids = None if product_ids is None else list(dict.fromkeys(product_ids))
    if ids == []:
        return total, {}
    among = "" if ids is None else f" AND product_id IN ({', '.join('?' for _ in ids)})"
    rows = db.execute(
        "SELECT product_id, count(DISTINCT order_id) FROM order_lines "
        f"WHERE created_at > ? AND quantity > 0{among} GROUP BY product_id",
        [since, *(ids or [])],
    ).fetchall()
    return total, {str(row[0]): int(row[1]) for row in rows}


def orders_holding_any_since(
    db: sqlite_utils.Database, since: str, product_ids: Sequence[str]
) -> int:
    """Orders with a line newer than `since` holding any of `product_ids`."""
    ids = list(dict.fromkeys(product_ids))
    if not ids:
        return 0
    marks = ", ".join("?" for _ in ids)
    row = db.execute(
        "SELECT count(DISTINCT order_id) FROM order_lines "
        f"WHERE created_at > ? AND quantity > 0 AND product_id IN ({marks})",
        [since, *ids],
    ).fetchone()
    return int(row[0])


def purchases_since(db: sqlite_utils.Database, since: str) -> list[tuple[str, str]]:
    """(product id, order time) once per paid order and product bought after `since` (ISO UTC):
    the purchases a model trained at `since` has not counted (read_purchase_lines' filter)."""
    rows = db.execute(
        "SELECT l.product_id, min(l.created_at) FROM order_lines l "
        "JOIN orders o ON o.order_id = l.order_id "
        "WHERE l.created_at > ? AND l.quantity > 0 AND o.status = 'paid' "
        "GROUP BY l.order_id, l.product_id",
        (since,),
    ).fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


def order_lines_stamp(db: sqlite_utils.Database) -> int:
    """A number that grows whenever an order line is stored (the table's newest rowid):
    answers built from recent orders are keyed by it."""
    return int(db.execute("SELECT coalesce(max(rowid), 0) FROM order_lines").fetchone()[0])


def orders_received_since(db: sqlite_utils.Database, since: str) -> int:
    """Orders stored or updated after `since` (ISO UTC): orders.updated_at is when the store
    received the order, so an import of old orders counts."""
    return int(
        db.execute("SELECT count(*) FROM orders WHERE updated_at > ?", (since,)).fetchone()[0]
    )


def order_totals(db: sqlite_utils.Database, start: str, end: str) -> dict[str, float]:
    """Each paid order created in [start, end) with its total (purchase lines, returns not
    taken off): the store's revenue and order values the recommendations are compared with."""
    rows = db.execute(
        "SELECT l.order_id, sum(l.quantity * l.unit_price) FROM order_lines l "
        "JOIN orders o ON o.order_id = l.order_id "
        "WHERE o.status = 'paid' AND l.quantity > 0 AND l.created_at >= ? AND l.created_at < ? "
        "GROUP BY l.order_id",
        (start, end),
    ).fetchall()
    return {str(order_id): float(total or 0.0) for order_id, total in rows}


def latest_paid_order_id(db: sqlite_utils.Database, customer_id: str) -> str | None:
    """The id of the customer's newest paid order (None without one): a win-back timer
    belongs to the latest order only."""
    row = db.execute(
        "SELECT order_id FROM orders WHERE customer_id = ? AND status = 'paid' "
        "ORDER BY created_at DESC, order_id DESC LIMIT 1",
        (customer_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def paid_order_since(db: sqlite_utils.Database, customer_id: str, since: str) -> bool:
    """Whether the customer has a paid order created at or after `since` (ISO UTC): a
    purchase after the views ends a browse campaign."""
    row = db.execute(
        "SELECT 1 FROM orders WHERE customer_id = ? AND status = 'paid' AND created_at >= ? "
        "LIMIT 1",
        (customer_id, since),
    ).fetchone()
    return row is not None


def newer_paid_order(db: sqlite_utils.Database, customer_id: str, order_id: str) -> bool:
    """Whether the customer has a paid order created after order `order_id`."""
    row = db.execute(
        "SELECT 1 FROM orders o, orders a WHERE a.order_id = ? AND o.customer_id = ? "
        "AND o.status = 'paid' AND o.order_id != a.order_id AND o.created_at > a.created_at "
        "LIMIT 1",
        (order_id, customer_id),
    ).fetchone()
    return row is not None


ORDER_HEADER_FIELDS: tuple[str, ...] = ("order_id", "customer_id", "created_at", "status")


def get_order_header(db: sqlite_utils.Database, order_id: str) -> dict[str, Any] | None:
    """One stored order's id, customer, created_at and status, or None."""
    row = db.execute(
        f"SELECT {', '.join(ORDER_HEADER_FIELDS)} FROM orders WHERE order_id = ?",
        (str(order_id),),
    ).fetchone()
    return None if row is None else dict(zip(ORDER_HEADER_FIELDS, row, strict=True))


def largest_line_product(db: sqlite_utils.Database, order_id: str) -> str | None:
    """The product of the order's largest purchase line (what a post-purchase email is about)."""
    row = db.execute(
        "SELECT product_id FROM order_lines WHERE order_id = ? AND quantity > 0 "
        "ORDER BY unit_price * quantity DESC, line_key LIMIT 1",
        (order_id,),
    ).fetchone()
    return row[0] if row else None


def newest_line_at(db: sqlite_utils.Database) -> str | None:
    """created_at of the newest order line (None for a store without orders)."""
    row = db.execute("SELECT max(created_at) FROM order_lines").fetchone()
    return None if row[0] is None else str(row[0])


def ordering_customer_ids(db: sqlite_utils.Database) -> list[str]:
    """Every customer id with at least one order, in the store's order."""
    rows = db.execute("SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL")
    return [r[0] for r in rows]


def customer_purchase_lines(
    db: sqlite_utils.Database, start: str, end: str
) -> list[tuple[str, str, str]]:
    """(customer id, product id, created_at) of known customers' paid purchase lines created
    in [start, end), oldest first."""
    rows = db.execute(
        "SELECT l.customer_id, l.product_id, l.created_at FROM order_lines l "
        "JOIN orders o ON o.order_id = l.order_id WHERE l.quantity > 0 AND o.status = 'paid' "
        "AND l.customer_id IS NOT NULL AND l.created_at >= ? AND l.created_at < ? "
        "ORDER BY l.created_at, l.order_id, l.line_key",
        (start, end),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]
