"""Schema for completed checkouts reported by the storefront: which visitor placed which order.

A platform's order webhook names the customer when there is one, never the browser: a guest
order cannot be tied to the recommendation clicks that led to it. The Shopify web pixel's
`checkout_completed` (and any storefront that reports one) links the order id to the visitor
and session ids the widget kept, so attribution (storage.attribution) can credit guest orders
too. One row per (order, visitor): a reload of the thank-you page reports it again.
"""

SQL = """
CREATE TABLE checkouts (
    order_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    session_id TEXT,
    ts TEXT NOT NULL,
    PRIMARY KEY (order_id, visitor_id)
) STRICT;
CREATE INDEX checkouts_visitor ON checkouts(visitor_id);
CREATE INDEX checkouts_ts ON checkouts(ts);
"""
