"""The health page: inbox errors, parked pushes, sync, imports and model freshness, escaped."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
import sqlite_utils
from flask.testing import FlaskClient

from config import Settings
from storage.db import open_shop_db
from storage.deliveries import create_delivery, set_delivery_status
from storage.import_runs import finish_import_run, start_import_run
from storage.receipts import mark_receipt, store_receipt
from storage.shop_settings import set_shop_setting
from storage.sync_state import save_sync_state
from tests.admin_client import add_admin_user, log_in, make_admin_app


def _client(settings: Settings) -> FlaskClient:
    add_admin_user(settings, "demo")
    client = make_admin_app(settings).test_client()
    log_in(client)
    return client


@pytest.fixture
def shop(shop_db: sqlite_utils.Database) -> sqlite_utils.Database:
    receipt, _ = store_receipt(shop_db, "shopify", "orders/create", "d-1", {}, b"{}")
    mark_receipt(shop_db, receipt, "rejected", "line_items[0].price must be a number, got '<b>x'")
    store_receipt(shop_db, "shopify", "products/update", "d-2", {}, b"{}")
    shop_db.execute(
        "UPDATE webhook_receipts SET received_at = '2000-01-01T00:00:00' WHERE delivery_id = 'd-2'"
    )
    shop_db.conn.commit()
    row, _ = create_delivery(
        shop_db,
        idempotency_key="k-1",
        provider="klaviyo",
        campaign="browse",
        customer_id="c-7",
        timer_id=None,
        summary={},
        payload={},
    )
    set_delivery_status(shop_db, row["delivery_id"], "parked", "HTTP 400: invalid profile id")
    save_sync_state(shop_db, "shopify:products", status="error", error="HTTP 401 from Shopify")
    run = start_import_run(shop_db, "orders", "csv", "orders.csv")
    finish_import_run(
        shop_db,
        run,
        rows_read=3,
        rows_stored=2,
        rows_rejected=1,
        rows_skipped=0,
        summary={"first_rejections": ["line 3: quantity must be an integer, got 'x'"]},
    )
    return shop_db


def test_page_lists_every_problem_with_its_error(settings: Settings, shop: object) -> None:
    page = _client(settings).get("/admin/demo/health").get_data(as_text=True)
    assert "line_items[0].price must be a number, got &#39;&lt;b&gt;x&#39;" in page
    assert "<b>x" not in page
    assert "products/update" in page  # pending since 2000: stuck
    assert "HTTP 400: invalid profile id" in page and "parked: 1" in page
    assert "HTTP 401 from Shopify" in page
    assert "line 3: quantity must be an integer" in page
    assert "not trained" in page


def test_empty_shop_reads_as_empty(settings: Settings, shop_db: sqlite_utils.Database) -> None:
    page = _client(settings).get("/admin/demo/health").get_data(as_text=True)
    assert "No deliveries." in page and "No webhooks received yet." in page
    assert "No imports yet." in page


def test_missing_deliveries_table_reads_as_no_deliveries(
    settings: Settings, shop_db: sqlite_utils.Database
) -> None:
    shop_db.execute("DROP TABLE delivery_attempts")
    shop_db.execute("DROP TABLE deliveries")
    page = _client(settings).get("/admin/demo/health").get_data(as_text=True)
    assert "No deliveries." in page


def test_trained_models_show_their_age_and_trust(trained_settings: Settings) -> None:
    page = _client(trained_settings).get("/admin/demo/health").get_data(as_text=True)
    assert "hours ago" in page and "since then: 0 orders" in page
    for name in ("popularity", "collaborative", "content"):
        assert f"<td>{name}</td>" in page


def test_orders_stored_after_training_count_as_new(trained_settings: Settings) -> None:
    from storage.db import open_shop_db
    from storage.orders import upsert_orders

    manifest = trained_settings.shop_dir("demo") / "models" / "manifest.json"
    hour_ago = time.time() - 3600
    os.utime(manifest, (hour_ago, hour_ago))  # trained an hour ago, whatever the fixture did
    client = _client(trained_settings)

    def orders_since() -> int:
        page = client.get("/admin/demo/health").get_data(as_text=True)
        return int(re.search(r"since then: (\d+) orders", page).group(1))  # type: ignore[union-attr]

    before = orders_since()
    db = open_shop_db(trained_settings.data_dir, "demo")
    upsert_orders(db, [{"order_id": "late-1", "created_at": "2001-01-01T00:00:00"}])
    db.close()
    assert orders_since() == before + 1  # stored now, though dated 2001


def test_learned_weights_and_a_dropped_source_are_shown(trained_settings: Settings) -> None:
    manifest_path = trained_settings.shop_dir("demo") / "models" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    slot = "product/frequently_bought_together"
    manifest["learned_weights"] = {slot: {"rules": 0.7, "popularity": 0.3}}
    manifest["validation"] = {
        "holdout_from": "2026-01-01T00:00:00+00:00",
        slot: {
            "status": "validated",
            "noise": 0.04,
            "weights": {"rules": 0.7, "popularity": 0.3},
            "dropped": {"content": "alone HR@8 0.051, a random list 0.040: no signal"},
            "rows": [
                {"name": "rules alone (its own ranking)", "hr": 0.31},
                {"name": "content alone (its own ranking)", "hr": 0.051},
            ],
        },
        "home/for_you": {"status": "defaults", "why": "built-in weights: too few orders"},
    }
    manifest_path.write_text(json.dumps(manifest))
    page = _client(trained_settings).get("/admin/demo/health").get_data(as_text=True)
    assert "In effect (learned at training)" in page and "rules 0.70" in page
    assert "Content: 0.051 alone, random 0.040 — not used: no better than chance" in page
    assert "Rules: 0.310 alone, random 0.040</li>" in page
    assert "In effect (built-in)" in page and "too few orders" in page
    assert "retrained at least daily" in page


def test_an_owner_weight_setting_wins_over_learned_ones(trained_settings: Settings) -> None:
    manifest_path = trained_settings.shop_dir("demo") / "models" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    slot = "product/frequently_bought_together"
    manifest["learned_weights"] = {slot: {"rules": 0.7, "popularity": 0.3}}
    manifest["validation"] = {slot: {"status": "validated", "noise": 0.04, "rows": []}}
    manifest_path.write_text(json.dumps(manifest))
    settings_page = _client(trained_settings).get("/admin/demo/settings").get_data(as_text=True)
    assert 'value="0.7"' in settings_page  # learned weights are the effective defaults
    db = open_shop_db(trained_settings.data_dir, "demo")
    set_shop_setting(db, "weights", {slot: {"confidence": 1.0}})
    page = _client(trained_settings).get("/admin/demo/health").get_data(as_text=True)
    assert "In effect (owner setting)" in page and "confidence 1.00" in page
    assert "learned at training" not in page


@pytest.mark.parametrize(("max_age_hours", "age_hours", "stale"), [(24, 3, False), (2, 3.5, True)])
def test_model_age_is_judged_against_the_workers_retrain_target(
    trained_settings: Settings, max_age_hours: float, age_hours: float, stale: bool
) -> None:
    from dataclasses import replace

    settings = replace(trained_settings, retrain_max_age_hours=max_age_hours)
    manifest = settings.shop_dir("demo") / "models" / "manifest.json"
    then = time.time() - age_hours * 3600
    os.utime(manifest, (then, then))
    page = _client(settings).get("/admin/demo/health").get_data(as_text=True)
    assert ("stale: retrain" in page) is stale and ('badge good">fresh' in page) is not stale
    target = "daily" if max_age_hours == 24 else f"every {max_age_hours:g} hours"
    assert f"retrained at least {target}, and sooner once orders grow 2%" in page
