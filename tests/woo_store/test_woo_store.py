"""shoprec for WooCommerce against a real WooCommerce 7.8.2 store.

The owner connects through the plugin's button and WooCommerce's own approval page; the
catalog and orders go in through the store's REST API and reach shoprec by webhook; shoprec
syncs and trains; then a shopper's browser sees the widget on the product and cart pages,
clicks a recommendation, adds it to the cart (reported by the plugin from PHP) and checks
out, and the order lands in shoprec credited to that click. Screenshots go to
test-artifacts/woo_store/.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from storage.attribution import attributed_lines
from storage.connections import get_connection
from storage.db import open_shop_db
from tests.woo_store.conftest import ARTIFACTS, SHOP, WooEnv
from tests.woo_store.store import ADMIN_PASSWORD, ADMIN_USER

pytestmark = [pytest.mark.woo_store, pytest.mark.playwright]

CATALOG = [
    ("Blue Mug", "12.00"), ("Red Mug", "12.50"), ("Tea Pot", "34.00"), ("Green Tea", "8.90"),
    ("Black Tea", "7.90"), ("Honey Jar", "6.40"), ("Coffee Beans", "14.00"),
    ("Coffee Grinder", "49.00"), ("Milk Jug", "18.00"), ("Coasters", "9.00"),
    ("Sugar Bowl", "11.00"), ("Tea Towel", "5.50"),
]  # fmt: skip
# Baskets by catalog index: mugs and the tea pot go together, teas with honey, coffee kit.
BASKETS = [
    (0, 1), (0, 1, 2), (0, 2), (1, 2), (0, 1, 9), (0, 2, 10), (3, 4), (3, 4, 5), (4, 5),
    (3, 5), (6, 7), (6, 7, 8), (6, 8), (0, 1), (2, 10), (9, 11), (0, 9), (1, 9),
]  # fmt: skip
CUSTOMER_EMAIL, CUSTOMER_PASSWORD = "ada@store.test", "shopper-pass-1234"


def login(page: Any, store_url: str, user: str, password: str) -> None:
    page.goto(f"{store_url}/wp-login.php")
    page.fill("#user_login", user)
    page.fill("#user_pass", password)
    page.click("#wp-submit")
    page.wait_for_load_state("load")


def connect_through_key_exchange(woo: WooEnv, page: Any) -> str:
    """The owner clicks Connect and Approve; returns the text of shoprec's return page."""
    login(page, woo.store.url, ADMIN_USER, ADMIN_PASSWORD)
    page.goto(f"{woo.store.url}/wp-admin/admin.php?page=shoprec")
    page.fill("input[name='shoprec_settings[server_url]']", woo.public_url)
    page.fill("input[name='shoprec_settings[shop]']", SHOP)
    page.fill("input[name='shoprec_settings[identity_secret]']", woo.identity_secret)
    page.select_option("select[name='shoprec_settings[consent]']", "granted")
    page.click("#submit")
    page.wait_for_selector("#setting-error-settings_updated")
    # Saved, and the secret is never printed back into the page.
    assert woo.identity_secret not in page.content()
    assert page.input_value("input[name='shoprec_settings[shop]']") == SHOP
    page.click("#shoprec-connect")
    page.wait_for_selector("a.wc-auth-approve")  # WooCommerce's own approval page
    assert urlsplit(page.url).path == "/wc-auth/v1/authorize"
    page.click("a.wc-auth-approve")
    page.wait_for_url(f"{woo.public_url}/**")
    page.screenshot(path=str(ARTIFACTS / "connect-return.png"), full_page=True)
    return str(page.inner_text("body"))


def create_catalog(woo: WooEnv) -> list[dict[str, Any]]:
    """The products, each with a photo WordPress downloads from the store itself."""
    create = [
        {
            "name": name,
            "type": "simple",
            "regular_price": price,
            "images": [{"src": f"{woo.store.url}/test-images/p{index}.png"}],
        }
        for index, (name, price) in enumerate(CATALOG)
    ]
    answer = woo.store.rest("POST", "products/batch", {"create": create})
    products = answer["create"]
    assert [p["name"] for p in products] == [name for name, _ in CATALOG]
    return products


