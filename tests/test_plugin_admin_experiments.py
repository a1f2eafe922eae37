"""The experiments pages: create with validated profiles, start/stop, results, promote."""

from __future__ import annotations

import json

import pytest
import sqlite_utils
from flask.testing import FlaskClient
from signed_shoppers import customer_token

from config import Settings
from plugin.admin.experiment_assignment import DEFAULT_SNAPSHOTS, assignment_for
from plugin.admin.experiments import parse_profile, variant_samples
from serving.generations import read_marker
from storage.db import open_shop_db, shop_dir
from storage.events import insert_events
from storage.experiments import (
    ExperimentError,
    assign_variant,
    create_experiment,
    get_experiment,
    list_experiments,
)
from storage.shop_settings import get_shop_setting, set_shop_setting
from tests.admin_client import add_admin_user, csrf_of, log_in, make_admin_app

WEIGHTS_B = {"product": {"content": 1.0}}


def test_profiles_are_checked_with_the_settings_validators():
    assert parse_profile("", "a") == {}
    assert parse_profile(json.dumps({"weights": WEIGHTS_B}), "b") == {"weights": WEIGHTS_B}
    assert parse_profile('{"rules": {"default": {"exploration": 0.1}}}', "c")["rules"]
    with pytest.raises(ExperimentError, match="variant 'b': weights key must be a context"):
        parse_profile('{"weights": {"attic": {"content": 1}}}', "b")
    with pytest.raises(ExperimentError, match="variant 'b': weights source must be one of"):
        parse_profile('{"weights": {"product": {"magic": 1}}}', "b")
    with pytest.raises(ExperimentError, match="variant 'b': rules.default has unknown keys"):
        parse_profile('{"rules": {"default": {"colour": "red"}}}', "b")
    with pytest.raises(ExperimentError, match="profile is not valid JSON"):
        parse_profile("{weights:", "b")
    with pytest.raises(ExperimentError, match="keys among"):
        parse_profile('{"sql": 1}', "b")


@pytest.fixture
def client(settings: Settings, shop_db: sqlite_utils.Database) -> FlaskClient:
    add_admin_user(settings, "demo")
    app = make_admin_app(settings)
    DEFAULT_SNAPSHOTS.clear()
    with app.test_client() as c:
        log_in(c)
        yield c
    DEFAULT_SNAPSHOTS.clear()


def _form(client: FlaskClient, **extra: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf_of(client),
        "name": "content-heavy PDP",
        "context": "product",
        "holdout_percent": "10",
        "mde_percent": "5",
        "variant1_name": "control",
        "variant1_weight": "1",
        "variant1_profile": "",
        "variant2_name": "content",
        "variant2_weight": "1",
        "variant2_profile": json.dumps({"weights": WEIGHTS_B}),
    }
    form.update(extra)
    return form


def test_create_start_assign_stop_and_promote(client, shop_db, settings):
    created = client.post("/admin/demo/experiments", data=_form(client))
    assert created.status_code == 302
    (experiment,) = list_experiments(shop_db)
    assert (experiment.status, experiment.holdout_share, experiment.min_detectable_effect) == (
        "draft",
        0.1,
        0.05,
    )
    assert experiment.created_by == "owner"
    base = f"/admin/demo/experiments/{experiment.experiment_id}"
    page = client.get(base).get_data(as_text=True)
    assert "No results before the experiment starts" in page and ">Start<" in page

    marker = read_marker(shop_dir(settings.data_dir, "demo"))
    assert client.post(f"{base}/start", data={"csrf_token": csrf_of(client)}).status_code == 302
    assert read_marker(shop_dir(settings.data_dir, "demo")) != marker  # cache generation bumped
    served = [assignment_for(shop_db, f"v{i}", "product") for i in range(200)]
    assert {a.variant for a in served if a} == {"control", "content", "holdout"}
    running = client.get(base).get_data(as_text=True)  # results with no traffic yet
    assert 'id="results"' in running and "too little data for a lift" in running

    set_shop_setting(shop_db, "weights", {"cart": {"popularity": 1.0}})  # kept by the promotion
    assert client.post(f"{base}/stop", data={"csrf_token": csrf_of(client)}).status_code == 302
    assert assignment_for(shop_db, "v1", "product") is None
    promoted = client.post(
        f"{base}/promote",
        data={"csrf_token": csrf_of(client), "variant": "content"},
        follow_redirects=True,
    )
    assert "Promoted &#39;content&#39;; settings changed: weights" in promoted.get_data(
        as_text=True
    )
    db = open_shop_db(settings.data_dir, "demo")
    assert get_shop_setting(db, "weights") == {**WEIGHTS_B, "cart": {"popularity": 1.0}}
    who = db.execute(
        "SELECT changed_by FROM settings_changes WHERE key = 'weights' ORDER BY change_id DESC"
    ).fetchone()
    assert who[0] == f"owner (experiment {experiment.experiment_id})"
    assert get_experiment(db, experiment.experiment_id).winner == "content"
    db.close()


