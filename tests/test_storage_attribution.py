"""Attribution on a hand-built event and order log whose answer is worked out by hand."""

from __future__ import annotations

import pytest
import sqlite_utils

from storage.attribution import attributed_lines, attribution_window_hours
from storage.checkouts import insert_checkouts
from storage.db import open_shop_db
from storage.events import insert_events
from storage.experiments import assign_variant, create_experiment, get_experiment
from storage.shop_settings import set_shop_setting

DAY = "2026-03-02"


def click(ts, product, context, *, customer=None, visitor=None, slot="s", strategy="blend"):
    return {
        "ts": ts,
        "customer_id": customer,
        "visitor_id": visitor,
        "session_id": f"sess-{visitor or customer}",
        "type": "click",
        "product_id": product,
        "context": context,
        "slot": slot,
        "strategy": strategy,
        "request_id": f"req-{ts}-{product}",
        "position": 1,
    }


def order(db, order_id, customer, at, lines, status="paid"):
    db.execute(
        "INSERT INTO orders (order_id, customer_id, created_at, status, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (order_id, customer, at, status, at),
    )
    for n, (product, quantity, price) in enumerate(lines):
        db.execute(
            "INSERT INTO order_lines VALUES (?, ?, ?, ?, ?, ?, ?)",
            (order_id, f"{product}#{n}", product, customer, at, quantity, price),
        )
    db.conn.commit()


@pytest.fixture
def log(shop_db: sqlite_utils.Database) -> sqlite_utils.Database:
    insert_events(
        shop_db,
        [
            # c1: two clicks on p1; the later (product page) one takes the credit
            click(f"{DAY}T08:00:00", "p1", "home", customer="c1", visitor="v1", slot="for_you"),
            click(f"{DAY}T10:00:00", "p1", "product", customer="c1", visitor="v1", slot="fbt"),
            # c2: bought 25 h after the click: outside a 24 h window, inside a 48 h one
            click(f"{DAY}T10:00:00", "p2", "home", customer="c2"),
            # an anonymous visitor who later logs in as c3 (the view carries both ids)
            click(f"{DAY}T09:00:00", "p3", "cart", visitor="v3"),
            {
                "ts": f"{DAY}T09:30:00",
                "visitor_id": "v3",
                "customer_id": "c3",
                "type": "view",
                "product_id": "p3",
            },
            # c4 buys 3, returns 1
            click(f"{DAY}T09:00:00", "p4", "post_purchase", customer="c4"),
            # c5 clicks p5 but buys p6; c6's order is cancelled; c7 bought before clicking
            click(f"{DAY}T09:00:00", "p5", "product", customer="c5"),
            click(f"{DAY}T09:00:00", "p7", "product", customer="c6"),
            click(f"{DAY}T12:00:00", "p8", "product", customer="c7"),
        ],
    )
    order(shop_db, "o1", "c1", f"{DAY}T15:00:00", [("p1", 2, 10.0), ("p9", 1, 99.0)])
    order(shop_db, "o2", "c2", "2026-03-03T11:00:00", [("p2", 1, 50.0)])
    order(shop_db, "o3", "c3", f"{DAY}T20:00:00", [("p3", 1, 30.0)])
    order(shop_db, "o4", "c4", f"{DAY}T10:00:00", [("p4", 3, 5.0)])
    order(shop_db, "r4", "c4", "2026-03-05T10:00:00", [("p4", -1, 5.0)])
    order(shop_db, "o5", "c5", f"{DAY}T10:00:00", [("p6", 1, 7.0)])
    order(shop_db, "o6", "c6", f"{DAY}T10:00:00", [("p7", 1, 7.0)], status="cancelled")
    order(shop_db, "o7", "c7", f"{DAY}T11:00:00", [("p8", 1, 7.0)])
    order(shop_db, "g1", None, f"{DAY}T11:00:00", [("p1", 1, 10.0)])  # a guest: no link
    return shop_db


def by_order(lines):
    return {line.order_id: line for line in lines}


def test_last_click_within_the_window_net_of_returns(log):
    got = by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 24))
    assert set(got) == {"o1", "o3", "o4"}
    assert (got["o1"].product_id, got["o1"].context, got["o1"].slot) == ("p1", "product", "fbt")
    assert got["o1"].revenue == 20.0 and got["o1"].click_ts == f"{DAY}T10:00:00"
    assert (got["o3"].context, got["o3"].revenue, got["o3"].visitor_id) == ("cart", 30.0, "v3")
    assert (got["o4"].quantity, got["o4"].net_quantity, got["o4"].revenue) == (3, 2, 10.0)
    assert sum(line.revenue for line in got.values()) == 60.0


