"""The demo shop's shoppers and orders: who buys what, when, and what goes with it.

Baskets are built from the catalog's structure (a main item, often with its accessories or
the rest of its set, refills of consumables for what a customer owns, a festive extra in
November and December) so that frequently-bought-together and item-item models have known,
genuine pairs to find. Used by `demo.shop`, which writes the result.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from demo.catalog import CATEGORIES, DemoProduct, Family, build_catalog, family_index
from storage.clock import to_iso

COUNTRIES = ("DE", "GB", "US", "NL", "FR", "SE", "AT", "DK")
COUNTRY_WEIGHTS = (30, 25, 15, 10, 8, 5, 4, 3)
# Category demand by month (1..12); 1.0 when a category has no season.
_CATEGORY_SEASON = {
    "Garden": (0.3, 0.5, 1.6, 2.4, 2.6, 2.2, 1.8, 1.3, 0.8, 0.5, 0.3, 0.3),
    "Outdoor & Camping": (0.4, 0.4, 0.7, 1.2, 1.7, 2.3, 2.5, 2.0, 1.0, 0.6, 0.4, 0.5),
    "Bedding": (1.4, 1.2, 0.9, 0.8, 0.7, 0.6, 0.6, 0.7, 0.9, 1.2, 1.5, 1.6),
    "Home Decor": (0.8, 0.8, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.9, 1.1, 1.8, 2.0),
    "Fitness": (2.0, 1.5, 1.1, 1.0, 0.9, 0.8, 0.7, 0.8, 1.1, 1.0, 0.8, 0.6),
}
_MONTH_SEASONS = {
    month: season
    for season, months in (
        ("winter", (12, 1, 2)),
        ("spring", (3, 4, 5)),
        ("summer", (6, 7, 8)),
        ("autumn", (9, 10, 11)),
    )
    for month in months
}
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 8, 9, 8, 7, 7, 8, 9, 11, 12, 12, 10, 6, 3)


@dataclass
class Shopper:
    """A customer (or a one-off guest, customer_id None) and the tastes that drive their orders."""

    customer_id: str | None
    favourites: tuple[str, ...]
    price_sensitivity: float  # 0 = buys premium, 1 = buys budget
    country: str
    owned: list[str] = field(default_factory=list)  # families bought, for refills


@dataclass
class DemoWorld:
    """The catalog indexed for order generation, plus the one rng every step draws from."""

    rng: random.Random
    now: datetime
    start: datetime
    products: list[DemoProduct]
    by_category: dict[str, list[DemoProduct]]
    by_family: dict[str, list[DemoProduct]]
    families: dict[str, Family]
    popularity: dict[str, float]


def build_world(rng: random.Random, now: datetime, days: int) -> DemoWorld:
    """Build the catalog and index it; the order window is the `days` before `now`."""
    products = build_catalog(rng, now, days)
    families = family_index()
    by_category: dict[str, list[DemoProduct]] = {c.name: [] for c in CATEGORIES}
    by_family: dict[str, list[DemoProduct]] = {key: [] for key in families}
    for product in products:
        by_category[product.category].append(product)
        by_family[product.family].append(product)
    accessory_keys = {a for f in families.values() for a in f.accessories}
    # Main items (those with accessories) are what people come for; accessories mostly ride along.
    popularity = {
        key: rng.lognormvariate(0, 0.5)
        * (0.5 if key in accessory_keys else 1.6 if families[key].accessories else 1.0)
        for key in families
    }
    return DemoWorld(
        rng, now, now - timedelta(days=days), products, by_category, by_family, families, popularity
    )


def _season_factor(product: DemoProduct, moment: datetime) -> float:
    if not product.seasons:
        return 1.0
    if "christmas" in product.seasons and moment.month in (11, 12):
        return 6.0 if moment.month == 12 or moment.day >= 15 else 3.0
    return 3.0 if _MONTH_SEASONS[moment.month] in product.seasons else 0.1


def pick_product(
    world: DemoWorld,
    pool: list[DemoProduct],
    moment: datetime,
    sensitivity: float,
    use_popularity: bool = True,
) -> DemoProduct | None:
    """A product from `pool` on sale at `moment`, weighted by season, taste and popularity."""
    band_weight = (0.4 + 1.6 * sensitivity, 1.0, 0.4 + 1.6 * (1 - sensitivity))
    iso = to_iso(moment)
    candidates, weights = [], []
    for product in pool:
        if not product.sellable or product.created_at > iso:
            continue
        weight = band_weight[product.band] * _season_factor(product, moment)
        if use_popularity:
            weight *= world.popularity[product.family]
        candidates.append(product)
        weights.append(weight)
    if not candidates:
        return None
    return world.rng.choices(candidates, weights=weights)[0]


def category_for(world: DemoWorld, shopper: Shopper, moment: datetime) -> str:
    """Mostly one of the shopper's favourite categories, weighted by the month's demand."""
    rng = world.rng
    names = list(shopper.favourites) if rng.random() < 0.85 else [c.name for c in CATEGORIES]
    weights = [_CATEGORY_SEASON.get(n, (1.0,) * 12)[moment.month - 1] for n in names]
    return rng.choices(names, weights=weights)[0]


def _basket(world: DemoWorld, shopper: Shopper, moment: datetime) -> list[DemoProduct]:
    """One order's products: a main pick plus its accessories, set mates, refills, extras."""
    rng = world.rng
    main = pick_product(
        world,
        world.by_category[category_for(world, shopper, moment)],
        moment,
        shopper.price_sensitivity,
    )
    if main is None:
        return []
    basket: list[DemoProduct | None] = [main]
    family = world.families[main.family]
    if family.accessories and rng.random() < 0.6:
        for key in rng.sample(family.accessories, min(len(family.accessories), rng.randint(1, 2))):
            basket.append(
                pick_product(
                    world,
                    world.by_family[key],
                    moment,
                    shopper.price_sensitivity,
                    use_popularity=False,
                )
            )
    if main.set_group and rng.random() < 0.55:
        mates = [
            p
            for p in world.products
            if p.set_group == main.set_group
            and p.collection == main.collection
            and p.family != main.family
        ]
        for mate in rng.sample(mates, min(len(mates), rng.randint(1, 3))):
            if mate.sellable and mate.created_at <= to_iso(moment):
                basket.append(mate)
    refills = [
        a
        for key in shopper.owned
        for a in world.families[key].accessories
        if world.families[a].consumable
    ]
    if refills and rng.random() < 0.35:
        basket.append(
            pick_product(
                world,
                world.by_family[rng.choice(refills)],
                moment,
                shopper.price_sensitivity,
                use_popularity=False,
            )
        )
    if rng.random() < 0.2:
        basket.append(pick_product(world, world.products, moment, shopper.price_sensitivity))
    if moment.month in (11, 12) and rng.random() < 0.3:
        festive = [p for p in world.products if "christmas" in p.seasons]
        basket.append(pick_product(world, festive, moment, shopper.price_sensitivity))
    chosen = list({p.record["product_id"]: p for p in basket if p is not None}.values())
    shopper.owned.extend(p.family for p in chosen if world.families[p.family].accessories)
    return chosen


