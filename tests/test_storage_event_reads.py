"""The serving path's reads of events by shopper use an index on that shopper, not a walk.

SQLite's planner, given events(type, ts, ...) beside events(session_id, ts), picked the type
index for "what did this session view" and read every view of the shop per request; the
plan is checked here on the real statements (EXPLAIN QUERY PLAN of what the reads execute).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlite_utils

from storage.events import dismissed_products, insert_events, session_viewed_products


def plans_of(db: sqlite_utils.Database, read: Callable[[], Any]) -> list[str]:
    """The query plan lines of every SELECT that `read` executes on `db`."""
    if getattr(db, "is_postgres", False):
        pytest.skip("query plans are SQLite's (EXPLAIN QUERY PLAN); PostgreSQL plans its own")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        read()
    finally:
        db.conn.set_trace_callback(None)
    lines: list[str] = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            lines += [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
    assert lines, statements
    return lines


def _seed(db: sqlite_utils.Database) -> None:
    insert_events(
        db,
        [
            {
                "ts": f"2026-01-01T00:00:{n:02d}",
                "type": kind,
                "product_id": f"p{n}",
                "session_id": f"s{n % 3}",
                "customer_id": f"c{n % 2}",
                "visitor_id": f"v{n % 2}",
            }
            for n in range(20)
            for kind in ("view", "impression", "dismiss")
        ],
    )


def test_session_views_are_read_through_the_session_index(
    shop_db: sqlite_utils.Database,
) -> None:
    _seed(shop_db)
    assert session_viewed_products(shop_db, "s1")[:2] == ["p19", "p16"]
    plan = plans_of(shop_db, lambda: session_viewed_products(shop_db, "s1"))
    searches = [line for line in plan if line.startswith(("SEARCH", "SCAN"))]
    assert searches == ["SEARCH events USING INDEX events_session_type (session_id=? AND type=?)"]


@pytest.mark.parametrize(
    ("who", "index"),
    [
        ({"customer_id": "c1"}, "events_customer_type (customer_id=? AND type=?)"),
        ({"session_id": "s1"}, "events_session_type (session_id=? AND type=?)"),
        ({"visitor_id": "v1"}, "events_visitor (visitor_id=? AND type=?)"),
    ],
)
def test_dismissals_are_read_through_the_shoppers_index(
    shop_db: sqlite_utils.Database, who: dict[str, str], index: str
) -> None:
    _seed(shop_db)
    args = {"customer_id": None, "session_id": None, **who}
    assert dismissed_products(shop_db, **args)
    plan = plans_of(shop_db, lambda: dismissed_products(shop_db, **args))
    searches = [line for line in plan if line.startswith(("SEARCH", "SCAN"))]
    assert searches == [f"SEARCH events USING INDEX {index}"]
