"""The Shopify app files: what Shopify CLI would accept, and what the blocks render.

The TOML files and every block's {% schema %} are checked against JSON Schemas written from
Shopify's documentation (tests/shopify_schemas/), and against shoprec itself: the webhook
topics are the ones the inbox applies, the API version is the one pin, the scopes are the ones
install asks for, and the app proxy lands on routes that exist. The blocks are rendered with
python-liquid on Shopify-shaped objects and their placeholder read back as HTML.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from shopify_theme import (
    APP_DIR,
    PIXEL_DIR,
    THEME_DIR,
    block_defaults,
    block_files,
    block_schema,
    json_schema,
    read_toml,
    render_block,
    shop_objects,
)

from config import Settings, load_settings
from connectors.platforms import SHOPIFY
from engine.base import CONTEXT_SLOTS
from plugin import create_app
from plugin.storefront.app_proxy_api import PROXY_BASE
from worker.receipts import _SPECIAL

COMPLIANCE = {"customers/data_request", "customers/redact", "shop/redact"}
APP_BLOCK_CONTEXTS = {
    "product-recommendations": ("product", "product"),
    "cart-recommendations": ("cart", "cart"),
    "home-recommendations": ("home", "index"),
}


@pytest.fixture(scope="module")
def app_toml() -> dict[str, Any]:
    return read_toml(APP_DIR / "shopify.app.toml")


def errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def keys_anywhere(document: Any) -> set[str]:
    if isinstance(document, dict):
        return set(document) | {k for v in document.values() for k in keys_anywhere(v)}
    if isinstance(document, list):
        return {k for v in document for k in keys_anywhere(v)}
    return set()


# --- shopify.app.toml ---------------------------------------------------------------------


def test_app_toml_is_what_the_cli_accepts(app_toml: dict[str, Any]) -> None:
    assert errors(json_schema("app_toml"), app_toml) == []
    assert app_toml["embedded"] is True
    assert "callbackUrl" not in keys_anywhere(app_toml)


def test_the_schema_refuses_what_the_cli_refuses(app_toml: dict[str, Any]) -> None:
    """The app schema can fail: a deprecated callbackUrl, a bad proxy prefix, an odd version."""
    schema = json_schema("app_toml")
    legacy = copy.deepcopy(app_toml)
    legacy["webhooks"]["subscriptions"][0]["callbackUrl"] = legacy["webhooks"]["subscriptions"][
        0
    ].pop("uri")
    assert any("callbackUrl" in e or "uri" in e for e in errors(schema, legacy))
    proxy = copy.deepcopy(app_toml)
    proxy["app_proxy"]["prefix"] = "shop"
    assert errors(schema, proxy)
    version = copy.deepcopy(app_toml)
    version["webhooks"]["api_version"] = "2026-11"
    assert errors(schema, version)


def test_webhook_version_is_the_one_pin_and_still_supported(app_toml: dict[str, Any]) -> None:
    pinned = Settings().shopify_api_version
    assert app_toml["webhooks"]["api_version"] == pinned
    assert load_settings({}).shopify_api_version == pinned
    # Shopify supports each quarterly version for about twelve months.
    year, month = (int(part) for part in pinned.split("-"))
    today = datetime.now(UTC)
    assert (today.year - year) * 12 + today.month - month < 12, f"{pinned} is past support"


def test_webhook_topics_are_the_ones_the_inbox_applies(app_toml: dict[str, Any]) -> None:
    subscriptions = app_toml["webhooks"]["subscriptions"]
    topics = {t for s in subscriptions for t in s.get("topics", [])}
    compliance = {t for s in subscriptions for t in s.get("compliance_topics", [])}
    special = {topic for platform, topic in _SPECIAL if platform == "shopify"}
    handled = set(SHOPIFY.mappers) | special
    assert compliance == COMPLIANCE
    assert topics == handled - COMPLIANCE
    assert {urlsplit(s["uri"]).path for s in subscriptions} == {"/webhooks/shopify"}


def test_scopes_are_the_ones_install_asks_for(app_toml: dict[str, Any]) -> None:
    asked = set(Settings().shopify_scopes.split(","))
    assert set(app_toml["access_scopes"]["scopes"].split(",")) == asked
    # The storefront parts need these on top of the catalog, orders, customers and stock.
    assert {"write_app_proxy", "write_pixels", "read_customer_events"} <= asked


def test_every_url_names_one_shoprec_host(app_toml: dict[str, Any]) -> None:
    urls = [
        app_toml["application_url"],
        app_toml["app_proxy"]["url"],
        *app_toml["auth"]["redirect_urls"],
        *(s["uri"] for s in app_toml["webhooks"]["subscriptions"]),
    ]
    assert len({urlsplit(u).netloc for u in urls}) == 1
    assert [urlsplit(u).path for u in app_toml["auth"]["redirect_urls"]] == ["/shopify/callback"]


def test_app_urls_land_on_routes_that_exist(app_toml: dict[str, Any]) -> None:
    proxy = app_toml["app_proxy"]
    shop_path = f"/{proxy['prefix']}/{proxy['subpath']}"
    assert shop_path == PROXY_BASE == urlsplit(proxy["url"]).path
    rules = {r.rule: r.methods for r in create_app(load_settings({})).url_map.iter_rules()}
    assert "GET" in rules[f"{PROXY_BASE}/api/v1/recommendations"]
    assert "POST" in rules[f"{PROXY_BASE}/api/v1/events"]
    assert "GET" in rules[f"{PROXY_BASE}/widget.js"]
    # The embedded admin's entry (App Bridge's id_token) and the OAuth callback exist too.
    assert "GET" in rules[urlsplit(app_toml["application_url"]).path]
    assert "GET" in rules["/shopify/callback"]


# --- extensions ----------------------------------------------------------------------------


def test_extension_tomls_validate() -> None:
    theme = read_toml(THEME_DIR / "shopify.extension.toml")
    pixel = read_toml(PIXEL_DIR / "shopify.extension.toml")
    assert errors(json_schema("theme_extension_toml"), theme) == []
    assert errors(json_schema("web_pixel_toml"), pixel) == []
    assert pixel["runtime_context"] == "strict"
    assert pixel["customer_privacy"]["analytics"] is True
    assert set(pixel["settings"]["fields"]) == {"shoprec_url", "shop", "storefront_events"}
    assert (PIXEL_DIR / "src" / "index.js").is_file()


@pytest.mark.parametrize("path", block_files(), ids=lambda p: p.stem)
def test_block_schema_is_what_the_theme_editor_accepts(path: Path) -> None:
    schema = block_schema(path)
    assert errors(json_schema("block"), schema) == []
    for setting in schema["settings"]:
        if setting["type"] in ("select", "radio"):
            assert setting["default"] in [o["value"] for o in setting["options"]], setting["id"]
        if setting["type"] == "range":
            assert setting["min"] <= setting["default"] <= setting["max"]
            assert (setting["max"] - setting["min"]) / setting["step"] <= 100
    if path.stem in APP_BLOCK_CONTEXTS:
        context, template = APP_BLOCK_CONTEXTS[path.stem]
        assert schema["target"] == "section"
        assert schema["enabled_on"] == {"templates": [template]}
        ids = {s["id"] for s in schema["settings"]}
        assert {"title", "layout", "item_count", "slot"} <= ids
        slots = next(s for s in schema["settings"] if s["id"] == "slot")
        assert {o["value"] for o in slots["options"]} == set(CONTEXT_SLOTS[context])
        layouts = next(s for s in schema["settings"] if s["id"] == "layout")
        assert {o["value"] for o in layouts["options"]} == {"grid", "carousel"}
    else:
        assert schema["target"] == "body"


def test_block_schema_refuses_settings_shopify_refuses() -> None:
    schema = json_schema("block")
    good = block_schema(THEME_DIR / "blocks" / "product-recommendations.liquid")
    no_step = copy.deepcopy(good)
    next(s for s in no_step["settings"] if s["type"] == "range").pop("step")
    assert errors(schema, no_step)
    odd_type = copy.deepcopy(good)
    odd_type["settings"][0]["type"] = "string"
    assert errors(schema, odd_type)
    both = copy.deepcopy(good)
    both["disabled_on"] = {"templates": ["cart"]}
    assert errors(schema, both)
    assert errors(schema, dict(good, target="footer"))


# --- rendering -------------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def placeholders(html: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in elements(html) if tag == "div" and "data-shoprec" in attrs]


def defaults(name: str) -> dict[str, Any]:
    return block_defaults(THEME_DIR / "blocks" / f"{name}.liquid")


def test_product_block_renders_the_widget_placeholder() -> None:
    html = render_block(
        "product-recommendations",
        **shop_objects(product_id="7001", settings=defaults("product-recommendations")),
    )
    [box] = placeholders(html)
    assert box["data-shoprec"] == "product"
    assert "data-shop" not in box  # the proxy names the shop; a second `shop` is refused
    assert box["data-product-id"] == "7001"
    assert box["data-api"] == "/apps/shoprec"
    assert box["data-slot"] == "frequently_bought_together"
    assert (box["data-limit"], box["data-format"]) == ("6", "carousel")
    assert box["data-currency"] == "EUR"  # the shop's own, not the shopper's market (USD)
    assert "data-title" not in box  # empty heading: the admin's title applies
    assert "data-customer-id" not in box  # identity comes from the proxy's signature only


def test_cart_block_sends_each_product_once_and_hides_on_an_empty_cart() -> None:
    settings = dict(defaults("cart-recommendations"), layout="grid", item_count=3)
    html = render_block(
        "cart-recommendations",
        **shop_objects(cart_product_ids=("11", "12", "11"), settings=settings),
    )
    [box] = placeholders(html)
    assert (box["data-shoprec"], box["data-product-ids"]) == ("cart", "11,12")
    assert (box["data-limit"], box["data-format"]) == ("3", "grid")
    empty = render_block("cart-recommendations", **shop_objects(settings=settings))
    assert placeholders(empty) == []


def test_home_block_asks_for_the_shoppers_list() -> None:
    html = render_block(
        "home-recommendations",
        **shop_objects(template="index", settings=defaults("home-recommendations")),
    )
    [box] = placeholders(html)
    assert (box["data-shoprec"], box["data-slot"]) == ("home", "for_you")
    assert "data-product-id" not in box and "data-product-ids" not in box


def test_merchant_text_cannot_break_out_of_the_attribute() -> None:
    hostile = '"><script>alert(1)</script><div data-shoprec="x'
    settings = dict(defaults("product-recommendations"), title=hostile)
    html = render_block(
        "product-recommendations", **shop_objects(product_id="7001", settings=settings)
    )
    [box] = placeholders(html)
    assert box["data-title"] == hostile
    assert [tag for tag, _ in elements(html)].count("script") == 1  # only the loader


def test_embed_loads_the_widget_and_reports_only_when_asked() -> None:
    on = render_block(
        "shoprec-embed", **shop_objects(product_id="7001", settings={"report_events": True})
    )
    found = elements(on)
    [view] = [a for t, a in found if t == "div" and "data-shoprec-view" in a]
    assert view["data-shoprec-view"] == "7001" and "data-shop" not in view
    assert "hidden" in view and view["data-api"] == "/apps/shoprec"
    [tracker] = [a for t, a in found if t == "script" and a.get("src")]
    assert tracker["src"].endswith("/shoprec-embed.js")
    assert (tracker["data-product-id"], tracker["data-variant-ids"]) == ("7001", "700101,700102")
    assert "/apps/shoprec/widget.js" in on
    off = render_block(
        "shoprec-embed", **shop_objects(product_id="7001", settings={"report_events": False})
    )
    assert "/apps/shoprec/widget.js" in off
    assert "data-shoprec-view" not in off and "shoprec-embed.js" not in off
