"""Blueprint 'email': the signed pull endpoint for email blocks and their click redirect.

Platforms that fetch content at send time (Klaviyo web feeds, Mailchimp's *|FEED|*) call
`GET /email/v1/block`; the block is built at request time from current stock and prices
through the same RecommendationService as the storefront, so an item that sold out after
the campaign timer fired is not shown. Every URL is signed per shop (email_blocks.signing):
it names a shopper, so an unsigned URL would let anyone read another shopper's block.
Links go through `GET /email/v1/click`, which records a 'click' event (context 'email') and
redirects to the product's own stored URL with UTM parameters, never to a URL from the query.
"""

from __future__ import annotations

import re
import time
from typing import Any

import jinja2
from flask import Blueprint, Response, current_app, jsonify, redirect, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as BaseResponse

from email_blocks.assembly import (
    BLOCK_PATH,
    CLICK_PATH,
    BlockContext,
    Recommend,
    absolute_url,
    assemble_block,
    with_utm,
)
from email_blocks.blocks import BLOCK_KINDS, BlockKind, EmailBlock
from email_blocks.render import build_environment, render_block_html, render_block_text
from email_blocks.signing import SigningUnavailable, verify_params
from engine.money import MoneyFormat
from plugin.errors import ApiError
from plugin.storefront.request_params import check_id, check_shop
from serving.email_lists import service_recommender
from serving.service import RecommendationService
from serving.shop_money import shop_money
from storage.catalog import get_products, unavailable_product_ids
from storage.clock import utc_now_iso
from storage.customers import find_customer_by_email, get_customer
from storage.db import open_shop_db, validate_shop_name
from storage.errors import InvalidShopName
from storage.events import insert_events, last_viewed_product
from storage.orders import last_bought_product

bp = Blueprint("email", __name__)

