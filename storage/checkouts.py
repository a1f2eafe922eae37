"""Completed checkouts the storefront reported: an order id tied to the visitor who placed it.

Only attribution reads them (storage.attribution): nothing is served from a checkout row, so a
forged report can at worst move revenue between recommendation figures, never show anyone a
shopper's purchases. Rows carry no customer id and are purged with the raw events
(storage.retention).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

# The event type the storefront reports a completed checkout with (not a product event).
CHECKOUT = "checkout"


def insert_checkouts(db: sqlite_utils.Database, rows: Iterable[Mapping[str, Any]]) -> int:
    """Store (order_id, visitor_id, session_id, ts) rows not seen before; return how many were
    new. A second report of the same order by the same visitor is ignored."""
    values = [(r["order_id"], r["visitor_id"], r.get("session_id"), r["ts"]) for r in rows]
    before = db.conn.total_changes
    with db.conn:
        db.conn.executemany(
            "INSERT OR IGNORE INTO checkouts (order_id, visitor_id, session_id, ts) "
            "VALUES (?, ?, ?, ?)",
            values,
        )
    return db.conn.total_changes - before


def delete_checkouts_before(db: sqlite_utils.Database, cutoff: str, limit: int) -> int:
    """Delete at most `limit` checkout rows with ts < cutoff in one short transaction."""
    with db.conn:
        return db.conn.execute(
            "DELETE FROM checkouts WHERE rowid IN "
            "(SELECT rowid FROM checkouts WHERE ts < ? ORDER BY ts LIMIT ?)",
            (cutoff, int(limit)),
        ).rowcount