def test_a_reported_checkout_ties_a_guest_order_to_its_visitors_click(log):
    """g1 is a guest order of p1 at 11:00; v9 clicked p1 at 10:30 and reported checking out
    g1, v8 reported g1 too but clicked another product, v1's click (c1's) is not g1's."""
    insert_events(log, [click(f"{DAY}T10:30:00", "p1", "product", visitor="v9", slot="fbt")])
    insert_events(log, [click(f"{DAY}T10:45:00", "p5", "home", visitor="v8")])
    before = by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 24))
    assert "g1" not in before
    checkout = {"order_id": "g1", "session_id": "s9", "ts": f"{DAY}T11:00:05"}
    stored = insert_checkouts(
        log, [{**checkout, "visitor_id": "v9"}, {**checkout, "visitor_id": "v8"}]
    )
    assert stored == 2
    assert insert_checkouts(log, [{**checkout, "visitor_id": "v9"}]) == 0  # a reload
    got = by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 24))
    assert set(got) == set(before) | {"g1"}
    guest = got["g1"]
    assert (guest.visitor_id, guest.context, guest.slot, guest.revenue) == (
        "v9",
        "product",
        "fbt",
        10.0,
    )
    assert guest.customer_id is None
    # The other figures do not move: the guest link credits only the guest order.
    assert all(got[o] == before[o] for o in before)


def test_a_checkout_outside_the_window_credits_nothing(log):
    insert_events(log, [click("2026-03-01T09:00:00", "p1", "product", visitor="v9")])
    insert_checkouts(log, [{"order_id": "g1", "visitor_id": "v9", "ts": f"{DAY}T11:00:05"}])
    assert "g1" not in by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 24))
    assert by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 48))["g1"].visitor_id == "v9"


def test_a_wider_window_reaches_the_next_day(log):
    got = by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 48))
    assert set(got) == {"o1", "o2", "o3", "o4"} and got["o2"].revenue == 50.0


def test_range_bounds_the_purchase_time(log):
    assert attributed_lines(log, "2026-03-03", "2026-04-01", 48)[0].order_id == "o2"
    assert attributed_lines(log, "2026-03-02T16:00:00", "2026-03-03", 24)[0].order_id == "o3"


def test_the_variant_is_the_clicking_visitors_assignment(log):
    experiment_id = create_experiment(
        log, "t", "product", [{"name": "a"}, {"name": "b"}], holdout_share=0.1
    )
    # started before the clicks (start_experiment would stamp the present)
    log.execute(
        "UPDATE experiments SET status = 'running', started_at = ? WHERE experiment_id = ?",
        ("2026-03-01T00:00:00", experiment_id),
    )
    log.conn.commit()
    got = by_order(attributed_lines(log, "2026-03-01", "2026-04-01", 24))
    expected = assign_variant(get_experiment(log, experiment_id), "v1")
    assert (got["o1"].experiment_id, got["o1"].variant) == (experiment_id, expected)
    assert got["o3"].variant is None  # a cart click: outside the product experiment


def test_the_shop_setting_overrides_the_window(shop_db):
    assert attribution_window_hours(shop_db, 24) == 24
    set_shop_setting(shop_db, "attribution_window_hours", 72)
    assert attribution_window_hours(shop_db, 24) == 72
    set_shop_setting(shop_db, "attribution_window_hours", "soon")
    assert attribution_window_hours(shop_db, 24) == 24


def test_demo_traffic_is_attribution_consistent_and_respects_the_holdout(shop_db, settings):
    from demo.shop import generate_demo_shop
    from demo.traffic import simulate_demo_traffic

    generate_demo_shop(shop_db, seed=3, n_customers=120, days=90)
    summary = simulate_demo_traffic(shop_db, seed=3, days=40, sessions_per_day=30)
    assert summary.impressions > 1000 and summary.clicks > summary.driven_clicks > 10
    lines = attributed_lines(shop_db, "2000-01-01", "9999", 24)
    # every driven click is the last click before its purchase, unless a background click
    # on the same product by the same customer came later: nearly all of them convert
    assert 0.9 * summary.driven_clicks <= len({x.click_event_id for x in lines})
    assert sum(x.revenue for x in lines) > 0
    experiment = get_experiment(shop_db, summary.experiment_id)
    assert experiment.status == "stopped"
    shown = shop_db.execute(
        "SELECT DISTINCT visitor_id FROM events WHERE type = 'impression' AND context = ? "
        "AND ts >= ? AND ts < ?",
        (experiment.context, experiment.started_at, experiment.stopped_at),
    ).fetchall()
    assert shown and all(assign_variant(experiment, v) != "holdout" for (v,) in shown)
    with pytest.raises(ValueError, match="already has demo traffic"):
        simulate_demo_traffic(shop_db, seed=3, days=40, sessions_per_day=30)
    empty = open_shop_db(settings.data_dir, "empty")
    with pytest.raises(ValueError, match="no orders"):
        simulate_demo_traffic(empty)
    empty.close()
