"""The admin in headless Chromium against a real server on the trained demo shop: log in, see the
overview with the shop's figures, change a weight and see the next recommendation change,
visit every page, create an experiment; screenshots go to test-artifacts/admin-*.png.

The browser and page fixtures are in tests/browser/conftest.py.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer, start_server

from storage.admin_users import set_admin_password
from storage.db import open_shop_db

pytestmark = pytest.mark.playwright

SHOP = "demo"
USER, PASSWORD = "owner", "browser test passphrase"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SLOT = "also_viewed"


@pytest.fixture
def viewport() -> dict[str, int]:
    """Wider than the widget tests' pages, for the admin tables in the screenshots."""
    return {"width": 1280, "height": 900}


@pytest.fixture
def server(
    browser: Any, trained_demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """`shoprec serve --dev` on a copy of the trained shop, with an admin login and a secret."""
    data_dir = tmp_path / "data"
    shutil.copytree(trained_demo_data, data_dir)
    db = open_shop_db(data_dir, SHOP, create=False)
    set_admin_password(db, USER, PASSWORD)
    db.close()
    monkeypatch.setenv("SHOPREC_SECRET_KEY", "browser-test-secret-0123456789")
    monkeypatch.setenv("SHOPREC_SECURE_COOKIES", "false")  # plain http on 127.0.0.1
    live = start_server(data_dir, tmp_path / "server.log", "--dev")
    yield live
    live.stop()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def query(server: LiveServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(server.data_dir / SHOP / "shop.db", timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def poll(fetch: Callable[[], Any], seconds: float = 8.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not fetch():
        time.sleep(0.1)
    return fetch()


def count_events(server: LiveServer, kind: str) -> int:
    return int(query(server, "SELECT count(*) FROM events WHERE type = ?", kind)[0][0])


def settled(fetch: Callable[[], int], quiet_s: float = 1.0, seconds: float = 10.0) -> int:
    """`fetch`'s value once it is non-zero and has not moved for quiet_s (late beacons)."""
    deadline = time.monotonic() + seconds
    last, since = fetch(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = fetch()
        if now != last:
            last, since = now, time.monotonic()
        elif last and time.monotonic() - since >= quiet_s:
            break
    return last


def best_seller(server: LiveServer) -> str:
    sql = (
        "SELECT product_id FROM order_lines GROUP BY product_id ORDER BY sum(quantity) DESC LIMIT 1"
    )
    return str(query(server, sql)[0][0])


def served_ids(server: LiveServer, product_id: str) -> list[str]:
    url = (
        f"{server.url}/api/v1/recommendations?shop={SHOP}&context=product&slot={SLOT}"
        f"&product_id={product_id}&limit=8"
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        return [item["product_id"] for item in json.load(response)["items"]]


def log_in(page: Any, server: LiveServer, artifacts: Path) -> None:
    page.goto(f"{server.url}/admin/{SHOP}/overview")
    assert "/admin/login?next=" in page.url
    page.fill('input[name="user"]', USER)
    page.fill('input[name="password"]', PASSWORD)
    page.screenshot(path=str(artifacts / "admin-login.png"))
    with page.expect_navigation():
        page.click('button:has-text("Log in")')
    assert page.url.endswith(f"/admin/{SHOP}/overview")


def test_owner_logs_in_sees_figures_and_a_weight_change_reaches_the_storefront(
    page: Any, server: LiveServer, artifacts: Path
) -> None:
    anchor = best_seller(server)
    # Shoppers first: the demo storefront's widgets report impressions; one card is clicked.
    page.goto(f"{server.url}/demo/product/{anchor}")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-shoprec-state=ready]').length >= n", arg=3
    )
    with page.expect_navigation():
        page.locator('[data-slot="similar"] .shoprec-card a').first.click()
    assert poll(lambda: count_events(server, "click")) == 1
    page.goto("about:blank")
    impressions = settled(lambda: count_events(server, "impression"))
    assert impressions > 0

    log_in(page, server, artifacts)
    shown = page.locator('[data-metric="impressions"]').inner_text().replace(",", "")
    assert int(shown) == impressions
    assert page.locator('[data-metric="clicks"]').inner_text() == "1"
    assert page.locator("#per-context tr[data-context=product]").count() == 1
    page.screenshot(path=str(artifacts / "admin-overview.png"), full_page=True)

    before = served_ids(server, anchor)
    page.goto(f"{server.url}/admin/{SHOP}/settings")
    row = f"product/{SLOT}"
    for source, value in (("collaborative", "0"), ("content", "0"), ("rules", "0")):
        page.fill(f'input[name="w.{row}.{source}"]', value)
    page.fill(f'input[name="w.{row}.popularity"]', "1")
    with page.expect_navigation():
        page.click('button:has-text("Save weights")')
    assert "Saved weights" in page.locator(".flash-success").inner_text()
    assert page.locator("#history td", has_text=USER).count() >= 1
    page.screenshot(path=str(artifacts / "admin-settings.png"), full_page=True)
    after = served_ids(server, anchor)
    assert after != before and len(after) == len(before)
    best_sellers = [r[0] for r in query(server, "SELECT product_id FROM order_lines GROUP BY "
                                        "product_id ORDER BY count(*) DESC LIMIT 40")]  # fmt: skip
    assert sum(p in best_sellers for p in after) > sum(p in best_sellers for p in before)

    page.goto(f"{server.url}/admin/{SHOP}/explore?product_id={anchor}")
    preview = page.locator(f'table.preview[data-context=product][data-slot="{SLOT}"] tbody tr')
    ids = [preview.nth(i).locator("code").inner_text() for i in range(preview.count())]
    assert ids == after
    page.screenshot(path=str(artifacts / "admin-explore.png"), full_page=True)
    for name in ("quality", "health", "privacy"):
        page.goto(f"{server.url}/admin/{SHOP}/{name}")
        assert page.locator("h1").inner_text()
        page.screenshot(path=str(artifacts / f"admin-{name}.png"), full_page=True)
    assert page.page_errors == []


def test_owner_creates_an_experiment(page: Any, server: LiveServer, artifacts: Path) -> None:
    log_in(page, server, artifacts)
    response = page.goto(f"{server.url}/admin/{SHOP}/experiments")
    if response.status == 404:
        pytest.skip("the experiments page is not in this build yet")
    form = page.locator("form#create-experiment")
    form.locator('input[name="name"]').fill("Popular also-viewed")
    form.locator('select[name="context"]').select_option("product")
    form.locator('input[name="holdout_percent"]').fill("10")
    profile = json.dumps({"weights": {f"product/{SLOT}": {"popularity": 1}}})
    form.locator('textarea[name="variant2_profile"]').fill(profile)
    page.screenshot(path=str(artifacts / "admin-experiments.png"), full_page=True)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    assert page.get_by_text("Popular also-viewed").count() >= 1
    start = page.locator('form[action$="/start"] button')
    if start.count():
        with page.expect_navigation():
            start.click()
    rows = query(server, "SELECT name, context, status, holdout_share FROM experiments")
    assert rows == [("Popular also-viewed", "product", "running", 0.1)]
    page.screenshot(path=str(artifacts / "admin-experiment-created.png"), full_page=True)
    assert page.page_errors == []


def test_a_click_winner_that_loses_revenue_is_flagged_and_not_offered(
    page: Any, server: LiveServer, artifacts: Path
) -> None:
    from experiment_traffic import simulate_clicks_up_revenue_down

    db = open_shop_db(server.data_dir, SHOP, create=False)
    try:
        experiment_id = simulate_clicks_up_revenue_down(db)
    finally:
        db.close()
    log_in(page, server, artifacts)
    page.goto(f"{server.url}/admin/{SHOP}/experiments/{experiment_id}?metric=ctr")
    assert page.locator("#verdict").inner_text().startswith("blocked by a guardrail")
    alert = page.locator("#guardrails")
    assert alert.is_visible() and "content loses" in alert.inner_text()
    offered = page.locator('#promote select[name="variant"] option').all_inner_texts()
    assert offered == ["control"]
    page.screenshot(path=str(artifacts / "admin-experiment-guardrail.png"), full_page=True)
    page.goto(f"{server.url}/admin/{SHOP}/experiments")
    flagged = page.locator(f'tr[data-experiment="{experiment_id}"] .guardrail')
    assert flagged.inner_text() == "content: loses revenue"
    assert page.page_errors == []


def test_owner_creates_a_volume_experiment_without_json(
    page: Any, server: LiveServer, artifacts: Path
) -> None:
    from storage.experiments import assign_variant, get_experiment

    log_in(page, server, artifacts)
    page.goto(f"{server.url}/admin/{SHOP}/experiments")
    form = page.locator("form#create-experiment")
    form.locator('input[name="name"]').fill("Four or eight on home")
    form.locator('select[name="context"]').select_option("home")
    form.locator('input[name="variant1_name"]').fill("four")
    form.get_by_label("variant 1 items shown").fill("4")
    form.locator('input[name="variant2_name"]').fill("eight")
    form.get_by_label("variant 2 items shown").fill("8")
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    assert "shows 8 items" in page.locator("#variants").inner_text()
    with page.expect_navigation():
        page.locator('form[action$="/start"] button').click()
    page.screenshot(path=str(artifacts / "admin-experiment-volume.png"), full_page=True)
    (row,) = query(
        server, "SELECT experiment_id, variants FROM experiments WHERE name LIKE 'Four%'"
    )
    assert [v["profile"] for v in json.loads(row[1])] == [{"limit": 4}, {"limit": 8}]
    db = open_shop_db(server.data_dir, SHOP, create=False)
    try:
        experiment = get_experiment(db, row[0])
    finally:
        db.close()
    lengths = {}
    for n in range(400):
        arm = assign_variant(experiment, f"browser-visitor-{n}")
        if arm in ("four", "eight") and arm not in lengths:
            url = (
                f"{server.url}/api/v1/recommendations?shop={SHOP}&context=home&limit=12"
                f"&visitor_id=browser-visitor-{n}"
            )
            with urllib.request.urlopen(url, timeout=10) as response:
                lengths[arm] = len(json.load(response)["items"])
    assert lengths == {"four": 4, "eight": 8}
    assert page.page_errors == []


ADMIN_PAGES = (
    "overview", "settings", "explore", "quality", "health", "privacy", "experiments", "email",
)  # fmt: skip
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("width", [1280, 390])
def test_every_admin_page_fits_the_screen(
    page: Any, server: LiveServer, artifacts: Path, width: int
) -> None:
    """Screenshots of every page at a desktop and a phone width, none wider than the screen
    (wide tables scroll inside their own box)."""
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, server, artifacts)
    anchor = best_seller(server)
    for name in ADMIN_PAGES:
        suffix = f"?product_id={anchor}" if name == "explore" else ""
        page.goto(f"{server.url}/admin/{SHOP}/{name}{suffix}")
        assert page.locator("h1").inner_text()
        page.screenshot(path=str(artifacts / f"admin-{name}-{width}.png"), full_page=True)
        assert page.evaluate(OVERFLOW) <= 0, f"{name} overflows at {width} px"
    assert page.page_errors == []


def test_owner_previews_a_rule_change_with_the_form_controls(
    page: Any, server: LiveServer, artifacts: Path
) -> None:
    log_in(page, server, artifacts)
    page.goto(f"{server.url}/admin/{SHOP}/settings#rules")
    rules = page.locator("section#rules form").first
    rules.get_by_label("At most this many items of one category").fill("1")
    with page.expect_navigation():
        rules.get_by_role("button", name="Preview before saving").click()
    preview = page.locator("#preview-rules")
    assert preview.is_visible()
    assert int(preview.get_attribute("data-moved")) > 0
    assert page.locator("#preview-rules tr.changed").count() > 0
    page.screenshot(path=str(artifacts / "admin-settings-preview.png"), full_page=True)
    stored = query(server, "SELECT count(*) FROM shop_settings WHERE key = 'rules'")
    assert stored == [(0,)]  # a preview stores nothing
    assert page.page_errors == []


def test_an_automatic_experiment_shows_its_split_over_time(
    page: Any, server: LiveServer, artifacts: Path
) -> None:
    from datetime import UTC, datetime

    from experiment_traffic import simulate_running_automatic

    from worker.reallocation import reallocate

    db = open_shop_db(server.data_dir, SHOP, create=False)
    try:
        experiment_id = simulate_running_automatic(db)
        reallocate(db, 24, now=datetime(2024, 3, 3, tzinfo=UTC))
    finally:
        db.close()
    log_in(page, server, artifacts)
    page.goto(f"{server.url}/admin/{SHOP}/experiments/{experiment_id}")
    table = page.locator("table#allocation")
    assert table.is_visible()
    states = [r.get_attribute("data-state") for r in table.locator("tbody tr").all()]
    assert states == ["current", "past"]
    current = table.locator('tr[data-state="current"]')
    assert current.locator('[data-arm="holdout"]').inner_text().startswith("10.0")
    assert float(current.locator('[data-arm="b"]').inner_text().rstrip("%")) > 75.0
    assert page.locator("svg#allocation-chart").is_visible()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(
            path=str(artifacts / f"admin-experiment-allocation-{width}.png"), full_page=True
        )
        assert page.evaluate(OVERFLOW) <= 0, f"the experiment page overflows at {width} px"
    with page.expect_navigation():
        page.get_by_role("button", name="Reallocate now").click()
    assert "New split stored" in page.locator(".flash-success").inner_text()
    # The new split is stored and takes effect a minute later: listed as the next one.
    assert table.locator('tr[data-state="pending"]').count() == 1
    assert page.evaluate(OVERFLOW) <= 0
    assert page.page_errors == []
