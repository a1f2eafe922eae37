"""Synthetic shop data with known answers, shared by the engine tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from engine.training_data import TrainingData

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CATEGORIES = {
    "Kitchen": [
        "Stand Mixer Pro",
        "Mixer Bowl Steel",
        "Whisk Attachment",
        "Dough Hook Steel",
        "Kitchen Scale Digital",
        "Pasta Maker Steel",
    ],
    "Garden": [
        "Garden Hose Green",
        "Hose Reel Green",
        "Garden Gloves Leather",
        "Pruning Shears",
        "Watering Can Green",
        "Garden Kneeler Pad",
    ],
    "Books": [
        "Novel Mystery Paperback",
        "Cookbook Italian Paperback",
        "Atlas World Hardback",
        "Poetry Paperback",
        "Travel Guide Paperback",
        "Bestseller Thriller Paperback",
    ],
}
ANCHOR_A, REAL_B, POPULAR_P = "K0", "K1", "B5"


def catalog() -> pd.DataFrame:
    """18 products: ids K0-K5, G0-G5, B0-B5 in three categories, with text and prices."""
    rows = []
    for cat, titles in CATEGORIES.items():
        for i, title in enumerate(titles):
            rows.append(
                {
                    "product_id": f"{cat[0]}{i}",
                    "title": title,
                    "description": f"<p>A fine {title.lower()} for your {cat.lower()}</p>",
                    "category": cat,
                    "tags": f"{cat.lower()}|gift",
                    "vendor": f"{cat} Co",
                    "price": 10.0 + 5 * i,
                    "compare_at_price": None,
                    "inventory": 5,
                    "status": "active",
                    "margin": None,
                    "season_tags": "",
                    "available_until": None,
                    "image_url": "",
                    "url": "",
                    "created_at": None,
                }
            )
    return pd.DataFrame(rows)


def _line(order: str, customer: str | None, product: str, when: datetime) -> dict:
    return {
        "order_id": order,
        "customer_id": customer,
        "product_id": product,
        "quantity": 1,
        "unit_price": 10.0,
        "created_at": when.isoformat(),
    }


def purchases(seed: int = 7) -> pd.DataFrame:
    """Block-structured orders: each customer buys within one category (the taste answer).

    On top: 15 orders hold K0 (A) with K1 (B), nothing else; B5 (P) sits in ~60% of all
    orders, so it meets A often by accident (more co-purchases than B, lift ~1).
    """
    rng = np.random.default_rng(seed)
    lines = []
    order = 0
    prefixes = ["K", "G", "B"]
    for customer in range(60):
        prefix = prefixes[customer % 3]
        for visit in range(3):
            items = rng.choice(6, size=2, replace=False)
            when = NOW - timedelta(days=int(rng.integers(1, 200)))
            basket = [f"{prefix}{i}" for i in items if f"{prefix}{i}" != REAL_B]
            if rng.random() < 0.6:
                basket.append(POPULAR_P)
            if prefix == "K" and visit == 0:
                basket.append(ANCHOR_A)
            for product in dict.fromkeys(basket):
                lines.append(_line(f"o{order}", f"c{customer}", product, when))
            order += 1
    for extra in range(15):
        when = NOW - timedelta(days=extra + 1)
        for product in (ANCHOR_A, REAL_B):
            lines.append(_line(f"x{extra}", None, product, when))
    return pd.DataFrame(lines)


def events() -> pd.DataFrame:
    """Views: sessions browsing garden items together (co-view signal)."""
    rows = []
    for s in range(20):
        for product in ("G0", "G1", "G4"):
            rows.append(
                {
                    "ts": (NOW - timedelta(days=s % 10 + 1)).isoformat(),
                    "customer_id": f"c{1 + 3 * s}",
                    "session_id": f"s{s}",
                    "type": "view",
                    "product_id": product,
                }
            )
    return pd.DataFrame(rows)


def training_data() -> TrainingData:
    """The full synthetic shop."""
    return TrainingData(catalog(), purchases(), events(), NOW)


def empty_data() -> TrainingData:
    """A shop with nothing at all."""
    return TrainingData(catalog().iloc[0:0], purchases().iloc[0:0], events().iloc[0:0], NOW)
