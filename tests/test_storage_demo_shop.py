"""The demo shop: deterministic, idempotent, and shaped like a real shop's data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils

from demo.shop import DEFAULT_NOW, DemoShopSummary, generate_demo_shop
from storage.catalog import unavailable_product_ids
from storage.db import open_shop_db
from storage.orders import read_purchase_lines

TABLES = {
    "products": "product_id",
    "customers": "customer_id",
    "orders": "order_id",
    "order_lines": "order_id, line_key",
    "events": "event_key",
}


def _contents(db: sqlite_utils.Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the generated tables, without the wall-clock updated_at stamps."""
    out = {}
    for table, order in TABLES.items():
        columns = [c.name for c in db[table].columns if c.name not in ("updated_at", "event_id")]
        out[table] = db.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
        ).fetchall()
    return out


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[sqlite_utils.Database, DemoShopSummary]]:
    """One full-size demo shop shared by the structure tests (it takes about a second)."""
    db = open_shop_db(tmp_path_factory.mktemp("demo"), "demo")
    summary = generate_demo_shop(db)
    yield db, summary
    db.close()


def test_same_seed_gives_identical_shops_and_a_rerun_stores_nothing(tmp_path: Path) -> None:
    first = open_shop_db(tmp_path / "a", "demo")
    second = open_shop_db(tmp_path / "b", "demo")
    one = generate_demo_shop(first, seed=3, n_customers=80, days=90)
    two = generate_demo_shop(second, seed=3, n_customers=80, days=90)
    assert one == two and one.stored > 0
    assert _contents(first) == _contents(second)
    again = generate_demo_shop(first, seed=3, n_customers=80, days=90)
    assert again.stored == 0
    assert _contents(first) == _contents(second)


def test_another_seed_gives_another_shop(tmp_path: Path) -> None:
    first = open_shop_db(tmp_path / "a", "demo")
    second = open_shop_db(tmp_path / "b", "demo")
    generate_demo_shop(first, seed=1, n_customers=50, days=60)
    generate_demo_shop(second, seed=2, n_customers=50, days=60)
    assert _contents(first)["orders"] != _contents(second)["orders"]


def test_summary_matches_the_store_and_sizes(
    demo: tuple[sqlite_utils.Database, DemoShopSummary],
) -> None:
    db, summary = demo
    assert summary.now == DEFAULT_NOW.strftime("%Y-%m-%dT%H:%M:%S")
    assert summary.products == db["products"].count
    assert summary.customers == db["customers"].count == 600
    assert summary.orders == db["orders"].count
    assert summary.order_lines == db["order_lines"].count
    assert summary.events == db["events"].count
    assert 250 <= summary.products <= 450
    assert 3000 <= summary.orders <= 5000
    assert (
        20_000
        <= db.execute("SELECT count(*) FROM events WHERE type='view'").fetchone()[0]
        <= 30_000
    )


def test_catalog_is_complete_and_varied(
    demo: tuple[sqlite_utils.Database, DemoShopSummary],
) -> None:
    db, _ = demo
    categories = [r[0] for r in db.execute("SELECT DISTINCT category FROM products")]
    assert 11 <= len(categories) <= 13
    incomplete = db.execute(
        "SELECT count(*) FROM products WHERE title = '' OR description NOT LIKE '<p>%' "
        "OR category = '' OR price <= 0 OR tags = '' OR image_url = '' OR url = ''"
    ).fetchone()[0]
    assert incomplete == 0
    links = db.execute("SELECT product_id, category, image_url, url FROM products").fetchall()
    for product_id, category, image_url, url in links:
        assert url == f"/demo/product/{product_id}"
        slug = image_url.removeprefix("/demo/static/img/").removesuffix(".svg")
        assert slug.replace("-", " ") in category.lower().replace("&", "").replace("  ", " ")
    stock = db.execute(
        "SELECT sum(inventory = 0), sum(inventory IS NULL), count(*), "
        "sum(status != 'active'), sum(compare_at_price > price), "
        "sum(season_tags LIKE '%christmas%'), sum(margin BETWEEN 0.2 AND 0.6) FROM products"
    ).fetchone()
    out_of_stock, untracked, total, not_active, on_sale, festive, with_margin = stock
    assert 0.02 * total <= out_of_stock <= 0.1 * total
    assert untracked > 0 and not_active > 0 and on_sale > 0 and festive > 0
    assert with_margin == total
    assert len(unavailable_product_ids(db, "2026-11-01")) > out_of_stock


