"""Blueprint 'demo': a small storefront that embeds the widget the way a real shop would.

It exists so `shoprec demo` shows the whole loop on one machine: a home page, product pages
with three placeholders, a cart page, and category placeholder images drawn as SVG in code
(no binary files in the repository). It reads the settings' default shop.
"""

from __future__ import annotations

import re
import time
import zlib
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import escape

from config import Settings
from engine.base import CONTEXT_SLOTS
from plugin.storefront.request_params import check_id
from plugin.storefront.shopper_identity import ensure_identity_secret
from plugin.storefront.shopper_tokens import DEFAULT_TOKEN_TTL_S, make_shopper_token
from storage.catalog import get_products, read_products_frame
from storage.db import open_shop_db, shop_exists

bp = Blueprint("demo", __name__)

PRODUCTS_PER_CATEGORY = 4
DEMO_SIGNS_CUSTOMERS = "SHOPREC_DEMO_SIGNS_CUSTOMERS"
MAX_CART_ITEMS = 20
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_PALETTE = (
    "#6366f1",
    "#0ea5e9",
    "#10b981",
    "#f59e0b",
    "#ef4444",
    "#ec4899",
    "#8b5cf6",
    "#14b8a6",
    "#f97316",
    "#84cc16",
    "#06b6d4",
    "#a855f7",
)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["settings"]
    return settings


def _customer_id() -> str:
    """An optional ?customer=ID to show personalised lists for a known demo customer
    (signed for the page only under `shoprec demo`, see _customer_token)."""
    return check_id("customer", request.args.get("customer"), []) or ""


def _customer_token(settings: Settings, shop: str, customer_id: str) -> str:
    """What a real shop's server does for a logged-in customer: sign a short-lived token,
    so the widget's personal lists are served to this page and no one else.

    Only under `shoprec demo` (app config DEMO_SIGNS_CUSTOMERS): these pages are in every
    server, and signing any ?customer= there would hand out every shopper's list.
    """
    if not customer_id or not current_app.config.get(DEMO_SIGNS_CUSTOMERS):
        return ""
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        secret = ensure_identity_secret(db, changed_by="demo")
    finally:
        db.close()
    expiry = int(time.time()) + DEFAULT_TOKEN_TTL_S
    return make_shopper_token(secret, shop, customer_id, expiry)


def _page(template: str, **context: Any) -> str | tuple[str, int]:
    settings = _settings()
    shop = settings.default_shop
    if not shop_exists(settings.data_dir, shop):
        return render_template("demo/missing.html", shop=shop), 404
    token = _customer_token(settings, shop, _customer_id())
    # Every slot of the page's context gets a placeholder, so a slot added to the slot table
    # (engine.slot_specs) shows on the demo storefront too.
    return render_template(
        template, shop=shop, customer_token=token, context_slots=CONTEXT_SLOTS, **context
    )


@bp.get("/")
def home() -> str | tuple[str, int]:
    """A few products of every category, plus the home page's widget."""
    settings = _settings()
    if not shop_exists(settings.data_dir, settings.default_shop):
        return _page("demo/home.html")
    db = open_shop_db(settings.data_dir, settings.default_shop, create=False)
    try:
        frame = read_products_frame(db)
    finally:
        db.close()
    active = frame[frame["status"] == "active"]
    categories = [
        (name or "Other", group.head(PRODUCTS_PER_CATEGORY).to_dict("records"))
        for name, group in active.groupby("category", sort=True)
    ]
    return _page("demo/home.html", categories=categories)


@bp.get("/demo/product/<product_id>")
def product(product_id: str) -> str | tuple[str, int]:
    """One product with frequently-bought-together, also-viewed and similar placeholders."""
    settings = _settings()
    if check_id("product_id", product_id, []) is None:
        abort(404)
    if not shop_exists(settings.data_dir, settings.default_shop):
        return _page("demo/product.html")
    db = open_shop_db(settings.data_dir, settings.default_shop, create=False)
    try:
        found = get_products(db, [product_id]).get(product_id)
    finally:
        db.close()
    if found is None:
        abort(404)
    return _page("demo/product.html", product=found)


@bp.get("/demo/cart")
def cart() -> str | tuple[str, int]:
    """A cart given as ?items=p001,p002 with the cart placeholders."""
    settings = _settings()
    wanted = [i.strip() for i in request.args.get("items", "").split(",") if i.strip()]
    ids = [i for i in wanted[:MAX_CART_ITEMS] if check_id("items", i, []) is not None]
    if not shop_exists(settings.data_dir, settings.default_shop):
        return _page("demo/cart.html")
    db = open_shop_db(settings.data_dir, settings.default_shop, create=False)
    try:
        found = get_products(db, ids)
    finally:
        db.close()
    lines = [found[i] for i in ids if i in found]
    total = sum(line["price"] for line in lines)
    return _page(
        "demo/cart.html",
        lines=lines,
        total=total,
        cart_ids=",".join(line["product_id"] for line in lines),
    )


def category_svg(slug: str) -> str:
    """A square placeholder image: a coloured rectangle with the category's initial."""
    colour = _PALETTE[zlib.crc32(slug.encode("ascii")) % len(_PALETTE)]
    label = escape(slug.replace("-", " ").title())
    initial = escape(slug[0].upper())
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 320" width="320" height="320"'
        f' role="img" aria-label="{label}">'
        f'<rect width="320" height="320" fill="{colour}"/>'
        '<circle cx="160" cy="150" r="84" fill="#fff" fill-opacity=".18"/>'
        '<text x="160" y="150" dy=".35em" text-anchor="middle" fill="#fff" '
        'font-family="Helvetica, Arial, sans-serif" font-size="110" font-weight="700">'
        f"{initial}</text>"
        '<text x="160" y="282" text-anchor="middle" fill="#fff" fill-opacity=".9" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="22">{label}</text></svg>'
    )


@bp.get("/demo/static/img/<slug>.svg")
def category_image(slug: str) -> Response:
    """The placeholder image of one category (demo products point their image_url here)."""
    if not _SLUG.match(slug):
        abort(404)
    response = Response(category_svg(slug), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
