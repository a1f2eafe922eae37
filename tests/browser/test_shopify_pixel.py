"""The web pixel's src/index.js run for real in Chromium against a live shoprec.

Shopify bundles the pixel and runs it in its sandbox; here the page maps the
"@shopify/web-pixels-extension" import to a two-line shim (an import map), and the test hands
the registered extension the API Shopify gives it: analytics.subscribe, browser storage and
sendBeacon, settings. Events shaped like Shopify's standard events are then published and
the rows shoprec stored are read back.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer, start_server
from shopify_standin import StandInShop, stand_in_shop

pytestmark = pytest.mark.playwright

SANDBOX_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>pixel</title>
<script type="importmap">
  {"imports": {"@shopify/web-pixels-extension": "/pixel-shim.js"}}
</script>
<script type="module">import "/pixel/index.js";</script>
</head><body>pixel sandbox stand-in</body></html>"""

# The API Shopify hands a registered pixel, as far as this pixel uses it.
RUN_PIXEL = """({settings, local, session}) => {
  const handlers = {};
  const store = (values) => ({getItem: async (key) => (key in values ? values[key] : null)});
  window.__shoprecPixel({
    analytics: {subscribe: (name, handler) => { handlers[name] = handler; }},
    browser: {
      localStorage: store(local),
      sessionStorage: store(session),
      sendBeacon: async (url, body) => navigator.sendBeacon(url, body),
    },
    settings,
    init: {context: {document: {location: {href: location.href}}}},
  });
  window.__handlers = handlers;
  return Object.keys(handlers).sort();
}"""
PUBLISH = """async (events) => {
  for (const [name, event] of events) {
    if (window.__handlers[name]) await window.__handlers[name](event);
  }
}"""


def shopify_event(name: str, data: dict[str, Any], stamp: str) -> dict[str, Any]:
    return {
        "id": f"evt-{name}",
        "name": name,
        "type": "standard",
        "clientId": "shopify-client-7",
        "timestamp": stamp,
        "data": data,
    }


def viewed(product_id: str, stamp: str) -> dict[str, Any]:
    variant = {"id": "41", "price": {"amount": 12.5, "currencyCode": "EUR"}}
    variant["product"] = {"id": product_id, "title": "A product", "vendor": "Demo"}
    return shopify_event("product_viewed", {"productVariant": variant}, stamp)


def added(product_id: str, stamp: str) -> dict[str, Any]:
    line = {"quantity": 1, "merchandise": {"id": "42", "product": {"id": product_id}}}
    return shopify_event("product_added_to_cart", {"cartLine": line}, stamp)


def completed(order_id: str = "gid://shopify/Order/9001") -> dict[str, Any]:
    order = {"id": order_id, "customer": {"id": "555"}}
    checkout = {"order": order, "lineItems": [{"variant": {"product": {"id": "p105"}}}]}
    return shopify_event("checkout_completed", {"checkout": checkout}, "2026-12-04T10:05:00Z")


@pytest.fixture(scope="module")
def shoprec(
    trained_demo_data: Path, chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("shopify-pixel")
    shutil.copytree(trained_demo_data, folder / "data")
    server = start_server(folder / "data", folder / "server.log", "--dev")
    yield server
    server.stop()


@pytest.fixture
def sandbox(shoprec: LiveServer, page: Any) -> Iterator[StandInShop]:
    with stand_in_shop(shoprec.url, "unused") as shop:
        page.goto(shop.publish("/sandbox", lambda: SANDBOX_PAGE))
        page.wait_for_function("typeof window.__shoprecPixel === 'function'")
        yield shop


def poll_rows(data_dir: Path, sql: str, visitor: str, expected: int) -> list[tuple[Any, ...]]:
    """The rows `sql` finds for `visitor` once there are `expected` (or after 8 s): the
    pixel's beacons are not waited for by the page."""
    deadline = time.monotonic() + 8
    while True:
        conn = sqlite3.connect(data_dir / "demo" / "shop.db", timeout=10)
        try:
            rows = [tuple(r) for r in conn.execute(sql, (visitor,)).fetchall()]
        finally:
            conn.close()
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def rows_of(data_dir: Path, visitor: str, expected: int) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT type, product_id, ts, session_id, customer_id FROM events "
        "WHERE visitor_id = ? ORDER BY type"
    )
    return poll_rows(data_dir, sql, visitor, expected)