def place_orders(woo: WooEnv, products: list[dict[str, Any]]) -> list[int]:
    """Guest orders of the baskets, paid (processing), one REST batch."""
    create = []
    for number, basket in enumerate(BASKETS):
        create.append(
            {
                "status": "processing",
                "set_paid": True,
                "billing": {
                    "first_name": f"Buyer{number}",
                    "last_name": "Test",
                    "email": f"buyer{number}@store.test",
                },
                "line_items": [{"product_id": products[i]["id"], "quantity": 1} for i in basket],
            }
        )
    answer = woo.store.rest("POST", "orders/batch", {"create": create})
    return [order["id"] for order in answer["create"]]


@pytest.fixture(scope="module")
def shop(woo: WooEnv, woo_browser: Any) -> dict[str, Any]:
    """Connected, filled, synced and trained: what the storefront tests start from."""
    context = woo_browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        returned = connect_through_key_exchange(woo, page)
    finally:
        context.close()
    products = create_catalog(woo)
    customer = woo.store.rest(
        "POST",
        "customers",
        {
            "email": CUSTOMER_EMAIL,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "username": "ada",
            "password": CUSTOMER_PASSWORD,
            "billing": {
                "first_name": "Ada", "last_name": "Lovelace", "address_1": "1 Tea Street",
                "city": "London", "postcode": "N1 1AA", "country": "GB",
                "email": CUSTOMER_EMAIL, "phone": "0123456789",
            },
        },
    )  # fmt: skip
    order_ids = place_orders(woo, products)
    sync_output = woo.cli("sync")
    train_output = woo.cli("train")
    return {
        "returned": returned,
        "products": products,
        "customer": customer,
        "order_ids": order_ids,
        "sync": sync_output,
        "train": train_output,
    }


def shop_db(woo: WooEnv) -> Any:
    return open_shop_db(woo.data_dir, SHOP, create=False)


def test_key_exchange_gives_shoprec_working_keys_and_webhooks(woo: WooEnv, shop: dict) -> None:
    assert shop["returned"].startswith("Connected"), shop["returned"]
    assert f"connected to {woo.store.url}" in shop["returned"]
    db = shop_db(woo)
    try:
        connection = get_connection(db, "woocommerce")
        orders = db["orders"].count
    finally:
        db.close()
    assert connection is not None and connection.shop_domain == woo.store.url
    assert str(connection.credentials["consumer_key"]).startswith("ck_")
    # The store lists shoprec's webhooks, active, pointing at its public URL.
    hooks = woo.store.rest("GET", "webhooks", per_page=100)
    ours = [h for h in hooks if h["delivery_url"].startswith(woo.public_url)]
    assert {h["topic"] for h in ours} >= {"order.created", "order.updated", "product.updated"}
    assert all(h["status"] == "active" for h in ours)
    # Every order the REST API created is in shoprec.
    assert orders == len(shop["order_ids"])


def _widget_cards(page: Any) -> list[dict[str, str]]:
    page.wait_for_selector("[data-shoprec-state=ready] .shoprec-card", timeout=15000)
    return page.eval_on_selector_all(
        "[data-shoprec-state=ready] .shoprec-card",
        "cards => cards.map(c => ({id: c.dataset.productId,"
        " href: c.querySelector('a.shoprec-link').href,"
        " img: (c.querySelector('img.shoprec-img') || {}).src || '',"
        " loaded: (c.querySelector('img.shoprec-img') || {}).naturalWidth || 0}))",
    )


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _assert_real_cards(woo: WooEnv, cards: list[dict[str, str]], products: list[dict]) -> None:
    permalinks = {str(p["id"]): p["permalink"] for p in products}
    assert cards
    for card in cards:
        assert _without_query(card["href"]) == permalinks[card["id"]], card
        assert card["img"].startswith(f"{woo.store.url}/wp-content/uploads/"), card
        answer = requests.get(_without_query(card["href"]), timeout=30)
        assert answer.status_code == 200 and "single-product" in answer.text


