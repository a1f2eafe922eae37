"""Erasing one customer's personal data (Shopify customers/redact, GDPR erasure requests).

What goes: the customer row, their behavioural events (those carrying their customer id, and
the anonymous ones of every browser - visitor id - they were seen logged in with: the widget
ties those to them), the link from their orders and order lines to them (customer_id set
NULL, country blanked), and the raw bodies of stored webhook receipts that hold their email
address. What stays: anonymous order lines (product, time,
quantity, price), which carry no personal data and keep co-purchase statistics intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from storage.deliveries import erase_campaign_data


@dataclass(frozen=True)
class RedactionCounts:
    """Rows touched by one redaction, for the receipt summary and the audit log."""

    customers: int
    events: int
    orders: int
    order_lines: int
    receipt_bodies: int


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)


def _visitors_of(id_list: Sequence[str]) -> str:
    """A subquery: the visitor ids (browsers) these customers were seen with."""
    return (
        "SELECT DISTINCT visitor_id FROM events WHERE visitor_id IS NOT NULL "
        f"AND customer_id IN ({_marks(id_list)})"
    )


def resolve_customer_ids(
    db: sqlite_utils.Database, customer_id: str | None, email: str | None
) -> list[str]:
    """The customer ids a request means: the id it gives plus those stored with its email."""
    ids = {customer_id} if customer_id else set()
    if email:
        ids.update(
            r[0] for r in db.execute("SELECT customer_id FROM customers WHERE email = ?", (email,))
        )
    return sorted(ids)


def redact_customer(
    db: sqlite_utils.Database,
    customer_id: str | None,
    email: str | None,
    order_ids: Sequence[str] = (),
) -> RedactionCounts:
    """Erase a customer known by id and/or email (both are used: some requests carry only
    the email), plus the given orders' link to any buyer, in one transaction."""
    id_list = resolve_customer_ids(db, customer_id, email)
    orders = list(dict.fromkeys(order_ids))
    conn = db.conn
    with conn:
        customers = events = order_rows = line_rows = bodies = 0
        if id_list:
            marks = _marks(id_list)
            customers = conn.execute(
                f"DELETE FROM customers WHERE customer_id IN ({marks})", id_list
            ).rowcount
            # First the anonymous events of their browsers (found through their own events,
            # so before those go); another customer's events on a shared browser stay theirs.
            events = conn.execute(
                "DELETE FROM events WHERE customer_id IS NULL "
                f"AND visitor_id IN ({_visitors_of(id_list)})",
                id_list,
            ).rowcount
            events += conn.execute(
                f"DELETE FROM events WHERE customer_id IN ({marks})", id_list
            ).rowcount
            order_rows = conn.execute(
                f"UPDATE orders SET customer_id = NULL, country = '' "
                f"WHERE customer_id IN ({marks})",
                id_list,
            ).rowcount
            line_rows = conn.execute(
                f"UPDATE order_lines SET customer_id = NULL WHERE customer_id IN ({marks})",
                id_list,
            ).rowcount
        if orders:
            marks = _marks(orders)
            order_rows += conn.execute(
                f"UPDATE orders SET customer_id = NULL, country = '' "
                f"WHERE order_id IN ({marks}) AND (customer_id IS NOT NULL OR country != '')",
                orders,
            ).rowcount
            line_rows += conn.execute(
                f"UPDATE order_lines SET customer_id = NULL "
                f"WHERE order_id IN ({marks}) AND customer_id IS NOT NULL",
                orders,
            ).rowcount
        if email:
            bodies = conn.execute(
                "UPDATE webhook_receipts SET body = X'' WHERE instr(body, ?) > 0",
                (email.encode("utf-8"),),
            ).rowcount
    # Campaign timers and delivery payloads hold the email address and the rendered block.
    erase_campaign_data(db, id_list)
    return RedactionCounts(customers, events, order_rows, line_rows, bodies)


def export_customer_data(
    db: sqlite_utils.Database,
    customer_id: str | None,
    email: str | None,
    order_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the store holds about a customer (Shopify customers/data_request): the
    customer rows, their orders with lines (plus the orders the request names) and events
    (their own and their browsers' anonymous ones: what an erasure would delete)."""
    id_list = resolve_customer_ids(db, customer_id, email)
    customers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    order_set = set(order_ids)
    if id_list:
        marks = _marks(id_list)
        customers = list(
            db.query(f"SELECT * FROM customers WHERE customer_id IN ({marks})", id_list)
        )
        events = list(
            db.query(
                f"SELECT * FROM events WHERE customer_id IN ({marks}) OR (customer_id IS NULL "
                f"AND visitor_id IN ({_visitors_of(id_list)})) ORDER BY ts, event_id",
                [*id_list, *id_list],
            )
        )
        order_set.update(
            r[0]
            for r in db.execute(
                f"SELECT order_id FROM orders WHERE customer_id IN ({marks})", id_list
            )
        )
    orders: list[dict[str, Any]] = []
    for order_id in sorted(order_set):
        rows = list(db.query("SELECT * FROM orders WHERE order_id = ?", [order_id]))
        if not rows:
            continue
        order = dict(rows[0])
        order["lines"] = list(
            db.query(
                "SELECT line_key, product_id, quantity, unit_price, created_at "
                "FROM order_lines WHERE order_id = ? ORDER BY line_key",
                [order_id],
            )
        )
        orders.append(order)
    return {"customers": customers, "orders": orders, "events": events}