def checkouts_of(data_dir: Path, visitor: str, expected: int) -> list[tuple[Any, ...]]:
    sql = "SELECT order_id, session_id, ts FROM checkouts WHERE visitor_id = ? ORDER BY order_id"
    return poll_rows(data_dir, sql, visitor, expected)


def settings_for(shoprec: LiveServer, events_from: str = "pixel") -> dict[str, str]:
    return {"shoprec_url": shoprec.url + "/", "shop": "demo", "storefront_events": events_from}


def test_pixel_reports_views_and_adds_under_the_widgets_ids(
    page: Any, shoprec: LiveServer, sandbox: StandInShop
) -> None:
    ids = {"local": {"shoprec_vid": "vid-pixel-1"}, "session": {"shoprec_sid": "sid-pixel-1"}}
    subscribed = page.evaluate(RUN_PIXEL, {"settings": settings_for(shoprec), **ids})
    assert subscribed == ["checkout_completed", "product_added_to_cart", "product_viewed"]
    events = [
        ["product_viewed", viewed("gid://shopify/Product/p105", "2026-12-04T10:00:00.000Z")],
        ["product_added_to_cart", added("p106", "2026-12-04T10:01:00.000Z")],
        ["checkout_completed", completed()],
    ]
    page.evaluate(PUBLISH, events)
    assert rows_of(shoprec.data_dir, "vid-pixel-1", 2) == [
        ("add_to_cart", "p106", "2026-12-04T10:01:00", "sid-pixel-1", None),
        ("view", "p105", "2026-12-04T10:00:00", "sid-pixel-1", None),
    ]
    # The checkout ties the order (as its webhook names it) to the visitor; no customer id.
    assert checkouts_of(shoprec.data_dir, "vid-pixel-1", 1) == [
        ("9001", "sid-pixel-1", "2026-12-04T10:05:00")
    ]
    assert page.page_errors == []


def test_without_the_widgets_ids_shopifys_client_id_is_the_visitor(
    page: Any, shoprec: LiveServer, sandbox: StandInShop
) -> None:
    page.evaluate(RUN_PIXEL, {"settings": settings_for(shoprec), "local": {}, "session": {}})
    page.evaluate(PUBLISH, [["product_viewed", viewed("p107", "2026-12-04T11:00:00Z")]])
    rows = rows_of(shoprec.data_dir, "shopify-client-7", 1)
    assert rows == [("view", "p107", "2026-12-04T11:00:00", None, None)]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # the app embed reports views and adds: the pixel reports only the checkout
        ({"storefront_events": "embed"}, ["checkout_completed"]),
        ({"storefront_events": "pixel", "shop": ""}, []),
        ({"storefront_events": "pixel", "shoprec_url": ""}, []),
    ],
)
def test_pixel_reports_views_only_when_it_is_the_one_reporting(
    page: Any,
    shoprec: LiveServer,
    sandbox: StandInShop,
    settings: dict[str, str],
    expected: list[str],
) -> None:
    given = {**settings_for(shoprec), **settings}
    ids = {"local": {"shoprec_vid": "vid-silent"}, "session": {}}
    assert page.evaluate(RUN_PIXEL, {"settings": given, **ids}) == expected
    page.evaluate(PUBLISH, [["product_viewed", viewed("p108", "2026-12-04T12:00:00Z")]])
    if expected:
        page.evaluate(PUBLISH, [["checkout_completed", completed("9002")]])
        assert checkouts_of(shoprec.data_dir, "vid-silent", 1) == [
            ("9002", None, "2026-12-04T10:05:00")
        ]
    time.sleep(0.5)
    assert rows_of(shoprec.data_dir, "vid-silent", 0) == []