def test_product_page_shows_recommendations_with_real_links_and_images(
    woo: WooEnv, shop: dict, woo_page: Any
) -> None:
    mug = shop["products"][0]
    woo_page.goto(mug["permalink"])
    cards = _widget_cards(woo_page)
    woo_page.wait_for_function(
        "() => [...document.querySelectorAll('.shoprec-card img')].every(i => i.complete)"
    )
    cards = _widget_cards(woo_page)
    woo_page.locator("[data-shoprec]").first.scroll_into_view_if_needed()
    woo_page.screenshot(path=str(ARTIFACTS / "product-page.png"), full_page=True)
    _assert_real_cards(woo, cards, shop["products"])
    assert all(card["loaded"] > 0 for card in cards), cards
    shown = [card["id"] for card in cards]
    assert str(mug["id"]) not in shown
    # Bought together most often with the blue mug: the red mug and the tea pot.
    assert {str(shop["products"][1]["id"]), str(shop["products"][2]["id"])} <= set(shown[:4])
    assert woo_page.page_errors == []


def test_shopper_clicks_adds_to_cart_and_buys_and_shoprec_credits_the_click(
    woo: WooEnv, shop: dict, woo_page: Any
) -> None:
    customer = shop["customer"]
    login(woo_page, woo.store.url, "ada", CUSTOMER_PASSWORD)
    woo_page.goto(shop["products"][3]["permalink"])  # Green Tea
    cards = _widget_cards(woo_page)
    token = woo_page.get_attribute("[data-shoprec]", "data-customer-token")
    assert token and token.startswith("v1.")
    target = cards[0]
    woo_page.click(f".shoprec-card[data-product-id='{target['id']}'] a.shoprec-link")
    woo_page.wait_for_url(f"{woo.store.url}/product/**")
    visitor = woo_page.evaluate("() => localStorage.getItem('shoprec_vid')")
    woo_page.wait_for_function("() => document.cookie.includes('shoprec_vid=')")
    woo_page.click("button[name=add-to-cart]")
    woo_page.wait_for_load_state("load")
    woo_page.goto(f"{woo.store.url}/cart/")
    cart_cards = _widget_cards(woo_page)
    woo_page.locator("[data-shoprec]").first.scroll_into_view_if_needed()
    woo_page.screenshot(path=str(ARTIFACTS / "cart-page.png"), full_page=True)
    _assert_real_cards(woo, cart_cards, shop["products"])
    assert target["id"] not in [card["id"] for card in cart_cards]

    woo_page.goto(f"{woo.store.url}/checkout/")
    woo_page.wait_for_selector("#place_order")
    woo_page.click("#place_order")
    woo_page.wait_for_url("**/order-received/**", timeout=30000)
    woo_page.screenshot(path=str(ARTIFACTS / "thank-you-page.png"), full_page=True)
    order_id = int(urlsplit(woo_page.url).path.rstrip("/").split("/")[-1])
    # The owner cashes the cheque: the order is paid.
    woo.store.rest("PUT", f"orders/{order_id}", {"status": "processing"})

    db = shop_db(woo)
    try:
        carts = list(db["events"].rows_where("type = 'add_to_cart'"))
        clicks = list(db["events"].rows_where("type = 'click'"))
        order = db["orders"].get(str(order_id))
        lines = attributed_lines(db, "2000-01-01", "2100-01-01", window_hours=24)
        credited = [line for line in lines if line.order_id == str(order_id)]
    finally:
        db.close()
    added = [e for e in carts if e["product_id"] == target["id"]]
    assert added, carts
    assert added[0]["customer_id"] == str(customer["id"])
    assert added[0]["visitor_id"] == visitor
    assert any(
        c["product_id"] == target["id"] and c["customer_id"] == str(customer["id"]) for c in clicks
    )
    assert order["customer_id"] == str(customer["id"])
    assert [line.product_id for line in credited] == [target["id"]]
    assert credited[0].context == "product"
    # The placed order was reported from PHP (not waited for) with the browser's visitor id:
    # what credits a guest's order the same way.
    assert _checkout_visitors(woo, str(order_id)) == [visitor]
    assert woo_page.page_errors == []