def test_guests_returns_and_cancellations_exist(
    demo: tuple[sqlite_utils.Database, DemoShopSummary],
) -> None:
    db, summary = demo
    guests = db.execute("SELECT count(*) FROM orders WHERE customer_id IS NULL").fetchone()[0]
    assert 0.1 * summary.orders <= guests <= 0.2 * summary.orders
    returns = db.execute("SELECT count(*) FROM order_lines WHERE quantity < 0").fetchone()[0]
    assert 0.01 * summary.orders <= returns <= 0.05 * summary.orders
    assert db.execute("SELECT count(*) FROM orders WHERE status = 'cancelled'").fetchone()[0] > 0
    last = db.execute("SELECT max(created_at) FROM order_lines").fetchone()[0]
    assert last < summary.now
    assert db.execute("SELECT max(ts) FROM events").fetchone()[0] < summary.now


def _share_with(lines: dict[str, set[str]], having: set[str], also: set[str]) -> float:
    baskets = [b for b in lines.values() if b & having] if having else list(lines.values())
    return sum(1 for b in baskets if b & also) / max(len(baskets), 1)


def test_accessories_and_sets_are_bought_together(
    demo: tuple[sqlite_utils.Database, DemoShopSummary],
) -> None:
    db, _ = demo
    frame = read_purchase_lines(db)
    family = {r[0]: r[1] for r in db.execute("SELECT product_id, title FROM products")}
    baskets: dict[str, set[str]] = {}
    for order_id, product_id in zip(frame["order_id"], frame["product_id"], strict=True):
        baskets.setdefault(order_id, set()).add(product_id)

    def ids(*words: str) -> set[str]:
        return {p for p, title in family.items() if any(w in title for w in words)}

    machines = ids("Espresso Machine")
    accessories = ids("Espresso Tamper", "Milk Frothing Jug", "Knock Box", "Coffee Beans")
    with_machine = _share_with(baskets, machines, accessories)
    base_rate = _share_with(baskets, set(), accessories)
    assert sum(1 for b in baskets.values() if b & machines) >= 20
    assert with_machine > 0.4 and with_machine > 5 * base_rate

    nordic = ids("Nordic White Dinner Plates")
    assert (
        _share_with(
            baskets,
            nordic,
            ids("Nordic White Mugs", "Nordic White Pasta Bowls", "Nordic White Side Plates"),
        )
        > 0.3
    )
    assert _share_with(baskets, nordic, ids("Terracotta Mugs", "Terracotta Pasta Bowls")) < 0.1


def test_seasons_shape_orders(demo: tuple[sqlite_utils.Database, DemoShopSummary]) -> None:
    db, _ = demo

    def lines(where: str, months: str) -> int:
        return db.execute(
            "SELECT count(*) FROM order_lines l JOIN products p USING (product_id) "
            f"WHERE {where} AND substr(l.created_at, 6, 2) IN ({months})"
        ).fetchone()[0]

    festive = "p.season_tags LIKE '%christmas%'"
    assert lines(festive, "'11', '12'") > 2 * lines(festive, "'05', '06', '07', '08'")
    garden = "p.category = 'Garden'"
    assert lines(garden, "'04', '05', '06'") > 1.5 * lines(garden, "'12', '01', '02'")


def test_browsing_stays_in_a_category_and_some_sessions_never_buy(
    demo: tuple[sqlite_utils.Database, DemoShopSummary],
) -> None:
    db, _ = demo
    per_session = db.execute(
        "SELECT e.session_id, count(*), count(DISTINCT p.category) FROM events e "
        "JOIN products p USING (product_id) WHERE e.type = 'view' GROUP BY e.session_id"
    ).fetchall()
    focused = sum(1 for _, n, cats in per_session if n >= 3 and cats <= 2)
    assert focused > 0.6 * sum(1 for _, n, _ in per_session if n >= 3)
    carts = db.execute("SELECT count(DISTINCT session_id) FROM events WHERE type = 'add_to_cart'")
    assert carts.fetchone()[0] < len(per_session)
    drafts = db.execute(
        "SELECT count(*) FROM events JOIN products USING (product_id) WHERE status = 'draft'"
    ).fetchone()[0]
    assert drafts == 0


def test_now_moves_the_window(tmp_path: Path) -> None:
    db = open_shop_db(tmp_path, "demo")
    summary = generate_demo_shop(db, n_customers=30, days=30, now=datetime(2027, 3, 15, 9, 30))
    first, last = db.execute("SELECT min(created_at), max(created_at) FROM orders").fetchone()
    assert summary.now == "2027-03-15T09:30:00"
    assert "2027-02-13" <= first and last < "2027-03-15T09:30:00"


def test_bad_sizes_are_refused(shop_db: sqlite_utils.Database) -> None:
    with pytest.raises(ValueError, match="n_customers"):
        generate_demo_shop(shop_db, n_customers=0)
