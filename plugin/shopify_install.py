"""Blueprint 'shopify_install': the OAuth install of a Shopify shop (PLATFORMS.md 1.3-1.4).

GET /shopify/install   Shopify (or the merchant) arrives with shop, timestamp, hmac. The HMAC
                       and the timestamp are checked, a random state nonce goes into a short
                       signed cookie, and the merchant is sent to the grant screen.
GET /shopify/callback  Shopify returns with code, shop, state, timestamp, hmac. HMAC, state
                       (constant-time, against the cookie) and shop are checked, the code is
                       exchanged for an expiring offline token stored in the shop's own file
                       (never logged, never returned), the webhooks are registered and the
                       backfill is enqueued.
The shop's shoprec name is its domain minus '.myshopify.com' (connectors.shopify.auth), the
same mapping the webhook inbox and the app proxy use.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from config import Settings
from connectors.errors import InvalidShopDomain, PlatformError, SignatureMismatch
from connectors.http_client import new_session
from connectors.shopify.api import ShopifyClient
from connectors.shopify.auth import (
    authorize_url,
    exchange_code,
    shop_name_for_domain,
    validate_shop_domain,
)
from connectors.signatures import verify_shopify_query
from plugin.errors import ApiError
from storage.connections import save_connection, update_credentials
from storage.db import open_shop_db, validate_shop_name
from storage.errors import InvalidShopName
from worker.queues import QUEUE_SYNC, get_queue
from worker.redis_connection import get_redis
from worker.shopify_sync import ensure_web_pixel, ensure_webhooks
from worker.sync_run import enqueue_sync

logger = logging.getLogger(__name__)

bp = Blueprint("shopify_install", __name__)

STATE_COOKIE = "shoprec_shopify_state"
STATE_MAX_AGE_S = 600
# Shopify stamps the redirect when it sends it; an old one is a replayed link.
MAX_TIMESTAMP_SKEW_S = 300


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    key = settings.secret_key or settings.shopify_api_secret
    return URLSafeTimedSerializer(key, salt="shopify-oauth-state")


def _require_app(settings: Settings) -> None:
    if not settings.shopify_api_key or not settings.shopify_api_secret:
        raise ApiError(
            "SHOPIFY_API_KEY and SHOPIFY_API_SECRET must be set to install on Shopify",
            503,
            "not_configured",
        )


def _checked_query(settings: Settings) -> tuple[str, list[tuple[str, str]]]:
    """The verified shop domain and query pairs; 400/401 for anything else."""
    pairs = list(request.args.items(multi=True))
    try:
        domain = validate_shop_domain(request.args.get("shop", ""))
    except InvalidShopDomain as exc:
        raise ApiError(str(exc), 400, "invalid_shop") from None
    try:
        verify_shopify_query(settings.shopify_api_secret, pairs, request.args.get("hmac"))
    except SignatureMismatch as exc:
        raise ApiError(str(exc), 401, "invalid_signature") from None
    try:
        stamp = int(request.args.get("timestamp", ""))
    except ValueError:
        raise ApiError(
            "timestamp must be a whole number of seconds", 400, "invalid_timestamp"
        ) from None
    if abs(time.time() - stamp) > MAX_TIMESTAMP_SKEW_S:
        raise ApiError("the request is too old (timestamp)", 401, "stale_request")
    return domain, pairs


@bp.get("/shopify/install")
def install() -> BaseResponse:
    """Check the install request and send the merchant to Shopify's grant screen."""
    settings = _settings()
    _require_app(settings)
    domain, _ = _checked_query(settings)
    nonce = secrets.token_hex(16)
    target = authorize_url(
        domain,
        settings.shopify_api_key,
        settings.shopify_scopes,
        f"{settings.public_url.rstrip('/')}/shopify/callback",
        nonce,
    )
    response = redirect(target, 302)
    response.set_cookie(
        STATE_COOKIE,
        _serializer(settings).dumps({"nonce": nonce, "shop": domain}),
        max_age=STATE_MAX_AGE_S,
        path="/shopify/callback",
        secure=settings.public_url.startswith("https://"),
        httponly=True,
        samesite="Lax",
    )
    return response


