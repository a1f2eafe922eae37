"""The quality page: coverage, diversity, newness, most/least shown, and what is kept out why."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from flask.testing import FlaskClient

from config import Settings
from plugin.admin.quality import quality_report
from storage.catalog import upsert_products
from storage.events import insert_events
from storage.shop_settings import set_shop_setting
from tests.admin_client import add_admin_user, log_in, make_admin_app

NOW = datetime(2030, 7, 15, 12, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _product(pid: str, category: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "product_id": pid,
        "title": f"Item {pid}",
        "price": 10.0,
        "category": category,
        "created_at": _iso(NOW - timedelta(days=400)),
    }
    row.update(extra)
    return row


@pytest.fixture
def shop(shop_db: sqlite_utils.Database) -> sqlite_utils.Database:
    """Ten products in two categories; impressions: a=6, b=3 (new item), c=1; rest never."""
    products = [_product(p, "Kitchen") for p in "abcde"] + [_product(p, "Garden") for p in "fgh"]
    products[1]["created_at"] = _iso(NOW - timedelta(days=3))
    products.append(_product("x", "Kitchen", inventory=0))
    products.append(_product("y", "Garden", status="draft"))
    products.append(_product("z", "Garden", available_until="2030-01-01"))
    products.append(_product("w", "Garden", season_tags="winter"))
    upsert_products(shop_db, products)
    events = []
    for pid, n in (("a", 6), ("b", 3), ("c", 1)):
        for i in range(n):
            ts = _iso(NOW - timedelta(hours=i + 1))
            events.append(
                {
                    "ts": ts,
                    "type": "impression",
                    "product_id": pid,
                    "context": "product",
                    "session_id": f"s{i}",
                }
            )
    old = _iso(NOW - timedelta(days=60))
    events.append({"ts": old, "type": "impression", "product_id": "f", "context": "home"})
    insert_events(shop_db, events)
    return shop_db


def test_figures_follow_the_impressions(shop: sqlite_utils.Database) -> None:
    report = quality_report(shop, NOW, days=30)
    assert report["impressions"] == 10 and report["products_shown"] == 3
    # Recommendable: a..h and w (in stock, active, unexpired) = 9; shown among them: 3.
    assert report["recommendable"] == 9
    assert report["coverage"] == pytest.approx(3 / 9)
    assert report["categories_shown"] == 1 and report["category_entropy"] is None
    assert report["new_share"] == pytest.approx(3 / 10)
    assert [p["product_id"] for p in report["most"]] == ["a", "b", "c"]
    assert report["least"] == []  # all three are already among the most shown
    assert report["never_count"] == 6
    wider = quality_report(shop, NOW, days=90)
    assert wider["categories_shown"] == 2 and 0 < wider["category_entropy"] < 1


def test_kept_out_lists_each_reason(shop: sqlite_utils.Database) -> None:
    set_shop_setting(
        shop,
        "rules",
        {"default": {"blocked_products": ["c"]}, "home": {"blocked_categories": ["Garden"]}},
    )
    report = quality_report(shop, NOW, days=30)
    reasons = {row["product_id"]: row["reasons"] for row in report["excluded"]}
    assert reasons["x"] == ["out of stock"]
    assert reasons["y"] == ["draft"]
    assert reasons["z"] == ["expired"]
    assert reasons["c"] == ["blocked product"]
    assert reasons["f"] == ["blocked category (home)"]
    assert sorted(reasons["w"]) == ["blocked category (home)", "out of season"]  # July, north


def test_page_renders_and_escapes_titles(settings: Settings, shop: sqlite_utils.Database) -> None:
    upsert_products(shop, [_product("a", "Kitchen", title="<b>bold</b> & co")])
    add_admin_user(settings, "demo")
    client: FlaskClient = make_admin_app(settings).test_client()
    log_in(client)
    page = client.get("/admin/demo/quality?days=3650").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page and "<b>bold" not in page
    assert 'id="filtered-out"' in page and "out of stock" in page


def test_least_shown_are_the_tail_fewest_first(shop_db: sqlite_utils.Database) -> None:
    upsert_products(shop_db, [_product(f"p{i:02d}", "Kitchen") for i in range(15)])
    events = [
        {"ts": _iso(NOW - timedelta(minutes=k + 1)), "type": "impression",
         "product_id": f"p{i:02d}", "session_id": f"s{i}-{k}"}
        for i in range(15)
        for k in range(15 - i)
    ]  # fmt: skip
    insert_events(shop_db, events)
    report = quality_report(shop_db, NOW, days=30)
    assert [p["product_id"] for p in report["most"]][:2] == ["p00", "p01"]
    assert [p["product_id"] for p in report["least"]] == ["p14", "p13", "p12", "p11", "p10"]


def test_coverage_counts_what_can_be_recommended_today(shop: sqlite_utils.Database) -> None:
    # x (now sold out) was shown too: it is counted apart, never above 100%.
    insert_events(
        shop,
        [{"ts": _iso(NOW - timedelta(hours=2)), "type": "impression", "product_id": "x",
          "context": "product"}],
    )  # fmt: skip
    report = quality_report(shop, NOW, days=30)
    assert (report["products_shown"], report["recommendable_shown"]) == (4, 3)
    assert report["shown_not_recommendable"] == 1
    assert report["coverage"] == pytest.approx(3 / 9)


def test_a_catalog_without_categories_shows_no_category_spread(
    shop_db: sqlite_utils.Database,
) -> None:
    upsert_products(shop_db, [_product(p, "") for p in "abc"])
    ts = _iso(NOW - timedelta(hours=1))
    insert_events(shop_db, [{"ts": ts, "type": "impression", "product_id": "a", "context": "home"}])
    report = quality_report(shop_db, NOW, days=30)
    assert (report["categories_shown"], report["categories_in_catalog"]) == (0, 0)
    assert report["top_category"] is None and report["category_entropy"] is None


def test_novelty_and_serendipity_read_orders_and_clicks(shop: sqlite_utils.Database) -> None:
    from storage.orders import upsert_order_lines, upsert_orders

    assert quality_report(shop, NOW, days=30)["novelty_one_in"] is None  # no orders yet
    # 8 orders: "a" in all of them, "b" in 2, "c" in none.
    orders, lines = [], []
    for n in range(8):
        created = _iso(NOW - timedelta(days=2, hours=n))
        orders.append({"order_id": f"o{n}", "customer_id": None, "created_at": created})
        lines.append((f"o{n}", "0", "a", None, created, 1, 10.0))
        if n < 2:
            lines.append((f"o{n}", "1", "b", None, created, 1, 10.0))
    upsert_orders(shop, orders)
    upsert_order_lines(shop, lines)
    # Session s1 viewed a Kitchen item, then clicked one Kitchen and one Garden item.
    view, click = _iso(NOW - timedelta(hours=3)), _iso(NOW - timedelta(hours=2))
    insert_events(
        shop,
        [
            {"ts": view, "type": "view", "product_id": "d", "session_id": "s1"},
            {"ts": click, "type": "click", "product_id": "e", "session_id": "s1"},
            {"ts": click, "type": "click", "product_id": "f", "session_id": "s1"},
        ],
    )
    report = quality_report(shop, NOW, days=30)
    # Impressions a=6, b=3, c=1 over 8 orders (+1): 9/8, 9/2 and 9/1, geometric mean.
    expected = 2 ** ((6 * math.log2(9 / 8) + 3 * math.log2(9 / 2) + math.log2(9)) / 10)
    assert report["novelty_one_in"] == pytest.approx(expected)
    assert (report["serendipity_clicks"], report["serendipity"]) == (2, 0.5)
