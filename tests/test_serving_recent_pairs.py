"""The pairs bought since training that go first on a product page: only pairs chance does not
explain, and never more than RECENT_MAX_AHEAD of them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import sqlite_utils

from engine.artifacts import MANIFEST
from engine.base import Recommendation
from serving.recent_pairs import (
    RECENT_MAX_AHEAD,
    RECENT_STRATEGY,
    RecentPairs,
    beyond_chance,
    poisson_tail,
    with_recent_pairs,
)
from storage.orders import upsert_order_lines


def test_the_poisson_tail_is_the_chance_of_at_least_k() -> None:
    assert poisson_tail(0, 1.5) == 1.0
    assert poisson_tail(1, 1.5) == pytest.approx(1 - math.exp(-1.5))
    assert poisson_tail(2, 0.125) == pytest.approx(1 - math.exp(-0.125) * 1.125)
    assert poisson_tail(3, 0.0) == 0.0


def test_a_pair_counts_only_when_chance_does_not_explain_its_orders() -> None:
    # Two rare products bought together twice among 40 new orders: a pattern.
    assert beyond_chance(2, anchor_orders=2, partner_orders=2, orders=40)
    # Every new order holds both: chance explains it fully.
    assert not beyond_chance(2, anchor_orders=2, partner_orders=2, orders=2)
    # A staple in a quarter of the baskets meets the anchor as often as chance says.
    assert not beyond_chance(3, anchor_orders=12, partner_orders=10, orders=40)
    # One order is an accident, however rare the two products are.
    assert not beyond_chance(1, anchor_orders=1, partner_orders=1, orders=10_000)


def test_at_most_a_few_recent_pairs_go_ahead_of_the_models() -> None:
    pool = [Recommendation(f"m{i}", 1.0 - i / 10, "rules", "r") for i in range(6)]
    recent = [(f"r{i}", 5 - i) for i in range(4)] + [("m3", 2)]
    served = with_recent_pairs(pool, recent, frozenset({"r0"}))
    ahead = [r.product_id for r in served if r.strategy == RECENT_STRATEGY]
    assert ahead == ["r1", "r2"][:RECENT_MAX_AHEAD]  # r0 is excluded; most orders first
    assert [r.product_id for r in served][RECENT_MAX_AHEAD:] == [f"m{i}" for i in range(6)]


def test_staples_stay_back_and_a_rare_pair_goes_first_past_them(
    shop_db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """25 staples in every new order meet the anchor as often as chance says; a product bought
    only with the anchor, in 3 of 100 new orders, does not, though the staples outnumber it."""
    models = tmp_path / "models"
    models.mkdir()
    (models / MANIFEST).write_text(json.dumps({"data_until": "2026-03-01T00:00:00"}))
    staples = [f"S{i}" for i in range(25)]
    lines = []
    for n in range(100):
        items = [*staples, *(["A"] if n < 10 else []), *(["G"] if n < 3 else [])]
        items += ["N"] if n in (5, 50) else []  # with the anchor once: not a pattern
        for pid in items:
            lines.append((f"o{n}", f"{pid}#{n}", pid, "c", "2026-03-02T10:00:00", 1, 1.0))
    upsert_order_lines(shop_db, lines)
    found = RecentPairs(lambda shop: models).pairs(shop_db, "demo", "", ("A",))
    assert found == [("G", 3)]
