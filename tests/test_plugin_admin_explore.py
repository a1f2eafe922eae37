"""Explore: the preview equals what the storefront serves, with per-model scores; FBT pairs."""

from __future__ import annotations

import re

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from config import Settings
from plugin.admin.explore import fbt_pairs
from plugin.storefront.api import SERVICE_KEY
from tests.admin_client import add_admin_user, log_in, make_admin_app


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return trained_settings


@pytest.fixture
def app(settings: Settings) -> Flask:
    add_admin_user(settings, "demo")
    return make_admin_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in(client)
    return client


def _preview_ids(page: str, context: str, slot: str) -> list[str]:
    table = page.split(f'data-context="{context}" data-slot="{slot}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<td><code>([^<]+)</code></td>", table)


def test_product_preview_is_what_the_storefront_serves(client: FlaskClient, anchor: str) -> None:
    page = client.get(f"/admin/demo/explore?product_id={anchor}").get_data(as_text=True)
    for slot in ("frequently_bought_together", "also_viewed", "similar"):
        served = client.get(
            f"/api/v1/recommendations?shop=demo&context=product&slot={slot}"
            f"&product_id={anchor}&limit=8"
        ).get_json()
        assert _preview_ids(page, "product", slot) == [i["product_id"] for i in served["items"]]
        assert served["items"], slot
    assert "needs a product id" not in page


def test_preview_shows_each_items_reason_and_model_scores(client: FlaskClient, anchor: str) -> None:
    page = client.get(f"/admin/demo/explore?product_id={anchor}").get_data(as_text=True)
    table = page.split('data-slot="frequently_bought_together"', 1)[1].split("</table>", 1)[0]
    first_row = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', first_row)
    # position, then blend + one column per model: the blend and at least one model scored.
    assert cells[0] == "1" and cells[1] and any(c for c in cells[2:])
    header = table.split("</thead>", 1)[0]
    for name in ("blend", "rules", "collaborative", "content", "taste", "popularity", "trending"):
        assert f">{name}</th>" in header


def test_customer_preview_shows_their_orders_and_anchors_on_the_last_one(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    customer = db.execute(
        "SELECT customer_id FROM order_lines WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    last = db.execute(
        "SELECT order_id FROM orders WHERE customer_id = ? AND status = 'paid' "
        "ORDER BY created_at DESC, order_id DESC LIMIT 1",
        (customer,),
    ).fetchone()[0]
    bought = [
        r[0]
        for r in db.execute(
            "SELECT product_id FROM order_lines WHERE order_id = ? AND quantity > 0 "
            "ORDER BY line_key",
            (last,),
        )
    ]
    page = client.get(f"/admin/demo/explore?customer_id={customer}").get_data(as_text=True)
    assert len(_preview_ids(page, "home", "for_you")) == 8
    history = page.split('id="customer-history"', 1)[1].split("</table>", 1)[0]
    assert f"<code>{last}</code>" in history and all(pid in history for pid in bought)
    assert "needs a product id" not in page
    # The thank-you page's list is what the storefront serves for that order.
    served = client.get(
        "/api/v1/recommendations?shop=demo&context=post_purchase&limit=8&"
        + "&".join(f"product_id={pid}" for pid in dict.fromkeys(bought))
        + f"&customer_id={customer}"
    ).get_json()
    assert _preview_ids(page, "post_purchase", "also_bought") == [
        i["product_id"] for i in served["items"]
    ]


def test_a_customer_without_orders_is_said_so(client: FlaskClient) -> None:
    page = client.get("/admin/demo/explore?customer_id=nobody-42").get_data(as_text=True)
    assert "No orders for this customer id" in page
    assert "needs a product id, or a customer with orders" in page


def test_bad_ids_and_sort_are_named_with_400(client: FlaskClient) -> None:
    response = client.get("/admin/demo/explore?customer_id=%3Cx%3E%20y&sort=lfit")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "sort must be one of" in page
    assert "customer_id" in page and "<x>" not in page


def test_fbt_pairs_sort_search_and_page(app: Flask, db: sqlite_utils.Database) -> None:
    models = app.extensions[SERVICE_KEY].model_cache.get("demo")
    titles = {pid: title for pid, title in db.execute("SELECT product_id, title FROM products")}
    rows, total = fbt_pairs(models, titles, "", "lift", 0)
    assert total > 50 and len(rows) == 50
    lifts = [r["lift"] for r in rows]
    assert lifts == sorted(lifts, reverse=True)
    second, _ = fbt_pairs(models, titles, "", "lift", 1)
    assert second[0]["lift"] <= lifts[-1] and second[0] != rows[-1]
    word = rows[0]["title"].split()[0]
    found, found_total = fbt_pairs(models, titles, word.upper(), "confidence", 0)
    assert 0 < found_total <= total
    assert all(word.lower() in (r["title"] + " " + r["with_title"]).lower() for r in found)
    for row in rows:
        assert 0 < row["support"] <= 1 and 0 < row["confidence"] <= 1


def test_pairs_table_renders_on_the_page(client: FlaskClient) -> None:
    page = client.get("/admin/demo/explore?sort=significance&page=2").get_data(as_text=True)
    assert 'id="fbt-pairs"' in page and "page 2 of" in page
    assert page.count("<tr><td><code>") >= 50


def test_unknown_product_previews_without_error(client: FlaskClient) -> None:
    response = client.get("/admin/demo/explore?product_id=no-such-product")
    assert response.status_code == 200
    assert "(not in the catalog)" in response.get_data(as_text=True)


def test_visitor_preview_follows_their_experiment_variant(
    client: FlaskClient, db: sqlite_utils.Database, anchor: str
) -> None:
    from plugin.admin.experiment_assignment import assignment_for
    from storage.experiments import create_experiment, start_experiment

    variants = [
        {"name": "control", "weight": 1, "profile": {}},
        {"name": "b", "weight": 1, "profile": {"weights": {"product": {"popularity": 1}}}},
    ]
    experiment = create_experiment(db, "Popular", "product", variants, holdout_share=0.5)
    start_experiment(db, experiment)
    found: dict[str, str] = {}
    for n in range(200):
        got = assignment_for(db, f"visitor-{n}", "product")
        assert got is not None
        found.setdefault("holdout" if got.holdout else got.variant, f"visitor-{n}")
    held = client.get(f"/admin/demo/explore?product_id={anchor}&visitor_id={found['holdout']}")
    page = held.get_data(as_text=True)
    assert f"in experiment {experiment}: holdout, shown no recommendations" in page
    assert _preview_ids(page, "product", "similar") == []
    assert len(_preview_ids(page, "cart", "upgrade")) > 0  # other contexts are not in it
    in_b = client.get(f"/admin/demo/explore?product_id={anchor}&visitor_id={found['b']}")
    page = in_b.get_data(as_text=True)
    assert f"in experiment {experiment}: variant b" in page
    served = client.get(
        f"/api/v1/recommendations?shop=demo&context=product&slot=similar&product_id={anchor}"
        f"&limit=8&visitor_id={found['b']}"
    ).get_json()
    assert _preview_ids(page, "product", "similar") == [i["product_id"] for i in served["items"]]
