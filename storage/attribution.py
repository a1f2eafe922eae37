"""Revenue attributed to recommendations: last click within the window, net of returns.

The rule: a click on a recommended product, followed within the attribution window
(24 h by default) by a purchase of that product by the same customer, or by the customer the
clicking visitor later turned out to be, credits that order line's revenue to the click's
context, slot, strategy and experiment variant.

- Last click wins: when several clicks on the product precede the purchase inside the window,
  the latest one takes all the credit. It is the click that brought the shopper back to the
  product, and it credits exactly one recommendation, so per-context figures add up to the
  total instead of counting the same money twice.
- Net of returns: a return line (negative quantity) of the same customer and product takes
  quantity back from that customer's latest purchase of the product before the return, then
  from earlier ones; an attributed line keeps quantity x unit price of what was not returned.
- Guest orders carry no customer id and no visitor id. They are tied to a click when the
  storefront reported the checkout (storage.checkouts: the Shopify web pixel's
  checkout_completed names the order and the widget's visitor id); otherwise they cannot be.
- The variant is recomputed from the click's visitor id (storage.experiments.assign_variant)
  instead of being stored with the event: the split is frozen once the experiment runs (an
  automatic one's moves only for visitors not yet exposed: storage.experiment_allocation),
  so the hash gives the variant the visitor was served, a forged or stale beacon cannot move a
  click into another arm, and the events writer needs no experiment columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso
from storage.experiment_allocation import ArmResolver
from storage.experiments import Experiment, list_experiments
from storage.shop_settings import get_shop_setting

WINDOW_SETTING = "attribution_window_hours"
MAX_WINDOW_HOURS = 24 * 30


@dataclass(frozen=True)
class AttributedLine:
    """One purchase line credited to one click; revenue is net of returns."""

    order_id: str
    line_key: str
    product_id: str
    customer_id: str
    purchased_at: str
    quantity: int
    net_quantity: int
    unit_price: float
    click_event_id: int
    click_ts: str
    context: str | None
    slot: str | None
    strategy: str | None
    visitor_id: str | None
    session_id: str | None
    request_id: str | None
    experiment_id: int | None = None
    variant: str | None = None

    @property
    def revenue(self) -> float:
        """Net revenue of the line: what was bought and kept."""
        return self.net_quantity * self.unit_price


def attribution_window_hours(db: sqlite_utils.Database, default: int) -> int:
    """The shop's window ("attribution_window_hours" in its settings), else `default`."""
    value = get_shop_setting(db, WINDOW_SETTING, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WINDOW_HOURS:
        return default
    return value


# Clicks that could still count for a purchase in [start, end) (from start - window on), each
# under every customer id it stands for: its own, and those its visitor id was seen with. Each
# click then finds the same customer's lines of the same product bought inside its window
# (order_lines_customer_product), and the lines of the same product in orders its visitor was
# reported checking out (checkouts: guest orders); the window function keeps each line's
# latest click.
# Reads: events_type_ts for the clicks, events_visitor for the links.
_LAST_CLICK_SQL = """
WITH clicks AS MATERIALIZED (
    SELECT event_id, ts, product_id, customer_id, visitor_id, context, slot, strategy,
           session_id, request_id
    FROM events WHERE type = 'click' AND ts >= :click_start AND ts < :end
),
linked AS MATERIALIZED (
    SELECT DISTINCT e.visitor_id, e.customer_id FROM events e
    WHERE e.visitor_id IN (SELECT visitor_id FROM clicks WHERE visitor_id IS NOT NULL)
      AND e.customer_id IS NOT NULL
),
buyers AS (
    SELECT clicks.*, clicks.customer_id AS buyer FROM clicks WHERE customer_id IS NOT NULL
    UNION
    SELECT clicks.*, linked.customer_id AS buyer FROM clicks
    JOIN linked ON linked.visitor_id = clicks.visitor_id
),
checked_out AS MATERIALIZED (
    SELECT DISTINCT k.order_id, k.visitor_id FROM checkouts k
    WHERE k.visitor_id IN (SELECT visitor_id FROM clicks WHERE visitor_id IS NOT NULL)
),
matched AS (
    SELECT l.order_id, l.line_key, b.event_id FROM buyers b
    JOIN order_lines l
      ON l.customer_id = b.buyer AND l.product_id = b.product_id
     AND l.created_at >= b.ts AND l.created_at <= strftime('%Y-%m-%dT%H:%M:%S', b.ts, :window)
    UNION
    SELECT l.order_id, l.line_key, c.event_id FROM clicks c
    JOIN checked_out k ON k.visitor_id = c.visitor_id
    JOIN order_lines l
      ON l.order_id = k.order_id AND l.product_id = c.product_id
     AND l.created_at >= c.ts AND l.created_at <= strftime('%Y-%m-%dT%H:%M:%S', c.ts, :window)
),
candidates AS (
    SELECT l.order_id, l.line_key, l.product_id, l.customer_id, l.created_at, l.quantity,
           l.unit_price, c.event_id, c.ts, c.context, c.slot, c.strategy, c.visitor_id,
           c.session_id, c.request_id,
           row_number() OVER (
               PARTITION BY l.order_id, l.line_key ORDER BY c.ts DESC, c.event_id DESC
           ) AS latest
    FROM matched m
    JOIN clicks c ON c.event_id = m.event_id
    JOIN order_lines l ON l.order_id = m.order_id AND l.line_key = m.line_key
    JOIN orders o ON o.order_id = l.order_id
    WHERE l.quantity > 0 AND o.status = 'paid' AND l.created_at >= :start AND l.created_at < :end
)
SELECT order_id, line_key, product_id, customer_id, created_at, quantity, unit_price,
       event_id, ts, context, slot, strategy, visitor_id, session_id, request_id
FROM candidates WHERE latest = 1
ORDER BY created_at, order_id, line_key
"""


def attributed_lines(
    db: sqlite_utils.Database, start: str, end: str, window_hours: int
) -> list[AttributedLine]:
    """Purchase lines bought in [start, end) credited to their last click, net of returns,
    each with the experiment variant its visitor was in (when an experiment covered the click).

    Args:
        start, end: ISO-8601 UTC bounds on the purchase time (text compare).
        window_hours: how long after a click a purchase still counts.
    """
    hours = int(window_hours)
    click_start = (
        db.execute(
            "SELECT strftime('%Y-%m-%dT%H:%M:%S', ?, ?)", (start, f"-{hours} hours")
        ).fetchone()[0]
        or start
    )
    params = {"start": start, "end": end, "click_start": click_start, "window": f"+{hours} hours"}
    rows = db.execute(_LAST_CLICK_SQL, params).fetchall()
    lines = [
        AttributedLine(
            order_id=r[0],
            line_key=r[1],
            product_id=r[2],
            customer_id=r[3],
            purchased_at=r[4],
            quantity=r[5],
            net_quantity=r[5],
            unit_price=r[6],
            click_event_id=r[7],
            click_ts=r[8],
            context=r[9],
            slot=r[10],
            strategy=r[11],
            visitor_id=r[12],
            session_id=r[13],
            request_id=r[14],
        )
        for r in rows
    ]
    if not lines:
        return []
    lines = _net_of_returns(db, lines)
    return _with_variants(db, lines, list_experiments(db))


def _net_of_returns(
    db: sqlite_utils.Database, lines: Sequence[AttributedLine]
) -> list[AttributedLine]:
    """Take returned quantity off each line: every return eats the latest purchase before it.

    A customer's returns are matched across their orders; a guest order's (no customer id)
    only inside that order, where the platform records its refunded lines."""
    history: dict[tuple[str, str, str], list[tuple[str, str, int]]] = defaultdict(list)
    known = sorted({(x.customer_id, x.product_id) for x in lines if x.customer_id is not None})
    guests = sorted({(x.order_id, x.product_id) for x in lines if x.customer_id is None})
    for owner, pairs in (("customer_id", known), ("order_id", guests)):
        for who, product, at, key, quantity in _purchases_and_returns(db, owner, pairs):
            history[(owner, who, product)].append((at, key, quantity))
    kept: dict[str, int] = {}
    for events in history.values():
        bought: list[tuple[str, int]] = []  # [key, quantity still kept], oldest first
        for _, key, quantity in events:
            if quantity > 0:
                bought.append((key, quantity))
                continue
            to_return = -quantity
            for index in range(len(bought) - 1, -1, -1):
                if to_return == 0:
                    break
                key_bought, left = bought[index]
                taken = min(left, to_return)
                bought[index] = (key_bought, left - taken)
                to_return -= taken
        kept.update(dict(bought))
    return [
        replace(line, net_quantity=kept.get(f"{line.order_id}\x1f{line.line_key}", line.quantity))
        for line in lines
    ]


def _purchases_and_returns(
    db: sqlite_utils.Database, owner: str, pairs: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str, str, int]]:
    """(owner, product, created_at, line key, quantity) of the paid purchases and the returns
    of each (owner, product) pair, oldest first. `owner` is "customer_id" (a customer's lines
    in every order) or "order_id" (a guest order's own lines)."""
    match = (
        "l.customer_id = ?"
        if owner == "customer_id"
        else "l.customer_id IS NULL AND l.order_id = ?"
    )
    found: list[tuple[str, str, str, str, int]] = []
    for chunk in _chunks(list(pairs), 400):
        condition = " OR ".join(f"({match} AND l.product_id = ?)" for _ in chunk)
        sql = (
            f"SELECT l.{owner}, l.product_id, l.created_at, "
            "l.order_id || '\x1f' || l.line_key, l.quantity "
            "FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
            f"WHERE ({condition}) AND (l.quantity < 0 OR o.status = 'paid')"
        )
        found.extend(db.execute(sql, [v for p in chunk for v in p]).fetchall())
    return sorted(found, key=lambda row: (row[2], -row[4]))


def experiment_covering(
    experiments: Iterable[Experiment], context: str | None, ts: str
) -> Experiment | None:
    """The experiment that was running for `context` at time `ts`, if any."""
    for experiment in experiments:
        if experiment.started_at is None or ts < experiment.started_at:
            continue
        if experiment.stopped_at is not None and ts >= experiment.stopped_at:
            continue
        if experiment.context in ("all", context):
            return experiment
    return None


def _with_variants(
    db: sqlite_utils.Database, lines: Sequence[AttributedLine], experiments: Sequence[Experiment]
) -> list[AttributedLine]:
    if not experiments:
        return list(lines)
    resolvers: dict[int, ArmResolver] = {}
    now = utc_now_iso()
    out = []
    for line in lines:
        experiment = experiment_covering(experiments, line.context, line.click_ts)
        if experiment is None or not line.visitor_id:
            out.append(line)
            continue
        resolver = resolvers.get(experiment.experiment_id)
        if resolver is None:
            resolver = resolvers[experiment.experiment_id] = ArmResolver(db, experiment, now)
        variant = resolver.arm(line.visitor_id)
        out.append(replace(line, experiment_id=experiment.experiment_id, variant=variant))
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]
