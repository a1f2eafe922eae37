"""The overview page: figures per context and in total, holdout lift, SVG charts, access."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlite_utils

from config import Settings
from plugin.admin.charts import Point, daily_chart
from plugin.admin.overview import TOTAL, overview_report, parse_range
from storage.events import insert_events
from storage.experiments import HOLDOUT, assign_variant, create_experiment, get_experiment
from tests.admin_client import add_admin_user, log_in, make_admin_app

DAY = "2026-03-02"


def _event(ts, kind, product, context, visitor, customer=None):
    return {
        "ts": ts,
        "type": kind,
        "product_id": product,
        "context": context,
        "visitor_id": visitor,
        "customer_id": customer,
        "session_id": f"s-{visitor}",
        "slot": "s",
        "strategy": "blend",
        "request_id": f"r-{visitor}-{product}",
    }


def _order(db, order_id, customer, at, product, quantity, price):
    db.execute(
        "INSERT INTO orders (order_id, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (order_id, customer, at, at),
    )
    db.execute(
        "INSERT INTO order_lines VALUES (?, ?, ?, ?, ?, ?, ?)",
        (order_id, f"{product}#0", product, customer, at, quantity, price),
    )
    db.conn.commit()


@pytest.fixture
def log(shop_db: sqlite_utils.Database) -> sqlite_utils.Database:
    """product: 40 impressions, 8 clicks (2 bought: 30 + 20); cart: 20 impressions, 1 click."""
    events = []
    for i in range(40):
        events.append(_event(f"{DAY}T10:{i:02d}:00", "impression", f"p{i}", "product", f"v{i}"))
    for i in range(8):
        events.append(_event(f"{DAY}T11:{i:02d}:00", "click", f"p{i}", "product", f"v{i}", f"c{i}"))
    for i in range(20):
        events.append(_event(f"2026-03-03T10:{i:02d}:00", "impression", f"q{i}", "cart", f"w{i}"))
    events.append(_event("2026-03-03T11:00:00", "click", "q0", "cart", "w0"))
    insert_events(shop_db, events)
    _order(shop_db, "o1", "c0", f"{DAY}T12:00:00", "p0", 1, 30.0)
    _order(shop_db, "o2", "c1", f"{DAY}T13:00:00", "p1", 2, 10.0)
    _order(shop_db, "o3", "c2", f"{DAY}T13:00:00", "zz", 1, 99.0)  # not a clicked product
    return shop_db


def test_figures_per_context_and_in_total(log):
    report = overview_report(log, date(2026, 3, 1), date(2026, 3, 31), 24)
    product, cart, total = report["rows"]["product"], report["rows"]["cart"], report["rows"][TOTAL]
    assert (product["impressions"], product["clicks"], product["conversions"]) == (40, 8, 2)
    assert product["ctr"] == pytest.approx(0.2) and product["conversion_rate"] == pytest.approx(
        0.25
    )
    assert product["revenue"] == 50.0 and product["rpm"] == pytest.approx(1250.0)
    assert (cart["impressions"], cart["clicks"], cart["revenue"], cart["conversion_rate"]) == (
        20,
        1,
        0.0,
        0.0,
    )
    assert report["rows"]["home"]["ctr"] is None  # nothing shown: no rate, not 0%
    assert (total["impressions"], total["clicks"], total["revenue"]) == (60, 9, 50.0)
    assert all(row["lift"] is None for row in report["rows"].values())
    by_slot = {(r["context"], r["slot"], r["strategy"]): r for r in report["by_slot"]}
    assert set(by_slot) == {("product", "s", "blend"), ("cart", "s", "blend")}
    assert (
        by_slot[("product", "s", "blend")]["revenue"],
        by_slot[("cart", "s", "blend")]["clicks"],
    ) == (50.0, 1)


def test_the_share_of_store_revenue_and_order_values_with_and_without(log):
    # Store: o1 30 + o2 20 (both through a click) + o3 99 (not) = 149.
    store = overview_report(log, date(2026, 3, 1), date(2026, 3, 31), 24)["store"]
    assert (store["revenue"], store["orders"], store["orders_with"]) == (149.0, 3, 2)
    assert store["share"] == pytest.approx(50.0 / 149.0)
    assert (store["aov_with"], store["aov_without"]) == (25.0, 99.0)
    empty = overview_report(log, date(2026, 4, 1), date(2026, 4, 30), 24)["store"]
    assert empty["share"] is None and empty["aov_with"] is None  # no orders: no ratio


def test_a_range_outside_the_data_shows_zeros(log):
    report = overview_report(log, date(2026, 4, 1), date(2026, 4, 30), 24)
    assert report["rows"][TOTAL]["impressions"] == 0 and report["rows"][TOTAL]["revenue"] == 0


def test_holdout_lift_compares_revenue_per_visitor(shop_db):
    experiment_id = create_experiment(
        shop_db, "with holdout", "all", [{"name": "a"}, {"name": "b"}], holdout_share=0.3
    )
    shop_db.execute(
        "UPDATE experiments SET status = 'running', started_at = '2026-03-01T00:00:00' "
        "WHERE experiment_id = ?",
        (experiment_id,),
    )
    shop_db.conn.commit()
    experiment = get_experiment(shop_db, experiment_id)
    events, n = [], 0
    for i in range(600):
        visitor = f"v{i}"
        held = assign_variant(experiment, visitor) == HOLDOUT
        events.append(_event(f"{DAY}T09:00:00", "view", "p1", None, visitor, f"c{i}"))
        # treated visitors buy 20.0 every 2nd time, holdout visitors every 4th time
        if i % (4 if held else 2) == 0:
            n += 1
            _order(shop_db, f"o{n}", f"c{i}", f"{DAY}T10:00:00", "p1", 1, 20.0)
    insert_events(shop_db, events)
    report = overview_report(shop_db, date(2026, 3, 1), date(2026, 3, 31), 24)
    found = report["rows"][TOTAL]["lift"]
    assert found is not None and found["experiment"].experiment_id == experiment_id
    lift = found["lift"]
    assert lift.treatment.value == pytest.approx(10.0, abs=1.0)
    assert lift.reference.value == pytest.approx(5.0, abs=1.0)
    assert lift.low < 1.0 < lift.high and lift.low > 0
    assert report["rows"]["product"]["lift"] is None


def test_parse_range_defaults_and_reports_junk():
    latest = date(2026, 3, 31)
    assert parse_range(None, None, latest)[:2] == (date(2026, 3, 2), latest)
    first, last, problems = parse_range("yesterday", "2026-03-10", latest)
    assert last == date(2026, 3, 10) and first == date(2026, 2, 9)
    assert problems == ["from must be a date like 2026-03-31, got 'yesterday'"]
    assert "is after" in parse_range("2026-03-20", "2026-03-10", latest)[2][0]
    assert "at most 366 days" in parse_range("2020-01-01", "2026-03-10", latest)[2][0]


def test_charts_escape_labels_and_draw_every_day():
    svg = str(
        daily_chart(
            [Point("<b>d1</b>", 1.0), Point("d2", 3.0), Point("d3", 2.0)],
            'Revenue "<script>alert(1)</script>"',
            kind="bar",
            chart_id="x",
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;d1" in svg
    assert svg.count("<rect") == 3 and svg.startswith("<svg")
    assert "no data in this range" in str(daily_chart([], "empty"))
    gap = str(daily_chart([Point("a", 1.0), Point("b", None), Point("c", 2.0)], "ctr"))
    assert gap.count("<polyline") == 2 and gap.count("<circle") == 2  # a gap, not a zero
    with pytest.raises(ValueError, match="kind must be"):
        daily_chart([], "x", kind="pie")


@pytest.fixture
def client(settings: Settings, log):
    add_admin_user(settings, "demo")
    add_admin_user(settings, "other")
    app = make_admin_app(settings)
    with app.test_client() as c:
        yield c


def test_the_page_shows_the_figures_and_charts(client):
    assert client.get("/admin/demo/overview").status_code == 302  # not logged in
    log_in(client)
    page = client.get("/admin/demo/overview?from=2026-03-01&to=2026-03-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-metric="revenue">50.00<' in html and 'data-metric="clicks">9<' in html
    assert 'id="ctr-chart"' in html and 'id="revenue-chart"' in html and "no holdout" in html
    junk = client.get("/admin/demo/overview?from=%3Cscript%3E")
    assert junk.status_code == 200 and "&lt;script&gt;" in junk.get_data(as_text=True)


def test_another_shops_overview_is_not_found(settings: Settings, log):
    add_admin_user(settings, "other")
    app = make_admin_app(settings)
    with app.test_client() as c:
        log_in(c)  # 'owner' exists in 'other' only
        assert c.get("/admin/other/overview").status_code == 200
        assert c.get("/admin/demo/overview").status_code == 404


def test_a_chart_of_only_zeros_says_so_instead_of_a_zero_axis() -> None:
    svg = str(daily_chart([Point(f"2026-11-0{d}", 0.0) for d in range(1, 4)], "Revenue"))
    assert "none yet in this range" in svg
    axis = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
    assert axis == ["0.00"]  # one baseline, no 0 / 0.5 / 1 scale over nothing


def test_a_chart_axis_tops_out_at_a_round_number() -> None:
    svg = str(daily_chart([Point("a", 1.0), Point("b", 3.2)], "Clicks", lambda v: f"{v:g}"))
    assert re.findall(r'text-anchor="end">([^<]*)</text>', svg)[:3] == ["0", "2", "4"]