def _checkout_visitors(woo: WooEnv, order_id: str) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        db = shop_db(woo)
        try:
            rows = list(db["checkouts"].rows_where("order_id = ?", [order_id]))
        finally:
            db.close()
        if rows or time.monotonic() > deadline:
            return [row["visitor_id"] for row in rows]
        time.sleep(0.2)


def _containers(html: str) -> list[str]:
    return re.findall(r"<div class=\"shoprec-woocommerce\"[^>]*>", html)


def test_shortcode_and_block_print_one_widget_each_and_load_the_script_once(
    woo: WooEnv, shop: dict, woo_page: Any
) -> None:
    mug = shop["products"][0]
    content = (
        f'[shoprec context="product" product_id="{mug["id"]}" title="Pairs well"]'
        '<!-- wp:shoprec/recommendations {"context":"home","limit":4} /-->'
    )
    url = woo.store.wp_cli(
        "post", "create", "--post_type=page", "--post_status=publish",
        "--post_title=Picks", f"--post_content={content}", "--porcelain",
    ).strip()  # fmt: skip
    link = woo.store.wp_cli("post", "url", url).strip()
    html = requests.get(link, timeout=30).text
    boxes = _containers(html)
    assert len(boxes) == 2, boxes
    assert f'data-product-id="{mug["id"]}"' in boxes[0] and 'data-title="Pairs well"' in boxes[0]
    assert 'data-shoprec="home"' in boxes[1] and 'data-limit="4"' in boxes[1]
    assert html.count("/static/widget.js") == 1
    woo_page.goto(link)
    woo_page.wait_for_function(
        "() => document.querySelectorAll('[data-shoprec-state=ready]').length === 2"
    )
    assert woo_page.inner_text("[data-shoprec=product] .shoprec-title") == "Pairs well"
    assert woo_page.locator("[data-shoprec=home] .shoprec-card").count() == 4
    assert woo_page.page_errors == []


def test_positions_follow_the_settings(woo: WooEnv, shop: dict) -> None:
    mug = shop["products"][0]
    before = _containers(requests.get(mug["permalink"], timeout=30).text)
    assert len(before) == 1 and 'data-shoprec="product"' in before[0]
    assert "data-customer-token" not in before[0]  # a guest: no identity
    woo.store.wp_cli("option", "patch", "update", "shoprec_settings", "product_position", "off")
    try:
        assert _containers(requests.get(mug["permalink"], timeout=30).text) == []
    finally:
        woo.store.wp_cli(
            "option", "patch", "update", "shoprec_settings", "product_position",
            "woocommerce_after_single_product_summary",
        )  # fmt: skip


def test_uninstall_removes_the_settings(woo: WooEnv, shop: dict) -> None:
    """Last in the module: deleting the plugin leaves no option behind."""
    assert woo.store.wp_cli("option", "get", "shoprec_settings", "--format=json").strip()
    woo.store.wp_cli("plugin", "deactivate", "shoprec-for-woocommerce")
    woo.store.wp_cli("plugin", "uninstall", "shoprec-for-woocommerce")
    missing = woo.store.wp_cli("option", "get", "shoprec_settings", check=False)
    assert missing.strip() == ""
    assert "shoprec-for-woocommerce" not in woo.store.wp_cli("plugin", "list", "--field=name")
