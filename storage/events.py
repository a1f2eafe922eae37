"""Storefront events (view, add_to_cart, impression, click, dismiss), deduplicated by event_key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import sqlite_utils

from storage.frames import read_frame

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
    "visitor_id",
)
# The columns hashed into event_key: visitor_id (migration 4) joins the hash only when set,
# so an event imported before it existed gets the same key when imported again.
_KEY_COLUMNS = EVENT_COLUMNS[1:-1]


def event_key_for(event: Mapping[str, Any]) -> str:
    """A content hash: the same event imported or beaconed twice is stored once."""
    parts = [str(event.get(c) or "") for c in _KEY_COLUMNS]
    if event.get("visitor_id"):
        parts.append(str(event["visitor_id"]))
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
    return read_frame(db, sql + " ORDER BY ts", params)


def dismissed_products(
    db: sqlite_utils.Database,
    customer_id: str | None,
    session_id: str | None,
    visitor_id: str | None = None,
) -> set[str]:
    """Products this shopper dismissed, by customer id, browser (visitor id) or session.

    The visitor id outlives the session, so an anonymous shopper's dismissal lasts across
    visits from the same browser.
    """
    who = [
        (column, value)
        for column, value in (
            ("customer_id", customer_id),
            ("visitor_id", visitor_id),
            ("session_id", session_id),
        )
        if value
    ]
    if not who:
        return set()
    # One indexed SELECT per id, not an OR the planner would answer with a scan; UNION ALL,
    # as the set below drops repeats without SQLite's temporary B-tree.
    sql = " UNION ALL ".join(
        f"SELECT product_id FROM events WHERE {column} = ? AND type = 'dismiss'"
        for column, _ in who
    )
    return {r[0] for r in db.execute(sql, [value for _, value in who]).fetchall()}


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


def impression_counts(db: sqlite_utils.Database, since: str) -> dict[str, int]:
    """Product id -> impressions recorded since `since` (ISO-8601 UTC).

    Exploration gives slots to relevant products that shoppers rarely get to see; serving
    reads this per shop and keeps it for a minute (serving.cache.ExpiringValues).
    """
    rows = db.execute(
        "SELECT product_id, count(*) FROM events WHERE ts >= ? AND type = 'impression' "
        "AND product_id IS NOT NULL GROUP BY product_id",
        (since,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def events_since(db: sqlite_utils.Database, since: str) -> int:
    """Storefront events with ts after `since` (ISO UTC)."""
    return int(db.execute("SELECT count(*) FROM events WHERE ts > ?", (since,)).fetchone()[0])


def has_request_events(db: sqlite_utils.Database, request_id: str) -> bool:
    """Whether any event was stored for this request id."""
    row = db.execute("SELECT 1 FROM events WHERE request_id = ? LIMIT 1", (request_id,))
    return row.fetchone() is not None


def viewers_since(db: sqlite_utils.Database, since: str) -> list[tuple[str, str, str]]:
    """(customer id, first view ts, last view ts) of every known shopper who viewed a product
    at or after `since` (ISO UTC)."""
    rows = db.execute(
        "SELECT customer_id, min(ts), max(ts) FROM events "
        "WHERE type = 'view' AND customer_id IS NOT NULL AND ts >= ? GROUP BY customer_id",
        (since,),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def product_viewed_at(db: sqlite_utils.Database, customer_id: str, ts: str) -> str | None:
    """A product the customer viewed at exactly `ts`, or None."""
    row = db.execute(
        "SELECT product_id FROM events WHERE customer_id = ? AND type = 'view' AND ts = ? LIMIT 1",
        (customer_id, ts),
    ).fetchone()
    return row[0] if row else None
