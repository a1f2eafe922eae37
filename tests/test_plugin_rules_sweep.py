"""Every rule on every list: a seeded sweep of requests over all contexts and slots.

Each rule has its own test elsewhere; this one asks what a shop's pages would ask (random
anchors, shoppers, lengths and `exclude=` ids) through the service on the trained demo shop,
and checks that what the rules promise holds on every list it gets back, not only in the
case each rule's test builds.
"""

from __future__ import annotations

import random
from datetime import UTC, timedelta
from typing import Any

import pytest
import sqlite_utils

from config import Settings
from demo.shop import DEFAULT_NOW
from engine.base import CONTEXT_SLOTS
from engine.context_filters import parent_category, within_category
from engine.diversity import max_per_category
from engine.rule_settings import rule_settings_for
from engine.slot_limits import CONTEXT_LIMITS
from plugin.storefront.request_params import RecommendationParams
from serving.service import ExpiringSets, RecommendationService, build_service

SHOP = "demo"
NOW = DEFAULT_NOW.replace(tzinfo=UTC)
ASKS_PER_SLOT = 40
ANCHORED = ("product", "cart", "post_purchase")


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return trained_settings


def _same_family(category: str, anchor: str) -> bool:
    root = parent_category(anchor) or anchor
    return within_category(category, root)


def _problems(
    params: RecommendationParams,
    items: list[dict[str, Any]],
    products: dict[str, dict[str, Any]],
    recent: set[str],
    n_categories: int,
) -> list[str]:
    """What is wrong with one list, in words (empty when every rule holds)."""
    got = [i["product_id"] for i in items]
    rules = rule_settings_for(None, params.context, params.slot)
    minimum = CONTEXT_LIMITS[params.context].minimum
    today = NOW.date().isoformat()
    out = []
    if len(set(got)) != len(got):
        out.append("a product twice")
    if set(got) & (set(params.product_ids) | set(params.exclude_ids)):
        out.append("an anchor or an exclude= id shown")
    for pid in got:
        row = products[pid]
        if row["status"] != "active" or (row["inventory"] is not None and row["inventory"] <= 0):
            out.append(f"{pid} is not on sale")
        if row["available_until"] and row["available_until"][:10] < today:
            out.append(f"{pid} expired")
    if set(got) & recent:
        out.append("bought by this customer in the last 30 days")
    if not 0 < len(items) <= params.limit and params.slot != "upgrade":
        out.append(f"{len(items)} items for a limit of {params.limit}")
    if len(items) < min(params.limit, minimum) and params.slot != "upgrade":
        out.append(f"{len(items)} items, under the context's minimum of {minimum}")
    if any(not str(i["reason"]).strip() for i in items):
        out.append("an item without a reason")
    categories = [products[p]["category"] for p in got]
    if rules.diversity and rules.category_filter == "off" and len(got) >= 3:
        wanted = min(rules.min_categories, len(got), n_categories)
        if len(set(categories)) < wanted:
            out.append(f"{len(set(categories))} categories, want {wanted}: {categories}")
        cap = max_per_category(params.limit, rules.max_per_category)
        worst = max(categories.count(c) for c in categories)
        if not rules.calibrate_categories and worst > cap:
            out.append(f"{worst} of one category, cap {cap}: {categories}")
    if params.slot == "upgrade":
        anchors = [products[a] for a in params.product_ids]
        for pid in got:
            row = products[pid]
            if not any(
                _same_family(row["category"], a["category"]) and row["price"] > a["price"]
                for a in anchors
            ):
                out.append(f"upgrade {pid} is not a pricier item of a cart item's family")
    return out


def test_every_list_keeps_every_rule(settings: Settings, db: sqlite_utils.Database) -> None:
    service = build_service(settings)
    service = RecommendationService(
        settings, service.model_cache, today=lambda: NOW, unavailable=ExpiringSets(0)
    )
    products = {r["product_id"]: r for r in db.query("SELECT * FROM products")}
    n_categories = len({r["category"] for r in products.values() if r["category"]})
    on_sale = sorted(p for p, r in products.items() if r["status"] == "active")
    customers = [r[0] for r in db.execute("SELECT DISTINCT customer_id FROM order_lines")]
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
    recent: dict[str, set[str]] = {}
    for customer, pid in db.execute(
        "SELECT customer_id, product_id FROM order_lines WHERE created_at >= ?", [since]
    ):
        recent.setdefault(customer, set()).add(pid)
    rng = random.Random(20261204)
    failures: list[str] = []
    asked = 0
    for context, slots in CONTEXT_SLOTS.items():
        limits = CONTEXT_LIMITS[context]
        for slot in slots:
            for _ in range(ASKS_PER_SLOT):
                customer = rng.choice(customers) if rng.random() < 0.7 else None
                params = RecommendationParams(
                    SHOP,
                    context,
                    slot,
                    product_ids=tuple(rng.sample(on_sale, rng.choice((1, 1, 2, 3))))
                    if context in ANCHORED
                    else (),
                    customer_id=customer,
                    limit=rng.randint(limits.minimum, limits.maximum),
                    exclude_ids=tuple(rng.sample(on_sale, 3)),
                )
                items = service.recommend(params)["items"]
                asked += 1
                mine = recent.get(customer or "", set())
                for problem in _problems(params, items, products, mine, n_categories):
                    failures.append(f"{context}/{slot} {params.product_ids} {customer}: {problem}")
    assert asked == ASKS_PER_SLOT * sum(len(s) for s in CONTEXT_SLOTS.values())
    assert not failures, "\n".join(failures[:20])