ENV_KEY = "shoprec.email_env"
SERVICE_KEY = "shoprec.recommendations"  # the storefront's key: one service per app
FORMATS = ("html", "json")
MAX_EMAIL_LENGTH = 254
_EMAIL_RE = re.compile(r"[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,190}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@bp.record_once
def _install_environment(state: BlueprintSetupState) -> None:
    """One Jinja Environment per app (templates are parsed once, not per request)."""
    state.app.extensions.setdefault(ENV_KEY, build_environment())


def _service() -> RecommendationService:
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    return service


def _verified_shop(args: dict[str, str]) -> str:
    """The shop of a correctly signed URL: 403 for a missing or bad sig, 404 for no such shop.

    The signature is checked before the shop's existence, so an unsigned caller cannot
    probe which shops are installed.
    """
    secret_key = _service().settings.secret_key
    raw = args.get("shop") or ""
    if not raw:
        raise ApiError("shop is required", 400, "invalid_parameter")
    try:
        shop = validate_shop_name(raw)
    except InvalidShopName as exc:
        raise ApiError(f"unknown shop {raw[:60]!r}: {exc}", 404, "unknown_shop") from exc
    try:
        valid = verify_params(secret_key, shop, args)
    except SigningUnavailable as exc:
        raise ApiError(
            f"{exc}; email endpoints are disabled until it is", 403, "signing_disabled"
        ) from exc
    if not valid:
        message = "sig is missing" if not args.get("sig") else "sig does not match this URL"
        raise ApiError(message, 403, "invalid_signature")
    return check_shop(shop, _service().shop_exists)


def _parse_block_args(args: dict[str, str]) -> tuple[BlockKind, str, str, str]:
    """(kind, email, customer_id, format) of a block request; 400 naming every problem."""
    problems: list[str] = []
    campaign = args.get("campaign", "")
    if campaign not in BLOCK_KINDS:
        problems.append(f"campaign must be one of {sorted(BLOCK_KINDS)}, got {campaign[:60]!r}")
    fmt = args.get("format") or "html"
    if fmt not in FORMATS:
        problems.append(f"format must be one of {list(FORMATS)}, got {fmt[:60]!r}")
    customer_id = check_id("customer_id", args.get("customer_id"), problems) or ""
    email = (args.get("email") or "").strip()
    if email and (len(email) > MAX_EMAIL_LENGTH or not _EMAIL_RE.fullmatch(email)):
        problems.append(f"email must be an email address, got {email[:60]!r}")
    if not email and not customer_id:
        problems.append("email or customer_id is required")
    if problems:
        raise ApiError(problems, 400, "invalid_parameter")
    return BLOCK_KINDS[campaign], email, customer_id, fmt


def _shopper(shop: str, email: str, customer_id: str) -> dict[str, Any] | None:
    """The customer row for the id (preferred) or the email, or None when unknown."""
    db = open_shop_db(_service().settings.data_dir, shop, create=False)
    try:
        if customer_id:
            return get_customer(db, customer_id)
        return find_customer_by_email(db, email)
    finally:
        db.close()


def _anchor(shop: str, kind: BlockKind, customer_id: str) -> dict[str, Any] | None:
    """The product the campaign is about (bought or viewed last), read fresh; None if none."""
    if kind.anchor is None:
        return None
    db = open_shop_db(_service().settings.data_dir, shop, create=False)
    try:
        if kind.anchor == "bought":
            product_id = last_bought_product(db, customer_id)
        else:
            product_id = last_viewed_product(db, customer_id)
        return get_products(db, [product_id]).get(product_id) if product_id else None
    finally:
        db.close()


def _recommend(shop: str) -> Recommend:
    """The assembly's `recommend`, answered by the app's RecommendationService."""
    return service_recommender(_service(), shop)


def _unavailable_and_money(shop: str) -> tuple[frozenset[str], MoneyFormat]:
    """Products that must not be shown at this moment (out of stock, inactive, expired), and
    how the shop writes prices.

    Read here, per request: the service may cache stock for a few seconds, an email must not.
    """
    db = open_shop_db(_service().settings.data_dir, shop, create=False)
    try:
        return frozenset(unavailable_product_ids(db, utc_now_iso()[:10])), shop_money(db)
    finally:
        db.close()


def build_block(
    shop: str, kind: BlockKind, customer: dict[str, Any] | None
) -> tuple[EmailBlock, list[dict[str, Any]]]:
    """The block for this shopper (email_blocks.assembly), plus the raw items for JSON."""
    customer_id = customer["customer_id"] if customer else None
    anchor = _anchor(shop, kind, customer_id) if customer_id else None
    unavailable, money = _unavailable_and_money(shop)
    ctx = BlockContext(shop, kind, customer, anchor, unavailable, money)
    settings = _service().settings
    return assemble_block(ctx, _recommend(shop), settings.public_url, settings.secret_key)


@bp.get(BLOCK_PATH)
def block() -> Response:
    """The shopper's block as text/html (format=html) or JSON with items, html and text."""
    started = time.perf_counter()
    args = request.args.to_dict()
    shop = _verified_shop(args)
    kind, email, customer_id, fmt = _parse_block_args(args)
    customer = _shopper(shop, email, customer_id)
    email_block, raw = build_block(shop, kind, customer)
    env: jinja2.Environment = current_app.extensions[ENV_KEY]
    html = render_block_html(email_block, env)
    if fmt == "html":
        response = Response(html, mimetype="text/html")
    else:
        response = jsonify(
            {
                "ok": True,
                "shop": shop,
                "campaign": kind.name,
                "shopper": "known" if customer else "unknown",
                "customer_id": customer["customer_id"] if customer else None,
                "heading": email_block.heading,
                "items": raw,
                "html": html,
                "text": render_block_text(email_block, env),
            }
        )
    # Built from this moment's stock and prices for one shopper: never cached or shared.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Server-Timing"] = f"block;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


@bp.get(CLICK_PATH)
def click() -> BaseResponse:
    """Record a 'click' event and 302 to the product's stored URL with UTM parameters."""
    args = request.args.to_dict()
    shop = _verified_shop(args)
    problems: list[str] = []
    product_id = check_id("product_id", args.get("product_id"), problems, required=True)
    customer_id = check_id("customer_id", args.get("customer_id"), problems)
    request_id = check_id("request_id", args.get("request_id"), problems)
    campaign = args.get("campaign", "")
    if campaign not in BLOCK_KINDS:
        problems.append(f"campaign must be one of {sorted(BLOCK_KINDS)}, got {campaign[:60]!r}")
    slot = args.get("slot") or None
    if slot is not None and not _TOKEN_RE.fullmatch(slot):
        problems.append(f"slot must be a short name of [A-Za-z0-9_.:-], got {slot[:60]!r}")
    position_raw = args.get("position", "")
    position = int(position_raw) if position_raw.isdigit() and len(position_raw) < 5 else None
    if problems or product_id is None:
        raise ApiError(problems, 400, "invalid_parameter")
    settings = _service().settings
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        product = get_products(db, [product_id]).get(product_id)
        target = absolute_url(product["url"], settings.public_url) if product else ""
        if not target:
            raise ApiError(f"product {product_id!r} has no URL in shop {shop!r}", 404, "no_url")
        insert_events(
            db,
            [
                {
                    "ts": utc_now_iso(),
                    "type": "click",
                    "product_id": product_id,
                    "customer_id": customer_id,
                    "context": "email",
                    "slot": slot,
                    "strategy": campaign,
                    "request_id": request_id,
                    "position": position,
                }
            ],
        )
    finally:
        db.close()
    response = redirect(with_utm(target, campaign), code=302)
    response.headers["Cache-Control"] = "no-store"
    return response
