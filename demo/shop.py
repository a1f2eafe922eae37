"""A seeded, deterministic demo shop: catalog, customers, orders and browsing events.

It exists so a new user sees sensible recommendations within a minute, without a shop of
their own. The orders carry real structure (accessories bought with main items, sets of one
collection, favourite categories, price sensitivity, seasons, guests, returns), so every
model has something genuine to find. Everything is written through the ordinary storage
upserts, so running it twice with the same seed and `now` stores nothing new.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from demo.catalog import CATEGORIES
from demo.errors import DemoError
from demo.orders import (
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DemoWorld,
    Shopper,
    build_orders,
    build_world,
    category_for,
    pick_product,
    session_rows,
)
from storage.catalog import upsert_products
from storage.clock import to_iso
from storage.customers import upsert_customers
from storage.events import insert_events
from storage.orders import upsert_order_lines, upsert_orders

# Fixed so that the demo is the same on every machine unless the caller passes `now`.
DEFAULT_NOW = datetime(2026, 11, 1, 12, 0, 0)

_FIRST = (
    "Anna Ben Clara David Emma Felix Grace Hugo Isla Jonas Katie Liam Maya Noah Olivia Paul "
    "Quinn Rosa Sam Tara Uma Victor Wren Yusuf Zoe Lena Marco Nina Omar Priya"
).split()
_LAST = (
    "Schmidt Smith Jansen Martin Berg Novak Rossi Dubois Evans Fischer Garcia Hansen Kowalski "
    "Larsen Meyer Okafor Patel Silva Taylor Weber"
).split()


@dataclass(frozen=True)
class DemoShopSummary:
    """What was generated, and how many rows were new or changed in the store."""

    products: int
    customers: int
    orders: int
    order_lines: int
    events: int
    stored: int
    now: str


def generate_demo_shop(
    db: sqlite_utils.Database,
    *,
    seed: int = 7,
    now: datetime | None = None,
    n_customers: int = 600,
    days: int = 365,
) -> DemoShopSummary:
    """Generate the demo shop into `db` and return counts; deterministic for (seed, now)."""
    if n_customers < 1 or days < 1:
        raise DemoError(f"n_customers and days must be positive, got {n_customers} and {days}")
    moment = datetime.fromisoformat(to_iso(now or DEFAULT_NOW))  # naive UTC, whole seconds
    world = build_world(random.Random(seed), moment, days)
    shoppers, signups = _build_shoppers(world, n_customers)
    orders, lines, sessions = build_orders(world, shoppers)
    sessions += _build_browsing(world, shoppers, len(orders))
    events = _sessions_to_events(sessions, moment)
    first_order: dict[str, str] = {}
    for order in orders:
        if order["customer_id"] is not None:
            first_order.setdefault(order["customer_id"], order["created_at"])
    customers = [
        _customer_record(world.rng, s, signups[i], first_order) for i, s in enumerate(shoppers)
    ]
    stored = upsert_products(db, [p.record for p in world.products])
    stored += upsert_customers(db, customers)
    stored += upsert_orders(db, orders)
    stored += upsert_order_lines(db, lines)
    stored += insert_events(db, events)
    return DemoShopSummary(
        products=len(world.products),
        customers=len(customers),
        orders=len(orders),
        order_lines=len(lines),
        events=len(events),
        stored=stored,
        now=to_iso(moment),
    )


def _build_shoppers(world: DemoWorld, n_customers: int) -> tuple[list[Shopper], list[datetime]]:
    rng = world.rng
    names = [c.name for c in CATEGORIES]
    shoppers, signups = [], []
    for number in range(1, n_customers + 1):
        favourites = tuple(rng.sample(names, rng.choice((1, 2, 2, 3))))
        country = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
        shoppers.append(Shopper(f"c{number:04d}", favourites, rng.random(), country))
        signups.append(world.start - timedelta(days=rng.uniform(-300, 500)))
    return shoppers, signups


def _customer_record(
    rng: random.Random, shopper: Shopper, signup: datetime, first_order: dict[str, str]
) -> dict[str, Any]:
    customer_id = shopper.customer_id or ""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    created = to_iso(signup)
    ordered = first_order.get(customer_id)
    return {
        "customer_id": customer_id,
        "email": f"{first}.{last}.{customer_id[1:]}@example.com".lower(),
        "first_name": first,
        "last_name": last,
        "country": shopper.country,
        "accepts_marketing": int(rng.random() < 0.6),
        "created_at": min(created, ordered) if ordered else created,
    }


def _build_browsing(
    world: DemoWorld, shoppers: list[Shopper], n_orders: int
) -> list[list[tuple[Any, ...]]]:
    """Sessions that never buy: mostly one category, some abandoned carts."""
    rng = world.rng
    span = (world.now - world.start).total_seconds()
    sessions = []
    for _ in range(int(n_orders * 1.3)):
        shopper = (
            rng.choice(shoppers)
            if rng.random() < 0.45
            else Shopper(None, (rng.choice([c.name for c in CATEGORIES]),), rng.random(), "")
        )
        moment = world.start + timedelta(seconds=rng.uniform(0, span))
        category = category_for(world, shopper, moment)
        viewed = []
        for _ in range(rng.randint(1, 6)):
            pool = world.by_category[category] if rng.random() < 0.8 else world.products
            product = pick_product(world, pool, moment, shopper.price_sensitivity)
            if product is not None:
                viewed.append(product)
        if not viewed:
            continue
        steps = [("view", p) for p in viewed]
        if rng.random() < 0.12:
            steps.append(("add_to_cart", rng.choice(viewed)))
        sessions.append(session_rows(world, shopper.customer_id, moment, steps))
    return sessions


def _sessions_to_events(
    sessions: list[list[tuple[Any, ...]]], now: datetime
) -> list[dict[str, Any]]:
    """Events in time order with stable keys; anything after `now` is dropped."""
    limit = to_iso(now)
    events = []
    for number, rows in enumerate(sessions, start=1):
        session_id = f"s{number:06d}"
        for index, (ts, customer_id, kind, product_id) in enumerate(rows):
            if ts >= limit:
                continue
            events.append(
                {
                    "event_key": f"demo-{session_id}-{index}",
                    "ts": ts,
                    "customer_id": customer_id,
                    "session_id": session_id,
                    "type": kind,
                    "product_id": product_id,
                }
            )
    events.sort(key=lambda e: (e["ts"], e["event_key"]))
    return events
