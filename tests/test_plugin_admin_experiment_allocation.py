"""The admin side of automatic allocation: the form's mode and floor, and the split over time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlite_utils
from experiment_traffic import simulate_running_automatic
from flask.testing import FlaskClient

from config import Settings
from plugin.admin.experiment_assignment import DEFAULT_SNAPSHOTS
from storage.experiments import get_experiment, list_experiments
from tests.admin_client import add_admin_user, csrf_of, log_in, make_admin_app
from worker.reallocation import reallocate


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
        "name": "4 or 8",
        "context": "product",
        "holdout_percent": "10",
        "variant1_name": "four",
        "variant1_limit": "4",
        "variant2_name": "eight",
        "variant2_limit": "8",
        "allocation": "automatic",
        "min_share_percent": "15",
    }
    form.update(extra)
    return form


def test_the_form_creates_an_automatic_experiment_with_its_floor(client, shop_db):
    page = client.get("/admin/demo/experiments").get_data(as_text=True)
    assert 'name="allocation"' in page and "automatic (Thompson sampling)" in page
    created = client.post("/admin/demo/experiments", data=_form(client))
    assert created.status_code == 302
    (experiment,) = list_experiments(shop_db)
    assert (experiment.allocation, experiment.min_share) == ("automatic", 0.15)
    listed = client.get("/admin/demo/experiments").get_data(as_text=True)
    assert '<span class="badge">automatic</span>' in listed

    refused = client.post("/admin/demo/experiments", data=_form(client, min_share_percent="60"))
    assert refused.status_code == 400
    assert "minimum share must be between 0 and 50%" in refused.get_data(as_text=True)
    fixed = client.post("/admin/demo/experiments", data=_form(client, allocation="fixed"))
    assert fixed.status_code == 302
    assert list_experiments(shop_db)[0].allocation == "fixed"


def test_the_detail_page_shows_the_split_over_time(client, shop_db):
    experiment_id = simulate_running_automatic(shop_db)
    reallocate(shop_db, 24, now=datetime(2024, 3, 3, tzinfo=UTC))
    page = client.get(f"/admin/demo/experiments/{experiment_id}").get_data(as_text=True)
    table = page[page.index('<table id="allocation">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr data-state="(\w+)">(.*?)</tr>', table, re.S)
    assert [state for state, _ in rows] == ["current", "past"]  # newest first
    shares = [dict(re.findall(r'data-arm="(\w+)">([\d.]+)%', cells)) for _, cells in rows]
    assert shares[1] == {"holdout": "10.0", "a": "45.0", "b": "45.0"}  # the weights, at start
    assert shares[0]["holdout"] == "10.0"
    assert float(shares[0]["b"]) > 75.0
    stored = get_experiment(shop_db, experiment_id).allocations[0].shares
    assert shares[0]["b"] == f"{100 * stored['b']:.1f}"


def test_the_split_over_time_is_drawn_one_bar_per_split(client, shop_db):
    experiment_id = simulate_running_automatic(shop_db)
    reallocate(shop_db, 24, now=datetime(2024, 3, 3, tzinfo=UTC))
    page = client.get(f"/admin/demo/experiments/{experiment_id}").get_data(as_text=True)
    chart = page[page.index('id="allocation-chart"') :]
    chart = chart[: chart.index("</svg>")]
    bars = re.findall(r'data-arm="(\w+)" data-share="([\d.]+)"', chart)
    # Two splits (the weights at the start, then the automatic one), three arms each.
    assert [arm for arm, _ in bars] == ["holdout", "a", "b"] * 2
    assert [float(share) for _, share in bars[:3]] == [0.1, 0.45, 0.45]
    stored = get_experiment(shop_db, experiment_id).allocations[0].shares
    assert float(bars[5][1]) == pytest.approx(stored["b"], abs=1e-4)


def test_variant_names_are_escaped_in_the_chart() -> None:
    from plugin.admin.charts import split_chart

    svg = str(split_chart([("start", {"<script>x</script>": 1.0})], "split"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert str(split_chart([], "nothing yet")).endswith("</svg>")


def _chart_of(page: str) -> str:
    chart = page[page.index('id="allocation-chart"') :]
    return chart[: chart.index("</svg>")]


def test_the_chart_has_a_series_per_variant_ending_at_the_stored_split(client, shop_db):
    from storage.experiments import create_experiment

    label = "<script>alert(1)</script>"
    experiment_id = create_experiment(
        shop_db,
        "escaped",
        "product",
        [{"name": "plain", "profile": {"limit": 4}}, {"name": label, "profile": {"limit": 8}}],
        holdout_share=0.2,
        allocation="automatic",
        min_share=0.1,
    )
    client.post(
        f"/admin/demo/experiments/{experiment_id}/start", data={"csrf_token": csrf_of(client)}
    )
    stored = reallocate(shop_db, 24, now=datetime(2024, 3, 3, tzinfo=UTC))[0]["shares"]
    page = client.get(f"/admin/demo/experiments/{experiment_id}").get_data(as_text=True)
    assert label not in page
    chart = _chart_of(page)
    assert "<desc>" in chart and "<title>" in chart
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    bars = re.findall(r'data-arm="([^"]+)" data-share="([\d.]+)"', chart)
    arms = ["holdout", "plain", escaped]
    assert [arm for arm, _ in bars] == arms * 2  # every split draws every variant, in one order
    final = dict(bars[3:])
    assert float(final["holdout"]) == pytest.approx(0.2)
    assert float(final[escaped]) == pytest.approx(stored[label], abs=1e-4)
    assert float(final["plain"]) == pytest.approx(stored["plain"], abs=1e-4)
    legend = re.findall(r'font-size="11">([^<]+)</text>', chart.split("</rect>")[-1])
    assert legend == arms


def test_reallocate_now_stores_a_new_split_and_says_so(client, shop_db):
    experiment_id = simulate_running_automatic(shop_db)
    url = f"/admin/demo/experiments/{experiment_id}"
    assert 'id="reallocate"' in client.get(url).get_data(as_text=True)
    refused = client.post(f"{url}/reallocate")  # no CSRF token
    assert refused.status_code in (400, 403)
    assert get_experiment(shop_db, experiment_id).allocations == ()
    done = client.post(f"{url}/reallocate", data={"csrf_token": csrf_of(client)})
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    (allocation,) = get_experiment(shop_db, experiment_id).allocations
    assert allocation.shares["b"] > 0.75  # b converts three times as often
    page = client.get(url).get_data(as_text=True)
    assert "New split stored, in effect from" in page
    assert f"b {100 * allocation.shares['b']:.1f}%" in page


def test_reallocate_now_is_refused_for_a_draft(client, shop_db):
    created = client.post("/admin/demo/experiments", data=_form(client))
    url = created.headers["Location"]
    assert 'id="reallocate"' not in client.get(url).get_data(as_text=True)
    refused = client.post(f"{url}/reallocate", data={"csrf_token": csrf_of(client)})
    assert refused.status_code == 302
    (experiment,) = list_experiments(shop_db)
    assert experiment.allocations == ()
    assert "only a running experiment" in client.get(url).get_data(as_text=True)


def test_the_chart_draws_the_latest_splits_and_the_table_keeps_every_one(client, shop_db):
    from plugin.admin.experiments import CHART_SPLITS

    experiment_id = simulate_running_automatic(shop_db)
    for day in range(CHART_SPLITS + 3):  # more splits than the chart draws
        reallocate(shop_db, 24, now=datetime(2024, 3, 3 + day // 24, day % 24, tzinfo=UTC))
    page = client.get(f"/admin/demo/experiments/{experiment_id}").get_data(as_text=True)
    chart = page[page.index('id="allocation-chart"') :]
    chart = chart[: chart.index("</svg>")]
    splits = len(get_experiment(shop_db, experiment_id).allocations) + 1  # and the start
    assert splits > CHART_SPLITS
    assert len(re.findall(r'data-arm="holdout" data-share', chart)) == CHART_SPLITS
    assert f"the latest {CHART_SPLITS} of {splits}" in chart
    table = page[page.index('<table id="allocation">') :]
    assert len(re.findall(r"<tr data-state=", table[: table.index("</table>")])) == splits