def test_promotion_merges_rules_like_serving_did(shop_db):
    from plugin.admin.experiments import promoted_settings

    set_shop_setting(shop_db, "rules", {"default": {"exploration": 0.05, "min_items": 3}})
    merged = promoted_settings(shop_db, {"rules": {"default": {"exploration": 0.1}}})
    assert merged == {"rules": {"default": {"exploration": 0.1, "min_items": 3}}}
    assert promoted_settings(shop_db, {}) == {}


def test_a_bad_form_is_shown_again_with_what_was_typed(client, shop_db):
    bad = _form(client, variant2_profile='{"weights": {"product": {"magic": 2}}}')
    answer = client.post("/admin/demo/experiments", data=bad)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "weights source must be one of" in html and "content-heavy PDP" in html
    assert "&#34;magic&#34;: 2" in html or "&quot;magic&quot;: 2" in html
    assert list_experiments(shop_db) == []
    one_variant = _form(client, variant2_name="", variant2_profile="")
    assert client.post("/admin/demo/experiments", data=one_variant).status_code == 400


def test_posts_need_the_csrf_token_and_unknown_ids_are_404(client, shop_db):
    assert (
        client.post("/admin/demo/experiments", data=_form(client, csrf_token="")).status_code == 400
    )
    assert client.get("/admin/demo/experiments/999").status_code == 404
    assert (
        client.post(
            "/admin/demo/experiments/999/start", data={"csrf_token": csrf_of(client)}
        ).status_code
        == 404
    )


def test_overlapping_start_is_refused_with_a_message(client, shop_db):
    first = create_experiment(shop_db, "a", "all", [{"name": "x"}, {"name": "y"}])
    second = create_experiment(shop_db, "b", "cart", [{"name": "x"}, {"name": "y"}])
    client.post(f"/admin/demo/experiments/{first}/start", data={"csrf_token": csrf_of(client)})
    refused = client.post(
        f"/admin/demo/experiments/{second}/start",
        data={"csrf_token": csrf_of(client)},
        follow_redirects=True,
    )
    assert "already runs on context &#39;all&#39;" in refused.get_data(as_text=True)
    assert get_experiment(shop_db, second).status == "draft"


def _simulate(db: sqlite_utils.Database, experiment_id: int, visitors: int) -> dict[str, list[int]]:
    """Every visitor sees 10 impressions; 'b' visitors click twice as often. Returns the
    expected [impressions, clicks] per variant."""
    experiment = get_experiment(db, experiment_id)
    expected: dict[str, list[int]] = {}
    events = []
    for i in range(visitors):
        visitor = f"v{i}"
        arm = assign_variant(experiment, visitor)
        clicks = (2 if arm == "b" else 1) if i % 5 == 0 else 0
        totals = expected.setdefault(arm, [0, 0])
        totals[0] += 10
        totals[1] += clicks
        for k in range(10):
            events.append(
                {
                    "ts": f"2026-03-02T10:{k:02d}:00",
                    "type": "impression" if k >= clicks else "click",
                    "product_id": f"p{k}",
                    "context": "product",
                    "visitor_id": visitor,
                    "session_id": f"s{i}",
                }
            )
        for k in range(clicks):  # a click follows an impression of the same item
            events.append({**events[-10 + k], "type": "impression", "ts": "2026-03-02T09:00:00"})
    insert_events(db, events)
    return expected


