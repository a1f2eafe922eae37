"""The theme app extension in headless Chromium: blocks rendered from their Liquid on a
stand-in Shopify storefront whose app proxy forwards to a live shoprec, signed as Shopify signs.

What these prove: the widget fills the app blocks with the product's recommendations through
/apps/shoprec; its requests carry the shop's cookies, so the proxy's signed
logged_in_customer_id is the customer (the widget used to send no cookies at all); and the
app embed's view and add-to-cart events arrive under that signed customer.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer, start_server
from shopify_standin import StandInShop, stand_in_shop
from shopify_theme import THEME_DIR, block_defaults, render_block, shop_objects

pytestmark = pytest.mark.playwright

SECRET = "standin-app-secret"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
READY = "n => document.querySelectorAll('[data-shoprec-state=ready]').length >= n"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
{head}
<style>body{{font-family:sans-serif;margin:24px;color:#222}} main{{max-width:1100px}}</style>
</head><body>
<header><h1>Demo shop</h1></header>
<main>{main}</main>
<footer>Footer of the shop</footer>
{embed}
</body></html>"""

# Shopify's Customer Privacy API as a storefront with a consent banner has it: accepted.
CONSENT_GIVEN = """<script>
  window.Shopify = {
    customerPrivacy: { analyticsProcessingAllowed: function () { return true; } } };
</script>"""
# A theme that did not load the API: Shopify.loadFeatures brings it a moment later.
CONSENT_API_LATE = """<script>
  window.__features = [];
  window.Shopify = { loadFeatures: function (features, done) {
    window.__features.push.apply(window.__features, features.map(function (f) { return f.name; }));
    setTimeout(function () {
      window.Shopify.customerPrivacy = { analyticsProcessingAllowed: function () { return true; } };
      done();
    }, 50);
  } };
</script>"""
THEME_SCRIPTS = {
    # Dawn-like themes post the form with fetch to /cart/add.js and stay on the page.
    "fetch": """fetch("/cart/add.js", { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ id: form.elements.id.value, quantity: 1 }) })
        .then(function (r) { return r.json(); }).then(added);""",
    # Older jQuery-era themes use XMLHttpRequest.
    "xhr": """var xhr = new XMLHttpRequest();
      xhr.open("POST", "/cart/add.js");
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.onload = added;
      xhr.send(JSON.stringify({ id: form.elements.id.value, quantity: 1 }));""",
}

PRODUCT_FORM = """<h2>{title}</h2>
<form action="/cart/add" method="post" class="product-form">
  <input type="hidden" name="id" value="{variant}">
  <button type="submit" id="add-to-cart">Add to cart</button>
</form>
<script>{theme_script}</script>
<section class="shopify-section">{block}</section>"""
AJAX_FORM = """
  function added() { document.body.setAttribute("data-cart-added", "1"); }
  document.querySelectorAll("form.product-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      %s
    });
  });"""


