"""widget.js in headless Chromium against the real app: cards, beacons, failures, layout shift.

The server is `shoprec serve --dev` in a subprocess on a free port (its log is shown when it
fails to start); the browser is Debian's /usr/bin/chromium driven by Playwright, so these
tests are skipped with a clear reason where it is not installed (tests/browser/conftest.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer, free_port, start_server

from plugin.storefront.shopper_identity import ensure_identity_secret
from plugin.storefront.shopper_tokens import make_shopper_token
from storage.db import open_shop_db
from storage.experiments import HOLDOUT, assign_variant, create_experiment, start_experiment
from storage.shop_settings import set_shop_setting

pytestmark = pytest.mark.playwright

SHOP = "demo"

PDP_SLOTS = ("frequently_bought_together", "also_viewed", "similar")
READY = "n => document.querySelectorAll('[data-shoprec-state=ready]').length >= n"
CLS_OBSERVER = """
window.__cls = 0;
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({type: "layout-shift", buffered: true});
"""


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def trained_data(trained_demo_data: Path, chromium_path: Path) -> Path:
    """The session's trained demo shop, once Chromium is known to be there."""
    return trained_demo_data


def serve_copy(trained: Path, folder: Path) -> LiveServer:
    data_dir = folder / "data"
    shutil.copytree(trained, data_dir)
    return start_server(data_dir, folder / "server.log", "--dev")