def test_results_count_each_variants_traffic(client, shop_db):
    experiment_id = create_experiment(
        shop_db, "ab", "product", [{"name": "a"}, {"name": "b"}], min_detectable_effect=0.5
    )
    shop_db.execute(
        "UPDATE experiments SET status = 'stopped', started_at = '2026-03-01T00:00:00', "
        "stopped_at = '2026-03-05T00:00:00' WHERE experiment_id = ?",
        (experiment_id,),
    )
    shop_db.conn.commit()
    expected = _simulate(shop_db, experiment_id, 40)
    samples = variant_samples(shop_db, get_experiment(shop_db, experiment_id), 24, "2026-04-01")
    got = {s.name: [s.impressions, s.clicks] for s in samples}
    assert got == {name: expected.get(name, [0, 0]) for name in ("a", "b")}
    page = client.get(f"/admin/demo/experiments/{experiment_id}").get_data(as_text=True)
    assert "not yet conclusive" in page and 'data-variant="b"' in page
    junk = client.get(f"/admin/demo/experiments/{experiment_id}?metric=<b>")
    assert junk.status_code == 200 and "&lt;b&gt;" in junk.get_data(as_text=True)


def test_a_user_of_another_shop_can_neither_read_nor_change_experiments(settings, shop_db):
    experiment_id = create_experiment(shop_db, "a", "product", [{"name": "x"}, {"name": "y"}])
    add_admin_user(settings, "other", user="intruder")
    app = make_admin_app(settings)
    with app.test_client() as c:
        log_in(c, user="intruder")
        assert c.get("/admin/other/experiments").status_code == 200
        token = csrf_of(c)
        base = f"/admin/demo/experiments/{experiment_id}"
        assert c.get("/admin/demo/experiments").status_code == 404
        assert c.get(base).status_code == 404
        for action in ("start", "stop", "promote"):
            assert c.post(f"{base}/{action}", data={"csrf_token": token}).status_code == 404
        created = c.post("/admin/demo/experiments", data={"csrf_token": token, "name": "x"})
        assert created.status_code == 404
    assert get_experiment(shop_db, experiment_id).status == "draft"
    assert len(list_experiments(shop_db)) == 1