def query(data_dir: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(data_dir / "demo" / "shop.db", timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def poll(fetch: Callable[[], list[Any]], seconds: float = 8.0) -> list[Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = fetch()
        if rows:
            return rows
        time.sleep(0.1)
    return fetch()


@pytest.fixture(scope="module")
def shoprec(
    trained_demo_data: Path, chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A live shoprec knowing the app secret the stand-in's proxy signs with."""
    import shutil

    folder = tmp_path_factory.mktemp("shopify-theme")
    shutil.copytree(trained_demo_data, folder / "data")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SHOPIFY_API_SECRET", SECRET)
        server = start_server(folder / "data", folder / "server.log", "--dev")
    yield server
    server.stop()


@pytest.fixture
def shop(shoprec: LiveServer) -> Iterator[StandInShop]:
    with stand_in_shop(shoprec.url, SECRET) as standin:
        yield standin


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def best_seller(data_dir: Path) -> str:
    sql = (
        "SELECT product_id FROM order_lines GROUP BY product_id "
        "ORDER BY sum(quantity) DESC, product_id LIMIT 1"
    )
    return str(query(data_dir, sql)[0][0])


def a_customer(data_dir: Path) -> str:
    sql = "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL ORDER BY order_id LIMIT 1"
    return str(query(data_dir, sql)[0][0])


def defaults(name: str) -> dict[str, Any]:
    return block_defaults(THEME_DIR / "blocks" / f"{name}.liquid")


def product_page(
    shop: StandInShop, product_id: str, *, cart: str = "fetch", head: str = CONSENT_GIVEN
) -> str:
    """A product page with the product block and the app embed; `cart` is how the theme adds
    to the cart: "fetch", "xhr" or "plain" (the form is posted and the page navigates)."""
    objects = shop_objects(product_id=product_id, settings=defaults("product-recommendations"))
    variant = objects["product"]["variants"][0]["id"]
    for each in objects["product"]["variants"]:
        shop.variants[str(each["id"])] = product_id
    env_assets = f"{shop.url}/assets"

    def render() -> str:
        from shopify_theme import theme_environment

        env = theme_environment(env_assets)
        block = render_block("product-recommendations", env, **objects)
        embed_objects = dict(objects, block={"settings": defaults("shoprec-embed")})
        embed = render_block("shoprec-embed", env, **embed_objects)
        main = PRODUCT_FORM.format(
            title=objects["product"]["title"],
            theme_script=AJAX_FORM % THEME_SCRIPTS[cart] if cart in THEME_SCRIPTS else "",
            variant=variant,
            block=block,
        )
        return PAGE.format(title=objects["product"]["title"], head=head, main=main, embed=embed)

    return shop.publish(f"/products/{product_id}-{cart}", render)


def my_events(page: Any, shoprec: LiveServer, kind: str) -> list[sqlite3.Row]:
    session = page.evaluate("sessionStorage.getItem('shoprec_sid')")
    assert session
    sql = "SELECT * FROM events WHERE type = ? AND session_id = ? ORDER BY event_id"
    return poll(lambda: query(shoprec.data_dir, sql, kind, session))


def test_product_block_through_the_app_proxy_as_a_logged_in_customer(
    page: Any, shoprec: LiveServer, shop: StandInShop, artifacts: Path
) -> None:
    product_id = best_seller(shoprec.data_dir)
    customer = a_customer(shoprec.data_dir)
    url = product_page(shop, product_id)
    page.context.add_cookies([{"name": "customer_id", "value": customer, "url": shop.url}])
    page.goto(url)
    page.wait_for_function(READY, arg=1, timeout=10_000)

    shown = page.eval_on_selector_all(
        ".shoprec-card", "els => els.map(e => e.getAttribute('data-product-id'))"
    )
    assert len(shown) == 6 and product_id not in shown
    assert page.locator(".shoprec-carousel").count() == 1
    [asked] = shop.proxied("/api/v1/recommendations")
    assert asked.status == 200 and asked.product_ids == [product_id]
    # The widget sent the shop's cookies, so the proxy signed who is logged in.
    assert asked.params["logged_in_customer_id"] == customer
    assert shop.proxied("/widget.js") and shop.proxied("/widget.js")[0].status == 200

    [view] = my_events(page, shoprec, "view")
    assert (view["product_id"], view["customer_id"]) == (product_id, customer)
    page.click("#add-to-cart")
    page.wait_for_selector("body[data-cart-added]", state="attached")
    [added] = my_events(page, shoprec, "add_to_cart")
    assert (added["product_id"], added["customer_id"]) == (product_id, customer)
    assert shop.cart_adds == [product_id]
    assert all(f.method == "POST" for f in shop.proxied("/api/v1/events"))
    page.screenshot(path=str(artifacts / "shopify-theme-product-block.png"), full_page=True)
    assert page.page_errors == []


def test_logged_out_shopper_and_a_plain_cart_form(
    page: Any, shoprec: LiveServer, shop: StandInShop
) -> None:
    product_id = best_seller(shoprec.data_dir)
    page.goto(product_page(shop, product_id, cart="plain"))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    assert shop.proxied("/api/v1/recommendations")[0].params["logged_in_customer_id"] == ""
    session = page.evaluate("sessionStorage.getItem('shoprec_sid')")
    cart_page = PAGE.format(title="Cart", head="", main="<p>Your cart</p>", embed="")
    shop.publish("/cart", lambda: cart_page)
    with page.expect_navigation():
        page.click("#add-to-cart")  # a real form post: the page leaves for /cart
    sql = "SELECT product_id, customer_id FROM events WHERE type = ? AND session_id = ?"
    rows = poll(lambda: query(shoprec.data_dir, sql, "add_to_cart", session))
    assert [tuple(r) for r in rows] == [(product_id, None)]
    assert page.page_errors == []


def test_cart_block_recommends_for_the_cart(
    page: Any, shoprec: LiveServer, shop: StandInShop, artifacts: Path
) -> None:
    in_cart = best_seller(shoprec.data_dir)
    settings = dict(defaults("cart-recommendations"), layout="grid", item_count=4)
    objects = shop_objects(cart_product_ids=(in_cart,), settings=settings, template="cart")

    def render() -> str:
        from shopify_theme import theme_environment

        block = render_block("cart-recommendations", theme_environment(), **objects)
        main = f"<h2>Your cart</h2>{block}"
        return PAGE.format(title="Cart", head=CONSENT_GIVEN, main=main, embed="")

    page.goto(shop.publish("/cart", render))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    shown = page.eval_on_selector_all(
        ".shoprec-card", "els => els.map(e => e.getAttribute('data-product-id'))"
    )
    assert 0 < len(shown) <= 4 and in_cart not in shown
    assert page.locator(".shoprec-grid").count() == 1
    assert shop.proxied("/api/v1/recommendations")[0].product_ids == [in_cart]
    page.screenshot(path=str(artifacts / "shopify-theme-cart-block.png"), full_page=True)
    assert page.page_errors == []


def test_xhr_theme_and_a_consent_api_the_embed_loads(
    page: Any, shoprec: LiveServer, shop: StandInShop
) -> None:
    """A theme without Shopify's Customer Privacy API: the embed loads it, and the view that
    waited for consent is reported once it is there; an XMLHttpRequest add is reported too."""
    product_id = best_seller(shoprec.data_dir)
    page.goto(product_page(shop, product_id, cart="xhr", head=CONSENT_API_LATE))
    page.wait_for_function(READY, arg=1, timeout=10_000)
    assert page.evaluate("window.__features") == ["consent-tracking-api"]
    page.wait_for_function("!!(window.Shopify && window.Shopify.customerPrivacy)")
    [view] = my_events(page, shoprec, "view")
    assert view["product_id"] == product_id
    page.click("#add-to-cart")
    page.wait_for_selector("body[data-cart-added]", state="attached")
    [added] = my_events(page, shoprec, "add_to_cart")
    assert added["product_id"] == product_id and added["customer_id"] is None
    assert page.page_errors == []