@pytest.fixture(scope="session")
def live_server(
    trained_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The trained shop served on a free port, shared: tests tell their events apart by the
    browser session id (each test has its own browser context, so its own sessionStorage)."""
    server = serve_copy(trained_data, tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture
def private_server(trained_data: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of this test's own, for a test that kills it."""
    server = serve_copy(trained_data, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def host_site() -> Iterator[Callable[[str], str]]:
    """A second origin serving pages we give it: a shop page embedding the widget cross-origin."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        path = f"/page{len(pages)}.html"
        pages[path] = html.encode("utf-8")
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield publish
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def my_events(page: Any, server: LiveServer, kind: str) -> list[sqlite3.Row]:
    """This browser session's stored events of one type, once any have arrived."""
    session = page.evaluate("sessionStorage.getItem('shoprec_sid')")
    assert session
    sql = "SELECT * FROM events WHERE type = ? AND session_id = ? ORDER BY event_id"
    return poll(lambda: query(server.data_dir, sql, kind, session))


def query(data_dir: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(data_dir / SHOP / "shop.db", timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def poll(fetch: Callable[[], list[Any]], seconds: float = 8.0) -> list[Any]:
    """What `fetch` returns once it is non-empty (beacons arrive asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = fetch()
        if rows:
            return rows
        time.sleep(0.1)
    return fetch()


def best_seller(server: LiveServer) -> str:
    return str(
        query(
            server.data_dir,
            "SELECT product_id FROM order_lines GROUP BY product_id "
            "ORDER BY sum(quantity) DESC, product_id LIMIT 1",
        )[0][0]
    )


def cards(page: Any, slot: str) -> Any:
    return page.locator(f'[data-slot="{slot}"] .shoprec-card')


def shown_ids(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            ".shoprec-card", "els => els.map(e => e.getAttribute('data-product-id'))"
        )
    )


def open_product_page(page: Any, server: LiveServer, product_id: str) -> None:
    page.goto(f"{server.url}/demo/product/{product_id}")
    page.wait_for_function(READY, arg=3, timeout=10_000)


def test_product_page_shows_the_widgets(
    page: Any, live_server: LiveServer, artifacts: Path
) -> None:
    product_id = best_seller(live_server)
    open_product_page(page, live_server, product_id)
    assert [r["product_id"] for r in my_events(page, live_server, "view")] == [product_id]
    for slot in PDP_SLOTS:
        assert cards(page, slot).count() == 6, slot
    first = cards(page, "frequently_bought_together").first
    assert first.locator(".shoprec-name").inner_text().strip()
    assert re.fullmatch(r"\d+\.\d\d", first.locator(".shoprec-price").inner_text())
    assert first.locator(".shoprec-reason").inner_text().strip()
    href = first.locator("a").get_attribute("href")
    assert re.search(
        r"shoprec_rid=[0-9a-f]{32}&shoprec_slot=frequently_bought_together"
        r"&shoprec_pos=1&shoprec_strategy=\w+",
        href,
    )
    assert first.locator("button").get_attribute("aria-label").startswith("Not interested in")
    assert page.locator('[data-slot="similar"] ul[role="list"]').count() == 1
    assert page.evaluate("document.querySelector('.shoprec-img').naturalWidth") > 0
    page.screenshot(path=str(artifacts / "widget-product-page.png"), full_page=True)
    # Cards in the viewport are reported once as impressions.
    rows = my_events(page, live_server, "impression")
    assert rows and all(r["request_id"] and r["position"] for r in rows)
    assert "frequently_bought_together" in {r["slot"] for r in rows}
    assert len({(r["request_id"], r["product_id"]) for r in rows}) == len(rows)  # once each
    assert page.page_errors == []


def test_clicking_a_card_records_a_click(page: Any, live_server: LiveServer) -> None:
    open_product_page(page, live_server, best_seller(live_server))
    card = cards(page, "similar").first
    product_id = card.get_attribute("data-product-id")
    with page.expect_navigation():
        card.locator("a").click()
    assert f"/demo/product/{product_id}?shoprec_rid=" in page.url
    rows = my_events(page, live_server, "click")
    assert len(rows) == 1
    row = rows[0]
    assert (row["product_id"], row["slot"], row["position"], row["context"]) == (
        product_id,
        "similar",
        1,
        "product",
    )
    assert re.fullmatch(r"[0-9a-f]{32}", row["request_id"]) and row["strategy"]


def test_dismissed_card_goes_at_once_and_stays_gone(
    page: Any, live_server: LiveServer, artifacts: Path
) -> None:
    open_product_page(page, live_server, best_seller(live_server))
    card = cards(page, "frequently_bought_together").first
    product_id = card.get_attribute("data-product-id")
    card.locator("button").click()
    assert cards(page, "frequently_bought_together").count() == 5
    assert product_id not in shown_ids(page)[:5]
    rows = my_events(page, live_server, "dismiss")
    assert [r["product_id"] for r in rows] == [product_id] and rows[0]["session_id"]
    page.reload()
    page.wait_for_function(READY, arg=3, timeout=10_000)
    assert product_id not in shown_ids(page)
    assert cards(page, "frequently_bought_together").count() == 6  # the server refilled it
    page.screenshot(path=str(artifacts / "widget-after-dismiss.png"))
    # A new session of the same browser, with the widget's own dismissed list gone: the
    # server still leaves the product out, by the visitor id kept in localStorage.
    visitor = page.evaluate("localStorage.getItem('shoprec_vid')")
    assert re.fullmatch(r"[0-9a-f]{32}", visitor) and rows[0]["visitor_id"] == visitor
    page.evaluate("sessionStorage.clear(); localStorage.removeItem('shoprec_dismissed')")
    page.reload()
    page.wait_for_function(READY, arg=3, timeout=10_000)
    assert page.evaluate("sessionStorage.getItem('shoprec_sid')") != rows[0]["session_id"]
    assert product_id not in shown_ids(page)
    assert cards(page, "frequently_bought_together").count() == 6


def test_cards_are_reachable_by_keyboard(page: Any, live_server: LiveServer) -> None:
    open_product_page(page, live_server, best_seller(live_server))
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "shoprec-link":
            break
    assert page.evaluate("document.activeElement.className") == "shoprec-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "shoprec-x"


HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>
</head><body><h1>Host shop page</h1><p>Our best coffee, roasted weekly.</p>
<div data-shoprec="product" data-shop="demo" data-product-id="{product}" data-limit="4"
     data-consent="true" {api}></div>
<p>Footer of the host page</p>
<script src="{script}" async></script></body></html>"""


def test_widget_works_cross_origin(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    url = host_site(
        HOST_PAGE.format(
            product=best_seller(live_server), api="", script=f"{live_server.url}/static/widget.js"
        )
    )
    page.goto(url)
    page.wait_for_function(READY, arg=1, timeout=10_000)
    assert page.locator(".shoprec-card").count() == 4
    first = page.locator(".shoprec-card").first
    product_id = first.get_attribute("data-product-id")
    assert first.locator("a").get_attribute("href").startswith(live_server.url + "/demo/product/")
    first.locator("button").click()
    rows = my_events(page, live_server, "dismiss")
    assert [r["product_id"] for r in rows] == [product_id]
    assert page.page_errors == []


def assert_host_page_intact(page: Any) -> None:
    text = page.inner_text("body")
    assert "Host shop page" in text and "Footer of the host page" in text
    assert not re.search(r"error|failed|undefined|null", text, re.IGNORECASE)
    assert page.locator("[data-shoprec]").inner_text() == ""
    assert page.page_errors == []


def test_api_down_leaves_the_host_page_intact(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str], artifacts: Path
) -> None:
    script = f"{live_server.url}/static/widget.js"
    dead = f'data-api="http://127.0.0.1:{free_port()}"'
    page.goto(host_site(HOST_PAGE.format(product="p001", api=dead, script=script)))
    page.wait_for_selector("[data-shoprec-state=failed]", state="attached", timeout=10_000)
    assert_host_page_intact(page)
    page.screenshot(path=str(artifacts / "widget-api-down.png"))


def test_api_500_leaves_the_host_page_intact(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    page.route(
        "**/api/v1/recommendations*",
        lambda route: route.fulfill(status=500, body="<h1>Internal Server Error</h1>"),
    )
    script = f"{live_server.url}/static/widget.js"
    page.goto(host_site(HOST_PAGE.format(product="p001", api="", script=script)))
    page.wait_for_selector("[data-shoprec-state=failed]", state="attached", timeout=10_000)
    assert_host_page_intact(page)


def test_server_killed_after_load_leaves_the_page_intact(
    page: Any, private_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    url = host_site(
        HOST_PAGE.format(product="p001", api="", script=f"{private_server.url}/static/widget.js")
    )
    page.goto(url)
    page.wait_for_function(READY, arg=1, timeout=10_000)
    private_server.stop()
    page.locator(".shoprec-card button").first.click()  # the beacon goes nowhere
    page.reload()
    page.wait_for_load_state("load")
    assert_host_page_intact(page)


def test_no_layout_shift(page: Any, live_server: LiveServer) -> None:
    page.add_init_script(CLS_OBSERVER)
    open_product_page(page, live_server, best_seller(live_server))
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    page.wait_for_timeout(300)
    heights = page.eval_on_selector_all(
        "[data-shoprec]", "els => els.map(e => [e.offsetHeight, parseInt(e.style.minHeight)])"
    )
    assert all(height <= reserved for height, reserved in heights), heights
    assert page.evaluate("window.__cls") < 0.01


def test_slow_api_is_given_up_after_three_seconds(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    page.route("**/api/v1/recommendations*", lambda route: None)  # never answers
    script = f"{live_server.url}/static/widget.js"
    page.goto(host_site(HOST_PAGE.format(product="p001", api="", script=script)))
    started = time.monotonic()
    page.wait_for_selector("[data-shoprec-state=failed]", state="attached", timeout=10_000)
    assert 2.0 < time.monotonic() - started < 6.0
    assert_host_page_intact(page)


# The host reserves the widget's height in its own CSS, as the embed instructions say: the
# async script may run after the first paint.
CAROUSEL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>
<style>[data-shoprec]{{min-height:340px}}</style></head><body><h1>Host shop page</h1>
<div data-shoprec="product" data-shop="demo" data-product-id="{product}" data-limit="8"
     data-format="carousel" data-min-height="340" data-consent="true"></div>
<p>Footer of the host page</p>
<script src="{script}" async></script></body></html>"""
SCROLLED = "() => document.querySelector('.shoprec-carousel .shoprec-list').scrollLeft"


def test_carousel_moves_by_buttons_and_arrow_keys_without_layout_shift(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str], artifacts: Path
) -> None:
    page.add_init_script(CLS_OBSERVER)
    script = f"{live_server.url}/static/widget.js"
    page.goto(host_site(CAROUSEL_PAGE.format(product=best_seller(live_server), script=script)))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    assert page.locator(".shoprec-carousel .shoprec-card").count() == 8
    # The heading is the answer's widget.title (the shop's own title, here the built-in one).
    assert page.locator(".shoprec-title").inner_text() == "Frequently bought together"
    tops = page.eval_on_selector_all(".shoprec-card", "els => els.map(e => e.offsetTop)")
    assert len(set(tops)) == 1  # one row
    prev, nxt = page.locator(".shoprec-prev"), page.locator(".shoprec-next")
    assert prev.get_attribute("aria-label") == "Previous products" and prev.is_disabled()
    assert nxt.get_attribute("aria-label") == "Next products" and nxt.is_enabled()
    nxt.click()
    page.wait_for_function(f"({SCROLLED})() > 100", timeout=5_000)
    page.wait_for_function("() => !document.querySelector('.shoprec-prev').disabled")
    page.screenshot(path=str(artifacts / "widget-carousel.png"))
    page.locator(".shoprec-carousel .shoprec-list").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"({SCROLLED})() === 0", timeout=5_000)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"({SCROLLED})() > 100", timeout=5_000)
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    height, reserved = page.eval_on_selector(
        "[data-shoprec]", "e => [e.offsetHeight, parseInt(e.style.minHeight)]"
    )
    assert height <= reserved
    assert page.evaluate("window.__cls") < 0.01
    assert page.page_errors == []


UNTRUSTED_TITLE = (
    '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> "quoted" & \'single\''
)


def test_untrusted_title_is_escaped_in_json_html_and_the_widget(
    page: Any, private_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    anchor = best_seller(private_server)
    api = f"{private_server.url}/api/v1"

    def get(path: str) -> str:
        with urllib.request.urlopen(f"{api}/{path}", timeout=10) as response:
            return str(response.read().decode("utf-8"))

    first = json.loads(get(f"recommendations?shop=demo&context=product&product_id={anchor}"))
    target = first["items"][0]["product_id"]
    conn = sqlite3.connect(private_server.data_dir / SHOP / "shop.db", timeout=10)
    with conn:
        conn.execute(
            "UPDATE products SET title = ? WHERE product_id = ?", (UNTRUSTED_TITLE, target)
        )
    conn.close()
    # JSON consumers get the exact text, which they must escape themselves.
    answer = json.loads(get(f"recommendations?shop=demo&context=product&product_id={anchor}"))
    assert answer["items"][0]["title"] == UNTRUSTED_TITLE
    # The HTML fragment escapes it.
    html = get(f"widgets/product?shop=demo&product_id={anchor}")
    assert "<script>window" not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html and "&amp; &#39;single&#39;" in html
    )
    # The widget writes it as text: shown verbatim, nothing runs, no element is created.
    script = f"{private_server.url}/static/widget.js"
    page.goto(host_site(HOST_PAGE.format(product=anchor, api="", script=script)))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    card = page.locator(f'.shoprec-card[data-product-id="{target}"]')
    assert card.locator(".shoprec-name").text_content() == UNTRUSTED_TITLE
    assert (
        card.locator("button").get_attribute("aria-label") == f"Not interested in {UNTRUSTED_TITLE}"
    )
    assert card.locator("script").count() == 0 and card.locator("img").count() == 1
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert page.page_errors == []


def product_experiment(
    server: LiveServer, name: str, arms: list[dict[str, Any]], holdout_share: float
) -> Any:
    """A running product-page experiment on `server`'s shop."""
    db = open_shop_db(server.data_dir, SHOP, create=False)
    try:
        experiment_id = create_experiment(db, name, "product", arms, holdout_share=holdout_share)
        return start_experiment(db, experiment_id)
    finally:
        db.close()


def visitor_in(experiment: Any, arm: str) -> str:
    """A visitor id the experiment's hash puts in `arm` (a variant or the holdout)."""
    return next(
        v for v in (f"{i:032x}" for i in range(1000)) if assign_variant(experiment, v) == arm
    )


def test_holdout_visitor_sees_nothing_and_then_reserves_no_space(
    page: Any, private_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    arms = [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]
    experiment = product_experiment(private_server, "holdout check", arms, holdout_share=0.5)
    visitor = visitor_in(experiment, HOLDOUT)
    page.add_init_script(f"localStorage.setItem('shoprec_vid', '{visitor}')")
    script = f"{private_server.url}/static/widget.js"
    page.goto(
        host_site(HOST_PAGE.format(product=best_seller(private_server), api="", script=script))
    )
    page.wait_for_function(READY, arg=1, timeout=10_000)
    assert page.locator(".shoprec-card").count() == 0
    assert page.locator("[data-shoprec]").inner_text() == ""
    page.reload()
    page.wait_for_function(READY, arg=1, timeout=10_000)
    box = "document.querySelector('[data-shoprec]')"
    assert page.evaluate(f"[{box}.style.minHeight, {box}.offsetHeight]") == ["", 0]
    assert page.page_errors == []


def test_card_without_image_shows_a_placeholder_and_requests_nothing(
    page: Any, private_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    anchor = best_seller(private_server)
    url = (
        f"{private_server.url}/api/v1/recommendations?shop=demo&context=product&product_id={anchor}"
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        target = json.loads(response.read())["items"][0]["product_id"]
    conn = sqlite3.connect(private_server.data_dir / SHOP / "shop.db", timeout=10)
    with conn:
        conn.execute("UPDATE products SET image_url = '' WHERE product_id = ?", (target,))
    conn.close()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    script = f"{private_server.url}/static/widget.js"
    page.goto(host_site(HOST_PAGE.format(product=anchor, api="", script=script)))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    card = page.locator(f'.shoprec-card[data-product-id="{target}"]')
    assert card.locator("img").count() == 0
    placeholder = card.locator(".shoprec-noimg")
    assert placeholder.count() == 1
    box = placeholder.bounding_box()
    assert box is not None and (box["width"], box["height"]) == (150, 150)
    # The other cards keep their images, so the row stays aligned.
    assert page.locator(".shoprec-card img.shoprec-img").count() == 3
    page.wait_for_load_state("networkidle")
    origin_root = f"{private_server.url}/"
    assert origin_root not in requested, requested


def signed_token(server: LiveServer, customer: str) -> str:
    """A customer_token as the shop's own server makes it (secret made on first need)."""
    db = open_shop_db(server.data_dir, SHOP, create=False)
    try:
        secret = ensure_identity_secret(db, changed_by="test")
    finally:
        db.close()
    return make_shopper_token(secret, SHOP, customer, int(time.time()) + 600)


def api_ids(server: LiveServer, query_string: str) -> list[str]:
    url = f"{server.url}/api/v1/recommendations?shop=demo&{query_string}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return [item["product_id"] for item in json.loads(response.read())["items"]]


HOME_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>
</head><body><h1>Host shop page</h1>{before}
<div data-shoprec="home" data-slot="for_you" data-shop="demo" data-limit="6" {attrs}></div>
{view}
<p>Footer of the host page</p>
<script src="{script}" async></script></body></html>"""


def busiest_customer(server: LiveServer) -> str:
    return str(
        query(
            server.data_dir,
            "SELECT customer_id FROM order_lines WHERE customer_id IS NOT NULL "
            "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1",
        )[0][0]
    )


def test_widget_with_a_token_renders_the_customers_own_items(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    customer = busiest_customer(live_server)
    token = signed_token(live_server, customer)
    attrs = f'data-consent="true" data-customer-token="{token}"'
    script = f"{live_server.url}/static/widget.js"
    page.goto(host_site(HOME_PAGE.format(before="", attrs=attrs, view="", script=script)))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    sid, vid = page.evaluate(
        "[sessionStorage.getItem('shoprec_sid'), localStorage.getItem('shoprec_vid')]"
    )
    # The same ask as the widget's (its session and visitor), with and without the token.
    ask = f"context=home&slot=for_you&limit=6&session_id={sid}&visitor_id={vid}"
    personal = api_ids(live_server, f"{ask}&customer_token={token}")
    assert shown_ids(page) == personal != api_ids(live_server, ask)
    page.locator(".shoprec-card button").first.click()
    dismissed = my_events(page, live_server, "dismiss")
    assert [r["customer_id"] for r in dismissed] == [customer]  # the token rode along
    assert page.page_errors == []


DENIALS = {
    "attribute": ('data-consent="false"', ""),
    "page-says-nothing": ("", ""),
    "global": ("", "<script>window.shoprecConsent = false;</script>"),
    # Shopify's Customer Privacy API wins over the element's own attribute.
    "shopify-api": (
        'data-consent="true"',
        "<script>window.shoprecConsent = true; window.Shopify = {customerPrivacy: "
        "{analyticsProcessingAllowed: function () { return false; }}};</script>",
    ),
}


@pytest.mark.parametrize("denial", sorted(DENIALS))
def test_without_consent_nothing_is_stored_or_sent(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str], denial: str
) -> None:
    consent, before = DENIALS[denial]
    token = signed_token(live_server, busiest_customer(live_server))
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    attrs = f'{consent} data-customer-token="{token}" data-customer-id="c0001"'
    script = f"{live_server.url}/static/widget.js"
    product = best_seller(live_server)
    view = f'<div hidden data-shoprec-view="{product}" data-shop="demo" {attrs}></div>'
    page.goto(host_site(HOME_PAGE.format(before=before, attrs=attrs, view=view, script=script)))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    # The shop's non-personal list is still shown...
    assert shown_ids(page) == api_ids(live_server, "context=home&slot=for_you&limit=6")
    page.locator(".shoprec-card button").first.click()
    assert page.locator(".shoprec-card").count() == 5
    # A click on a card (kept on this page: the product page is another site's).
    page.eval_on_selector(
        ".shoprec-link", "a => a.addEventListener('click', e => e.preventDefault())"
    )
    page.locator(".shoprec-link").first.click()
    page.wait_for_timeout(300)
    # ... but no id is kept, nothing personal leaves the page, and no event is sent.
    assert page.evaluate("() => [localStorage.length, sessionStorage.length]") == [0, 0]
    asked = [url for url in sent if "/api/v1/recommendations" in url]
    assert len(asked) == 1
    for name in ("visitor_id", "session_id", "customer_token", "customer_id"):
        assert f"{name}=" not in asked[0]
    assert not [url for url in sent if "/api/v1/events" in url]
    assert page.page_errors == []


GA4_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>
<script>window.seen = []; document.addEventListener("shoprec:view_item_list",
  function (e) {{ window.seen.push(e.detail.event + ":" + e.detail.ecommerce.item_list_id); }});
</script></head><body><h1>Host shop page</h1>
<div data-shoprec="product" data-shop="demo" data-product-id="{product}" data-limit="4"
     data-slot="similar" data-consent="true" data-currency="EUR"></div>
<script src="{script}" async></script></body></html>"""


def test_lists_and_clicks_reach_the_pages_data_layer_for_ga4(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    script = f"{live_server.url}/api/v1/widget.js"
    page.goto(host_site(GA4_PAGE.format(product=best_seller(live_server), script=script)))
    page.wait_for_function("() => (window.dataLayer || []).some(e => e.event)", timeout=10_000)
    pushed = page.evaluate("window.dataLayer")
    assert pushed[0] == {"ecommerce": None}  # GA4: the previous ecommerce object cleared
    view = pushed[1]
    assert view["event"] == "view_item_list"
    assert view["ecommerce"]["item_list_id"] == "similar"
    items = view["ecommerce"]["items"]
    shown = shown_ids(page)
    assert [i["item_id"] for i in items] == shown and len(shown) == 4
    assert [i["index"] for i in items] == [0, 1, 2, 3]
    assert all(i["currency"] == "EUR" and isinstance(i["price"], float | int) for i in items)
    assert all(i["item_list_id"] == "similar" and i["item_name"] for i in items)
    assert page.evaluate("window.seen") == ["view_item_list:similar"]
    page.evaluate("document.addEventListener('click', e => e.preventDefault(), true)")
    page.locator(".shoprec-card a").nth(1).click()
    chosen = page.evaluate("window.dataLayer")[-1]
    assert chosen["event"] == "select_item"
    assert [i["item_id"] for i in chosen["ecommerce"]["items"]] == [shown[1]]
    assert page.page_errors == []


def overlapping_anchor(server: LiveServer) -> tuple[str, dict[str, list[str]]]:
    """A best seller whose three product-page lists, asked alone, share products."""
    rows = query(
        server.data_dir,
        "SELECT product_id FROM order_lines GROUP BY product_id ORDER BY count(*) DESC LIMIT 15",
    )
    for (anchor,) in rows:
        lists = {s: api_ids(server, f"context=product&product_id={anchor}&slot={s}&limit=6")
                 for s in PDP_SLOTS}  # fmt: skip
        flat = [pid for ids in lists.values() for pid in ids]
        if len(flat) > len(set(flat)):
            return anchor, lists
    raise AssertionError("no best seller's product-page lists overlap")


PDP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PDP</title>
</head><body><h1>A product</h1>
<div data-shoprec="product" data-slot="frequently_bought_together" data-shop="demo"
     data-product-id="{anchor}" data-limit="6" data-consent="{consent}"></div>
<div data-shoprec="product" data-slot="also_viewed" data-shop="demo"
     data-product-id="{anchor}" data-limit="6" data-consent="{consent}"></div>
<div data-shoprec="product" data-slot="similar" data-shop="demo" {similar}
     data-product-id="{anchor}" data-limit="6" data-consent="{consent}"></div>
<script src="{script}" async></script></body></html>"""


def slot_ids(page: Any, slot: str) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f'[data-slot="{slot}"] .shoprec-card',
            "els => els.map(e => e.getAttribute('data-product-id'))",
        )
    )


def test_widgets_on_one_page_never_repeat_a_product(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    anchor, alone = overlapping_anchor(live_server)
    script = f"{live_server.url}/static/widget.js"
    html = PDP_PAGE.format(anchor=anchor, script=script, similar="", consent="true")
    page.goto(host_site(html))
    page.wait_for_function(READY, arg=3, timeout=10_000)
    shown = {slot: slot_ids(page, slot) for slot in PDP_SLOTS}
    flat = [pid for ids in shown.values() for pid in ids]
    assert len(flat) == len(set(flat)), shown  # no product twice on the page
    assert all(len(ids) == 6 for ids in shown.values()), shown  # and every list stays full
    assert page.page_errors == []


def test_a_widget_may_allow_repeats(
    page: Any, live_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    anchor, alone = overlapping_anchor(live_server)
    script = f"{live_server.url}/static/widget.js"
    # Without consent every widget gets the shop's shared lists, the ones asked alone.
    allow = 'data-repeats="allow"'
    html = PDP_PAGE.format(anchor=anchor, script=script, similar=allow, consent="false")
    page.goto(host_site(html))
    page.wait_for_function(READY, arg=3, timeout=10_000)
    assert slot_ids(page, "similar") == alone["similar"]
    assert slot_ids(page, "frequently_bought_together") == alone["frequently_bought_together"]


def test_prices_follow_the_shops_currency_unless_the_page_names_one(
    page: Any, private_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    db = open_shop_db(private_server.data_dir, SHOP, create=False)
    try:
        set_shop_setting(db, "currency", "EUR", changed_by="test")
        set_shop_setting(db, "locale", "de_DE", changed_by="test")
    finally:
        db.close()
    script = f"{private_server.url}/static/widget.js"
    html = (
        '<!doctype html><html lang="en"><body>'
        '<div data-shoprec="home" data-slot="trending" data-shop="demo" data-limit="4"></div>'
        '<div data-shoprec="home" data-slot="for_you" data-shop="demo" data-limit="4" '
        'data-currency="USD" data-locale="en-US"></div>'
        f'<script src="{script}" async></script></body></html>'
    )
    page.goto(host_site(html))
    page.wait_for_function(READY, arg=2, timeout=10_000)
    shop_prices = page.locator('[data-slot="trending"] .shoprec-price').all_inner_texts()
    page_prices = page.locator('[data-slot="for_you"] .shoprec-price').all_inner_texts()
    assert shop_prices and all(re.fullmatch(r"[\d.]+,\d\d\s€", p) for p in shop_prices)
    assert page_prices and all(re.fullmatch(r"\$[\d,]+\.\d\d", p) for p in page_prices)


PLACEMENT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>P</title>
</head><body><h1>Product</h1>
<div id="above" data-shoprec="product" data-shop="demo" data-product-id="{product}"
     data-limit="4" data-consent="true" data-placement="above" data-placement-default></div>
<p>Description of the product</p>
<div id="below" data-shoprec="product" data-shop="demo" data-product-id="{product}"
     data-limit="4" data-consent="true" data-placement="below"></div>
<script src="{script}" async></script></body></html>"""


def test_a_placement_variant_shows_the_list_at_its_own_position(
    page: Any, private_server: LiveServer, host_site: Callable[[str], str]
) -> None:
    arms = [
        {"name": "above", "weight": 1, "profile": {"placement": "above"}},
        {"name": "below", "weight": 1, "profile": {"placement": "below"}},
    ]
    experiment = product_experiment(private_server, "where the list goes", arms, 0.0)
    script = f"{private_server.url}/static/widget.js"
    html = PLACEMENT_PAGE.format(product=best_seller(private_server), script=script)
    for variant in ("below", "above"):
        visitor = visitor_in(experiment, variant)
        context = page.context.browser.new_context()
        tab = context.new_page()
        tab.add_init_script(f"localStorage.setItem('shoprec_vid', '{visitor}')")
        tab.goto(host_site(html))
        tab.wait_for_function(
            "() => document.querySelectorAll('[data-shoprec-state=ready],"
            "[data-shoprec-state=elsewhere]').length == 2",
            timeout=10_000,
        )
        other = "above" if variant == "below" else "below"
        assert tab.locator(f"#{variant} .shoprec-card").count() == 4
        assert tab.locator(f"#{other} .shoprec-card").count() == 0
        assert tab.evaluate(f"document.getElementById('{other}').offsetHeight") == 0
        context.close()
    # Without consent there is no visitor to assign: the page's default position shows it.
    page.goto(host_site(html.replace('data-consent="true"', 'data-consent="false"')))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    assert page.locator("#above .shoprec-card").count() == 4
    assert page.locator("#below .shoprec-card").count() == 0
