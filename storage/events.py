"""Storefront events (view, add_to_cart, impression, click, dismiss), deduplicated by event_key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import sqlite_utils

EVENT_TYPES: tuple[str, ...] = ("view", "add_to_cart", "impression", "click", "dismiss")
EVENT_COLUMNS: tuple[str, ...] = (
    "event_key",
    "ts",
    "customer_id",
    "session_id",
    "type",
    "product_id",
    "context",
    "slot",
    "strategy",
    "request_id",
    "position",
)


def event_key_for(event: Mapping[str, Any]) -> str:
    """A content hash: the same event imported or beaconed twice is stored once."""
    parts = [str(event.get(c) or "") for c in EVENT_COLUMNS[1:]]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def insert_events(db: sqlite_utils.Database, events: Iterable[Mapping[str, Any]]) -> int:
    """Store events not seen before; return how many were new."""
    rows = []
    for event in events:
        key = event.get("event_key") or event_key_for(event)
        rows.append(tuple([key] + [event.get(c) for c in EVENT_COLUMNS[1:]]))
    sql = (
        f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
    )
    before = db.conn.total_changes
    with db.conn:
        db.conn.executemany(sql, rows)
    return db.conn.total_changes - before


def read_events_frame(
    db: sqlite_utils.Database,
    types: Iterable[str] = ("view", "add_to_cart"),
    before: str | None = None,
) -> pd.DataFrame:
    """Events of the given types as a DataFrame (ts, customer_id, session_id, type, product_id)."""
    kinds = list(types)
    sql = (
        "SELECT ts, customer_id, session_id, type, product_id FROM events "
        f"WHERE type IN ({', '.join('?' for _ in kinds)})"
    )
    params: list[Any] = list(kinds)
    if before is not None:
        sql += " AND ts < ?"
        params.append(before)
    return pd.read_sql_query(sql + " ORDER BY ts", db.conn, params=params)


def dismissed_products(
    db: sqlite_utils.Database, customer_id: str | None, session_id: str | None
) -> set[str]:
    """Products this shopper (by customer id or session) dismissed."""
    if not customer_id and not session_id:
        return set()
    rows = db.execute(
        "SELECT DISTINCT product_id FROM events WHERE type = 'dismiss' "
        "AND ((? IS NOT NULL AND customer_id = ?) OR (? IS NOT NULL AND session_id = ?))",
        (customer_id, customer_id, session_id, session_id),
    ).fetchall()
    return {r[0] for r in rows}


def session_viewed_products(
    db: sqlite_utils.Database, session_id: str | None, limit: int = 20
) -> list[str]:
    """Products viewed in this session, most recent first (for cold-start personalisation)."""
    if not session_id:
        return []
    rows = db.execute(
        "SELECT product_id, max(ts) AS last FROM events WHERE session_id = ? AND type = 'view' "
        "GROUP BY product_id ORDER BY last DESC LIMIT ?",
        (session_id, int(limit)),
    ).fetchall()
    return [r[0] for r in rows]


def last_viewed_product(db: sqlite_utils.Database, customer_id: str) -> str | None:
    """The product this customer viewed last (anchor of a browse-abandonment email)."""
    row = db.execute(
        "SELECT product_id FROM events WHERE customer_id = ? AND type = 'view' "
        "AND product_id IS NOT NULL ORDER BY ts DESC, event_id DESC LIMIT 1",
        (customer_id,),
    ).fetchone()
    return row[0] if row else None
