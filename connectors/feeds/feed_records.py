"""What a feed parser hands back: batches of canonical records and a tally of every row.

Parsers never touch the store (connectors import no storage); the worker writes each batch.
Records use the store's column names; order lines are tuples in the order of
`ORDER_LINE_FIELDS`, which equals storage.orders.LINE_COLUMNS (a test pins the two).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ORDER_LINE_FIELDS: tuple[str, ...] = (
    "order_id",
    "line_key",
    "product_id",
    "customer_id",
    "created_at",
    "quantity",
    "unit_price",
)
# How many rejection reasons are kept in memory; later ones are only counted, so a
# million-line file of garbage cannot exhaust memory.
DEFAULT_REASONS_KEPT = 10


@dataclass
class FeedBatch:
    """Canonical records parsed from a run of rows, ready to be upserted together."""

    products: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    # Customers as an order names them (WooCommerce billing, Shopify order.customer): used
    # only to create a customer the store does not know yet. Billing details belong to that
    # order, so they never rewrite a known account's email or names (those come from the
    # customer resource itself: customer webhooks and the customers sync).
    order_customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    order_lines: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.products)
            + len(self.customers)
            + len(self.order_customers)
            + len(self.orders)
            + len(self.order_lines)
            + len(self.events)
        )


@dataclass
class FeedTally:
    """Every data row of a feed ends up counted here: accepted, skipped or rejected."""

    reasons_kept: int = DEFAULT_REASONS_KEPT
    rows_read: int = 0
    rows_rejected: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    first_rejections: list[str] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        """Count a malformed row, keeping its reason only while fewer than reasons_kept are."""
        self.rows_rejected += 1
        if len(self.first_rejections) < self.reasons_kept:
            self.first_rejections.append(f"line {line}: {reason}")

    @property
    def rows_skipped(self) -> int:
        """Well-formed rows deliberately not stored (non-product lines, adjustments...)."""
        return sum(self.skipped.values())
