"""Seeded storefront traffic for the demo shop: impressions, clicks, and clicks that lead to the
shop's own purchases, so the overview and the experiments page show real figures in `make demo`.

Consistency with attribution (storage.attribution): a purchase line picked to be "driven" by a
recommendation gets a click on that very product by the buying customer's visitor id, shortly
before the purchase, preceded by an impression with the same request id; background sessions
add impressions and clicks at a per-context CTR. Optionally a finished experiment covers the
last weeks: its visitors get the variant the real assignment hash gives them, holdout visitors
see no product-page recommendations, and the "content" arm is clicked more often.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from demo.errors import DemoError
from engine.base import DEFAULT_SLOT
from storage.catalog import active_product_ids
from storage.clock import to_iso
from storage.events import has_request_events, insert_events
from storage.experiments import (
    HOLDOUT,
    assign_variant,
    backdate_stopped_experiment,
    create_experiment,
    get_experiment,
)
from storage.orders import customer_purchase_lines, newest_line_at, ordering_customer_ids

# Widgets a session sees (weights) and their click-through rates.
CONTEXT_WEIGHTS: dict[str, float] = {
    "product": 0.45,
    "cart": 0.2,
    "home": 0.2,
    "email": 0.08,
    "post_purchase": 0.07,
}
CONTEXT_CTR: dict[str, float] = {
    "product": 0.045,
    "cart": 0.06,
    "home": 0.03,
    "email": 0.05,
    "post_purchase": 0.025,
}
# The model credited for each item (engine.base: the model that contributed most), by slot.
SLOT_STRATEGIES = {
    "product": ("rules", "collaborative", "content"),
    "cart": ("rules", "collaborative", "content", "popularity"),
    "home": ("taste", "content", "trending"),
    "email": ("taste", "content"),
    "post_purchase": ("collaborative", "rules", "content"),
}
DRIVEN_SHARE = 0.3  # purchase lines preceded by a recommendation click
KNOWN_VISITOR_SHARE = 0.4  # background sessions of logged-in customers
CONTENT_CTR_LIFT = 1.3  # the demo experiment's "content" arm is clicked 30% more
EXPERIMENT_DAYS = 28
DEMO_EXPERIMENT_PROFILE = {"weights": {"product": {"content": 0.7, "collaborative": 0.3}}}


@dataclass(frozen=True)
class DemoTrafficSummary:
    """What was generated."""

    impressions: int
    clicks: int
    driven_clicks: int
    experiment_id: int | None
    stored: int


def _demo_experiment(db: sqlite_utils.Database, end: datetime) -> int:
    """A stopped (not promoted) product-page test over the last EXPERIMENT_DAYS days."""
    experiment_id = create_experiment(
        db,
        "Demo: content-heavy product page",
        "product",
        [{"name": "control"}, {"name": "content", "profile": DEMO_EXPERIMENT_PROFILE}],
        holdout_share=0.1,
        min_detectable_effect=0.3,
        created_by="demo",
    )
    backdate_stopped_experiment(
        db,
        experiment_id,
        created_at=to_iso(end - timedelta(days=EXPERIMENT_DAYS + 1)),
        started_at=to_iso(end - timedelta(days=EXPERIMENT_DAYS)),
        stopped_at=to_iso(end),
    )
    return experiment_id


class _Traffic:
    """Collects events; knows the experiment so every widget respects the assignment."""

    def __init__(self, db: sqlite_utils.Database, experiment_id: int | None) -> None:
        self.experiment = get_experiment(db, experiment_id) if experiment_id else None
        self.events: list[dict[str, Any]] = []
        self.counter = 0
        self.rng = random.Random(0)  # strategies only: the traffic's own draws stay as they are

    def arm(self, visitor: str, context: str, moment: str) -> str | None:
        e = self.experiment
        if e is None or context != e.context or not (e.started_at or "") <= moment:
            return None
        if e.stopped_at is not None and moment >= e.stopped_at:
            return None
        return assign_variant(e, visitor)

    def widget(
        self,
        moment: datetime,
        context: str,
        visitor: str,
        customer: str | None,
        session: str,
        items: list[str],
        clicked: set[int],
    ) -> int:
        """Impressions of `items` (and clicks on the positions in `clicked`); return clicks."""
        self.counter += 1
        request_id = f"demo-{self.counter}"
        base = {
            "customer_id": customer,
            "visitor_id": visitor,
            "session_id": session,
            "context": context,
            "slot": DEFAULT_SLOT[context],
            "request_id": request_id,
        }
        for position, product in enumerate(items, start=1):
            at = moment + timedelta(seconds=position)
            base["strategy"] = self.rng.choice(SLOT_STRATEGIES[context])
            self.events.append(
                {
                    **base,
                    "ts": to_iso(at),
                    "type": "impression",
                    "product_id": product,
                    "position": position,
                }
            )
            if position - 1 in clicked:
                self.events.append(
                    {
                        **base,
                        "ts": to_iso(at + timedelta(seconds=20)),
                        "type": "click",
                        "product_id": product,
                        "position": position,
                    }
                )
        return len(clicked)


def _driven_clicks(
    db: sqlite_utils.Database,
    traffic: _Traffic,
    rng: random.Random,
    start: str,
    end: str,
    products: list[str],
) -> int:
    """Clicks on purchased products 5 minutes to 20 hours before the purchase."""
    rows = customer_purchase_lines(db, start, end)
    driven = 0
    contexts, weights = list(CONTEXT_WEIGHTS), list(CONTEXT_WEIGHTS.values())
    for customer, product, created_at in rows:
        if rng.random() >= DRIVEN_SHARE:
            continue
        moment = datetime.fromisoformat(created_at) - timedelta(minutes=rng.uniform(5, 20 * 60))
        visitor = f"dv-{customer}"
        context = rng.choices(contexts, weights)[0]
        if traffic.arm(visitor, context, to_iso(moment)) == HOLDOUT:
            context = "cart"  # the holdout saw no product-page list to click on
        others = rng.sample(products, k=min(5, len(products)))
        items = [product] + [p for p in others if p != product][:4]
        session = f"ds-{customer}-{moment:%Y%m%d}"
        traffic.widget(moment, context, visitor, customer, session, items, {0})
        driven += 1
    return driven


def simulate_demo_traffic(
    db: sqlite_utils.Database,
    *,
    seed: int = 7,
    days: int = 60,
    sessions_per_day: int = 120,
    with_experiment: bool = True,
) -> DemoTrafficSummary:
    """Add `days` of widget traffic ending at the shop's newest order; deterministic per seed.

    Raises ValueError when the store has no orders yet (generate the demo shop first), or
    already has demo traffic (a second run would add a second experiment and skew the figures).
    """
    newest = newest_line_at(db)
    if newest is None:
        raise DemoError("the store has no orders: generate the demo shop before its traffic")
    if has_request_events(db, "demo-1"):
        raise DemoError("the store already has demo traffic: generate it once per shop")
    rng = random.Random(seed)
    end = datetime.fromisoformat(newest) + timedelta(seconds=1)
    start = end - timedelta(days=days)
    products = active_product_ids(db)
    customers = ordering_customer_ids(db)
    experiment_id = _demo_experiment(db, end) if with_experiment else None
    traffic = _Traffic(db, experiment_id)
    driven = _driven_clicks(db, traffic, rng, to_iso(start), to_iso(end), products)
    contexts, weights = list(CONTEXT_WEIGHTS), list(CONTEXT_WEIGHTS.values())
    clicks = driven
    for number in range(days * sessions_per_day):
        moment = start + timedelta(seconds=rng.uniform(0, days * 86400 - 600))
        known = customers and rng.random() < KNOWN_VISITOR_SHARE
        customer = rng.choice(customers) if known else None
        visitor = (
            f"dv-{customer}" if customer else f"dva-{rng.randrange(days * sessions_per_day // 3)}"
        )
        session = f"ds-b{number}"
        # Distinct contexts in the order drawn: a set's order follows the process's string
        # hash seed, so the same seed would draw the rest differently in another process.
        for context in dict.fromkeys(rng.choices(contexts, weights, k=rng.choice((1, 1, 2, 3)))):
            arm = traffic.arm(visitor, context, to_iso(moment))
            if arm == HOLDOUT:
                continue
            ctr = CONTEXT_CTR[context] * (CONTENT_CTR_LIFT if arm == "content" else 1.0)
            items = rng.sample(products, k=min(rng.randint(4, 8), len(products)))
            chosen = {i for i in range(len(items)) if rng.random() < ctr}
            clicks += traffic.widget(moment, context, visitor, customer, session, items, chosen)
            moment += timedelta(minutes=rng.uniform(1, 10))
    stored = insert_events(db, traffic.events)
    impressions = sum(1 for e in traffic.events if e["type"] == "impression")
    return DemoTrafficSummary(impressions, clicks, driven, experiment_id, stored)