def test_the_loop_from_served_variant_to_attributed_revenue(client, shop_db, settings):
    """Storefront answer in a variant -> widget beacons -> an order -> the variant's results."""
    from datetime import UTC, datetime, timedelta

    from storage.catalog import upsert_products

    upsert_products(
        shop_db, [{"product_id": f"p{i}", "title": f"P{i}", "price": 10.0} for i in range(1, 7)]
    )
    for i in range(2, 7):  # some order history so the untrained shop serves popular items
        shop_db.execute(
            "INSERT INTO orders (order_id, customer_id, created_at, updated_at) "
            "VALUES (?, NULL, '2026-01-01T00:00:00', '2026-01-01T00:00:00')",
            (f"h{i}",),
        )
        shop_db.execute(
            "INSERT INTO order_lines VALUES (?, 'x#0', ?, NULL, '2026-01-01T00:00:00', 1, 10.0)",
            (f"h{i}", f"p{i}"),
        )
    shop_db.conn.commit()
    created = client.post("/admin/demo/experiments", data=_form(client, holdout_percent="0"))
    experiment_id = int(created.headers["Location"].rsplit("/", 1)[1])
    base = f"/admin/demo/experiments/{experiment_id}"
    client.post(f"{base}/start", data={"csrf_token": csrf_of(client)})
    experiment = get_experiment(shop_db, experiment_id)
    buyer = next(f"v{i}" for i in range(100) if assign_variant(experiment, f"v{i}") == "content")
    answer = client.get(
        "/api/v1/recommendations",
        query_string={
            "shop": "demo",
            "context": "product",
            "product_id": "p1",
            "visitor_id": buyer,
        },
    ).get_json()
    assert answer["experiment"] == {"id": experiment_id, "variant": "content"}
    items = [item["product_id"] for item in answer["items"]]
    common = {
        "shop": "demo",
        "visitor_id": buyer,
        "session_id": "sess-1",
        "request_id": answer["request_id"],
        "context": "product",
        "slot": answer["slot"],
    }
    beacons = [
        {**common, "type": "impression", "product_id": p, "position": n}
        for n, p in enumerate(items, start=1)
    ] + [
        # A logged-in shopper's click: the page signed the customer (customer_token).
        {**common, "type": "click", "product_id": items[0], "position": 1, "customer_id": "c9"}
        | {"customer_token": customer_token(settings, "c9")}
    ]
    assert client.post("/api/v1/events", json=beacons).status_code == 202
    bought = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    shop_db.execute(
        "INSERT INTO orders (order_id, customer_id, created_at, updated_at) VALUES "
        "('o9', 'c9', ?, ?)",
        (bought, bought),
    )
    shop_db.execute(
        "INSERT INTO order_lines VALUES ('o9', 'a#0', ?, 'c9', ?, 3, 12.5)", (items[0], bought)
    )
    shop_db.conn.commit()
    far = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    samples = {s.name: s for s in variant_samples(shop_db, experiment, 24, far)}
    content = samples["content"]
    assert (content.impressions, content.clicks, content.converted_sessions) == (len(items), 1, 1)
    assert content.session_revenue.tolist() == [37.5]
    assert samples["control"].impressions == 0
    page = client.get(base).get_data(as_text=True)
    assert "37.50" in page


def test_a_variant_that_wins_clicks_and_loses_revenue_is_flagged_everywhere(client, shop_db):
    from experiment_traffic import simulate_clicks_up_revenue_down

    experiment_id = simulate_clicks_up_revenue_down(shop_db)
    base = f"/admin/demo/experiments/{experiment_id}"
    # On CTR alone, content would win: the verdict is blocked and says why.
    on_ctr = client.get(f"{base}?metric=ctr").get_data(as_text=True)
    assert "blocked by a guardrail" in on_ctr
    assert "content loses" in on_ctr and "revenue per session" in on_ctr
    assert '<option value="content"' not in on_ctr  # not offered for promotion
    # The default verdict is on revenue per session, and the list page agrees.
    page = client.get(base).get_data(as_text=True)
    assert "revenue per session (primary)" in page and 'id="guardrails"' in page
    listing = client.get("/admin/demo/experiments").get_data(as_text=True)
    assert 'class="badge bad guardrail" data-variant="content"' in listing
    # The server refuses the promotion too, and nothing changes in the settings.
    refused = client.post(
        f"{base}/promote",
        data={"csrf_token": csrf_of(client), "variant": "content"},
        follow_redirects=True,
    )
    assert "is not promoted" in refused.get_data(as_text=True)
    assert get_experiment(shop_db, experiment_id).winner is None
    assert get_shop_setting(shop_db, "weights") is None
    # The control passes its guardrails and can still be promoted.
    kept = client.post(
        f"{base}/promote",
        data={"csrf_token": csrf_of(client), "variant": "control"},
        follow_redirects=True,
    )
    assert "Promoted &#39;control&#39;" in kept.get_data(as_text=True)


def _shop_with_best_sellers(db: sqlite_utils.Database, n: int = 12) -> None:
    from storage.catalog import upsert_products

    upsert_products(
        db, [{"product_id": f"p{i}", "title": f"P{i}", "price": 10.0} for i in range(n)]
    )
    for i in range(n):
        db.execute(
            "INSERT INTO orders (order_id, customer_id, created_at, updated_at) "
            "VALUES (?, NULL, '2026-01-01T00:00:00', '2026-01-01T00:00:00')",
            (f"h{i}",),
        )
        db.execute(
            "INSERT INTO order_lines VALUES (?, 'x#0', ?, NULL, '2026-01-01T00:00:00', 1, 10.0)",
            (f"h{i}", f"p{i}"),
        )
    db.conn.commit()