def _check_state(settings: Settings, domain: str) -> None:
    raw = request.cookies.get(STATE_COOKIE, "")
    try:
        issued: Any = _serializer(settings).loads(raw, max_age=STATE_MAX_AGE_S)
    except BadSignature:
        raise ApiError(
            "the install state is missing or expired: start again", 401, "bad_state"
        ) from None
    given = request.args.get("state", "")
    nonce = str(issued.get("nonce", "")) if isinstance(issued, dict) else ""
    if not nonce or not hmac.compare_digest(nonce.encode(), given.encode("utf-8", "replace")):
        raise ApiError("state does not match the install request", 401, "bad_state")
    if issued.get("shop") != domain:
        raise ApiError("the callback is for another shop than the install", 401, "bad_state")


@bp.get("/shopify/callback")
def callback() -> tuple[Response, int] | Response:
    """Finish the install: token, webhooks, backfill. The answer names no secret."""
    settings = _settings()
    _require_app(settings)
    domain, _ = _checked_query(settings)
    _check_state(settings, domain)
    code = request.args.get("code", "")
    if not code:
        raise ApiError("code is required", 400, "invalid_parameter")
    try:
        shop = validate_shop_name(shop_name_for_domain(domain))
    except InvalidShopName as exc:
        raise ApiError(str(exc), 400, "invalid_shop") from None
    session = new_session()
    try:
        tokens = exchange_code(
            session,
            domain,
            settings.shopify_api_key,
            settings.shopify_api_secret,
            code,
            now=datetime.now(UTC),
            timeout_s=settings.http_timeout_s,
        )
    except PlatformError as exc:
        logger.warning("token exchange for %s failed: %s", domain, exc)
        raise ApiError("Shopify refused the install code", 502, "token_exchange_failed") from None
    db = open_shop_db(settings.data_dir, shop)
    try:
        save_connection(
            db,
            "shopify",
            domain,
            tokens.as_credentials(),
            scope=tokens.scope,
            access_expires_at=tokens.expires_at,
        )
        client = ShopifyClient(
            session,
            domain,
            settings.shopify_api_version,
            tokens,
            api_key=settings.shopify_api_key,
            api_secret=settings.shopify_api_secret,
            on_tokens=lambda t: update_credentials(db, "shopify", t.as_credentials(), t.expires_at),
            timeout_s=settings.http_timeout_s,
        )
        try:
            webhooks = ensure_webhooks(client, settings)
            web_pixel = ensure_web_pixel(client, settings, shop)
        except PlatformError as exc:  # a 401/403 right after the exchange: report, keep going
            webhooks = {"registered": 0, "problems": [str(exc)]}
            web_pixel = f"not activated: {exc}"
    finally:
        db.close()
    backfill = _enqueue_backfill(settings, shop)
    registered = webhooks["registered"]
    logger.info("shop %s installed (%d webhooks, backfill %s)", shop, registered, backfill)
    response = jsonify(
        {
            "ok": True,
            "shop": shop,
            "webhooks_registered": registered,
            "webhook_problems": webhooks["problems"],
            "web_pixel": web_pixel,
            "backfill": backfill,
        }
    )
    response.delete_cookie(STATE_COOKIE, path="/shopify/callback")
    return response


def _enqueue_backfill(settings: Settings, shop: str) -> str:
    """'queued', or what to run by hand when there is no Redis to queue on."""
    if not settings.redis_url:
        return f"not queued (no REDIS_URL): run `shoprec --shop {shop} sync`"
    try:
        enqueue_sync(get_queue(QUEUE_SYNC, get_redis(settings)), shop, "shopify")
    except redis.RedisError as exc:
        logger.warning("backfill of %s not queued: %s", shop, exc)
        return f"not queued (Redis unreachable): run `shoprec --shop {shop} sync`"
    return "queued"