def _daily_volume(day: datetime) -> float:
    festive = (
        1.7 if (day.month == 11 and day.day >= 20) or (day.month == 12 and day.day <= 20) else 1.0
    )
    weekend = 1.2 if day.weekday() >= 5 else 1.0
    return festive * weekend


def _order_times(world: DemoWorld, per_day: float) -> list[datetime]:
    rng = world.rng
    times = []
    day = world.start.replace(hour=0, minute=0, second=0)
    while day < world.now:
        lam = per_day * _daily_volume(day)
        for _ in range(max(0, round(rng.gauss(lam, math.sqrt(lam))))):
            hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
            moment = day + timedelta(hours=hour, seconds=rng.randrange(3600))
            if world.start <= moment < world.now:
                times.append(moment)
        day += timedelta(days=1)
    return sorted(times)


def build_orders(
    world: DemoWorld, shoppers: list[Shopper]
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]], list[list[tuple[Any, ...]]]]:
    """Orders, their lines (returns as negative lines) and the sessions that led to them."""
    rng = world.rng
    activity = [min(rng.paretovariate(1.6), 15.0) for _ in shoppers]
    names = [c.name for c in CATEGORIES]
    per_day = len(shoppers) * 6.0 / 365 / 1.1
    orders: list[dict[str, Any]] = []
    lines: list[tuple[Any, ...]] = []
    sessions: list[list[tuple[Any, ...]]] = []
    for moment in _order_times(world, per_day):
        if rng.random() < 0.15:
            shopper = Shopper(
                None,
                (rng.choice(names),),
                rng.random(),
                rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0],
            )
        else:
            shopper = rng.choices(shoppers, weights=activity)[0]
        basket = _basket(world, shopper, moment)
        if not basket:
            continue
        order_id = f"o{len(orders) + 1:05d}"
        created = to_iso(moment)
        status = "cancelled" if rng.random() < 0.005 else "paid"
        orders.append(
            {
                "order_id": order_id,
                "customer_id": shopper.customer_id,
                "created_at": created,
                "status": status,
                "country": shopper.country,
                "source": "demo",
            }
        )
        for product in basket:
            qty = rng.choice((1, 1, 2, 3)) if world.families[product.family].consumable else 1
            lines.append(
                (
                    order_id,
                    f"{product.record['product_id']}#1",
                    product.record["product_id"],
                    shopper.customer_id,
                    created,
                    qty,
                    product.record["price"],
                )
            )
        returned = moment + timedelta(days=rng.uniform(3, 25))
        if status == "paid" and rng.random() < 0.03 and returned < world.now:
            line = rng.choice(lines[-len(basket) :])
            lines.append(
                (order_id, f"{line[2]}#2", line[2], line[3], to_iso(returned), -line[5], line[6])
            )
        if rng.random() < 0.7:
            sessions.append(_buying_session(world, shopper, basket, moment))
    return orders, lines, sessions


def _buying_session(
    world: DemoWorld, shopper: Shopper, basket: list[DemoProduct], moment: datetime
) -> list[tuple[Any, ...]]:
    """Views around the category of the first item, then add_to_cart of each bought item."""
    rng = world.rng
    browsed = [
        pick_product(
            world, world.by_category[basket[0].category], moment, shopper.price_sensitivity
        )
        for _ in range(rng.randint(0, 3))
    ]
    views = [p for p in browsed if p is not None] + basket
    rng.shuffle(views)
    steps = [("view", p) for p in views] + [("add_to_cart", p) for p in basket]
    start = moment - timedelta(seconds=rng.randint(60, 90) * (len(steps) + 1))
    return session_rows(world, shopper.customer_id, start, steps)


def session_rows(
    world: DemoWorld, customer_id: str | None, start: datetime, steps: list[tuple[str, DemoProduct]]
) -> list[tuple[Any, ...]]:
    """(ts, customer_id, type, product_id) rows, 15-60 seconds apart."""
    rows, moment = [], start
    for kind, product in steps:
        moment += timedelta(seconds=world.rng.randint(15, 60))
        rows.append((to_iso(moment), customer_id, kind, product.record["product_id"]))
    return rows