def _served(client: FlaskClient, experiment_id: int, variant: str, shop_db) -> dict:
    experiment = get_experiment(shop_db, experiment_id)
    visitor = next(f"v{i}" for i in range(500) if assign_variant(experiment, f"v{i}") == variant)
    return client.get(
        "/api/v1/recommendations",
        query_string={"shop": "demo", "context": "home", "visitor_id": visitor, "limit": 12},
    ).get_json()


def _home_experiment(client: FlaskClient, shop_db, start: bool = False, **fields: str) -> int:
    """A home-page experiment created through the form (no holdout, no JSON); its id."""
    _shop_with_best_sellers(shop_db)
    form = _form(client, context="home", holdout_percent="0", variant2_profile="", **fields)
    created = client.post("/admin/demo/experiments", data=form)
    assert created.status_code == 302, created.get_data(as_text=True)
    experiment_id = int(created.headers["Location"].rsplit("/", 1)[1])
    if start:
        start_url = f"/admin/demo/experiments/{experiment_id}/start"
        client.post(start_url, data={"csrf_token": csrf_of(client)})
    return experiment_id


def test_a_volume_experiment_needs_no_json_and_serves_each_variant_its_count(client, shop_db):
    experiment_id = _home_experiment(
        client,
        shop_db,
        name="4 or 8 on home",
        variant1_name="four",
        variant1_limit="4",
        variant2_name="eight",
        variant2_limit="8",
    )
    experiment = get_experiment(shop_db, experiment_id)
    assert [v.profile for v in experiment.variants] == [{"limit": 4}, {"limit": 8}]
    base = f"/admin/demo/experiments/{experiment_id}"
    assert "shows 8 items" in client.get(base).get_data(as_text=True)
    client.post(f"{base}/start", data={"csrf_token": csrf_of(client)})
    four = _served(client, experiment_id, "four", shop_db)
    eight = _served(client, experiment_id, "eight", shop_db)
    assert (len(four["items"]), len(eight["items"])) == (4, 8)  # both asked for 12
    assert four["experiment"]["variant"] == "four"


def test_a_display_experiment_assigns_the_layout_over_the_pages(client, shop_db):
    experiment_id = _home_experiment(
        client,
        shop_db,
        start=True,
        name="layout",
        variant1_name="shop",
        variant2_name="grid",
        variant2_format="grid",
    )
    grid = _served(client, experiment_id, "grid", shop_db)["widget"]
    assert grid == {**grid, "format": "grid", "format_assigned": True}
    shop = _served(client, experiment_id, "shop", shop_db)["widget"]
    assert "format_assigned" not in shop


def test_a_placement_experiment_names_each_variants_position_in_the_answer(client, shop_db):
    experiment_id = _home_experiment(
        client,
        shop_db,
        start=True,
        name="where",
        variant1_name="top",
        variant1_placement="top",
        variant2_name="bottom",
        variant2_placement="bottom",
    )
    experiment = get_experiment(shop_db, experiment_id)
    assert [v.profile for v in experiment.variants] == [
        {"placement": "top"},
        {"placement": "bottom"},
    ]
    bottom = _served(client, experiment_id, "bottom", shop_db)
    assert bottom["experiment"] == {"id": experiment_id, "variant": "bottom", "placement": "bottom"}
    assert bottom["items"]  # the list itself is served; the page shows it where it is placed


def test_bad_item_counts_and_layouts_are_refused_beside_what_was_typed(client, shop_db):
    for extra, message in (
        ({"variant2_limit": "lots"}, "items shown must be a whole number"),
        ({"variant2_limit": "99"}, "items shown must be a whole number from 1 to 24"),
        ({"variant2_format": "marquee"}, "layout must be one of"),
        ({"variant2_placement": "<b>side</b>"}, "placement must be a short name"),
    ):
        response = client.post("/admin/demo/experiments", data=_form(client, **extra))
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert list_experiments(shop_db) == []
