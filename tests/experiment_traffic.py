"""A finished experiment whose variant wins clicks and loses sales, written as real rows.

Impressions and clicks are storefront events; a converting session's click carries its
customer and is followed by a paid order of the clicked product, so the admin's own
attribution (last click within the window) credits the revenue to the variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from storage.events import insert_events
from storage.experiments import assign_variant, create_experiment, get_experiment

START, STOP = "2024-03-01T00:00:00", "2024-03-05T00:00:00"
IMPRESSIONS_PER_SESSION = 4


@dataclass(frozen=True)
class Arm:
    """How one variant's sessions behave: click and conversion counts, revenue per order."""

    clicks: int
    conversions: int
    order_value: float


def simulate_clicks_up_revenue_down(
    db: sqlite_utils.Database, sessions: int = 800, context: str = "product"
) -> int:
    """A stopped control/content experiment: content's CTR +50%, conversion -12%, revenue per
    session about -21%. Returns the experiment id."""
    experiment_id = create_experiment(
        db,
        "content-heavy product page",
        context,
        [
            {"name": "control", "profile": {}},
            {"name": "content", "profile": {"weights": {"product": {"content": 1.0}}}},
        ],
        min_detectable_effect=0.5,
    )
    db.execute(
        "UPDATE experiments SET status = 'stopped', started_at = ?, stopped_at = ? "
        "WHERE experiment_id = ?",
        (START, STOP, experiment_id),
    )
    db.conn.commit()
    experiment = get_experiment(db, experiment_id)
    arms = {
        "control": Arm(sessions * 30 // 100, sessions * 25 // 100, order_value=50.0),
        "content": Arm(sessions * 45 // 100, sessions * 22 // 100, order_value=45.0),
    }
    visitors: dict[str, list[str]] = {"control": [], "content": []}
    n = 0
    while min(len(v) for v in visitors.values()) < sessions:
        visitor = f"xp-visitor-{n}"
        n += 1
        arm = assign_variant(experiment, visitor)
        if arm in visitors and len(visitors[arm]) < sessions:
            visitors[arm].append(visitor)
    events, orders, lines = [], [], []
    for name, members in visitors.items():
        behaviour = arms[name]
        for i, visitor in enumerate(members):
            session = f"{visitor}-s"
            customer = f"xp-customer-{visitor}"
            base = {"context": context, "visitor_id": visitor, "session_id": session}
            for k in range(IMPRESSIONS_PER_SESSION):
                events.append(
                    {**base, "type": "impression", "product_id": f"xp-p{k}",
                     "ts": f"2024-03-02T10:00:{k:02d}"}
                )  # fmt: skip
            converts = i < behaviour.conversions
            if i < behaviour.clicks:
                events.append(
                    {**base, "type": "click", "product_id": "xp-p0", "ts": "2024-03-02T10:01:00",
                     "customer_id": customer if converts else None}
                )  # fmt: skip
            if converts:
                order_id = f"xp-order-{visitor}"
                orders.append((order_id, customer))
                lines.append((order_id, customer, behaviour.order_value))
    insert_events(db, events)
    for order_id, customer in orders:
        db.execute(
            "INSERT INTO orders (order_id, customer_id, created_at, updated_at) "
            "VALUES (?, ?, '2024-03-02T10:30:00', '2024-03-02T10:30:00')",
            (order_id, customer),
        )
    for order_id, customer, value in lines:
        db.execute(
            "INSERT INTO order_lines VALUES (?, 'l#0', 'xp-p0', ?, '2024-03-02T10:30:00', 1, ?)",
            (order_id, customer, value),
        )
    db.conn.commit()
    return experiment_id


def simulate_running_automatic(db: sqlite_utils.Database, sessions: int = 300) -> int:
    """A running automatic experiment (holdout 10%, minimum share 10%) in which "b" converts
    three times as often as "a" at the same order value. Returns the experiment id."""
    experiment_id = create_experiment(
        db,
        "automatic volume",
        "product",
        [{"name": "a", "profile": {"limit": 4}}, {"name": "b", "profile": {"limit": 8}}],
        holdout_share=0.1,
        allocation="automatic",
        min_share=0.1,
    )
    db.execute(
        "UPDATE experiments SET status = 'running', started_at = ? WHERE experiment_id = ?",
        (START, experiment_id),
    )
    db.conn.commit()
    experiment = get_experiment(db, experiment_id)
    conversions = {"a": sessions * 5 // 100, "b": sessions * 15 // 100}
    members: dict[str, list[str]] = {"a": [], "b": []}
    n = 0
    while min(len(v) for v in members.values()) < sessions:
        visitor = f"auto-visitor-{n}"
        n += 1
        arm = assign_variant(experiment, visitor)
        if arm in members and len(members[arm]) < sessions:
            members[arm].append(visitor)
    events = []
    for name, visitors in members.items():
        for i, visitor in enumerate(visitors):
            base = {"context": "product", "visitor_id": visitor, "session_id": f"{visitor}-s"}
            events.append({**base, "type": "impression", "product_id": "xp-p0",
                           "ts": "2024-03-02T10:00:00"})  # fmt: skip
            if i < conversions[name]:
                customer = f"auto-customer-{visitor}"
                events.append({**base, "type": "click", "product_id": "xp-p0",
                               "ts": "2024-03-02T10:01:00", "customer_id": customer})  # fmt: skip
                db.execute(
                    "INSERT INTO orders (order_id, customer_id, created_at, updated_at) "
                    "VALUES (?, ?, '2024-03-02T10:30:00', '2024-03-02T10:30:00')",
                    (f"auto-order-{visitor}", customer),
                )
                db.execute(
                    "INSERT INTO order_lines VALUES (?, 'l#0', 'xp-p0', ?, "
                    "'2024-03-02T10:30:00', 1, 40.0)",
                    (f"auto-order-{visitor}", customer),
                )
    insert_events(db, events)
    db.conn.commit()
    return experiment_id
