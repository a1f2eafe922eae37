"""Blueprint 'webhooks': the signed inbox for Shopify and WooCommerce deliveries (STYLE.md 4).

Every delivery is handled in the same order: cap the body size, read the raw bytes, verify
the HMAC in constant time *before* parsing (401 with the canonical error body otherwise),
refuse an empty body (400), store the receipt, then either enqueue its processing (REDIS_URL
set) or process it inline, and answer 200. Parsing failures are recorded on the stored
receipt by worker.receipts, never answered as errors: the platform would only retry the same
bytes.

A repeat of the same delivery (storage.receipts.dedupe_key: Shopify's webhook id; WooCommerce's
delivery id *and* body) stores nothing and answers 200 with duplicate true. If its receipt is
still pending with no live job (the queue lost it), the repeat dispatches it again: a platform
retry is how a stranded receipt gets applied even before the sweep runs.

A Shopify delivery's X-Shopify-Shop-Domain maps to the shop name with the same function as
the install flow (connectors.shopify.auth.shop_name_for_domain: 'x.myshopify.com' -> 'x').
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

import redis
import sqlite_utils
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.datastructures import Headers

from config import Settings
from connectors.errors import InvalidShopDomain, SignatureMismatch
from connectors.platforms import SHOPIFY, WOOCOMMERCE, kept_header_prefixes, signature_headers
from connectors.shopify.auth import shop_name_for_domain
from connectors.signatures import verify_signature
from plugin.errors import ApiError
from plugin.queue_connection import queue_redis
from storage.connections import WOOCOMMERCE_WEBHOOK_SECRET_KEY
from storage.db import open_shop_db, shop_exists
from storage.receipts import get_receipt, receipt_status, store_receipt
from storage.shop_settings import get_shop_setting
from worker.queues import QUEUE_DEFAULT, get_queue
from worker.receipt_dispatch import dispatch_receipt
from worker.receipts import (
    finish_receipt,
    process_stored_receipt,
    record_failed_try,
)

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
WOOCOMMERCE_SECRET_KEY = WOOCOMMERCE_WEBHOOK_SECRET_KEY
_WOO_PING = re.compile(rb"^webhook_id=\d+$")
# Only these headers are kept on a receipt: never signatures, cookies or authorization.
_KEPT_HEADERS = {"content-type", "user-agent", "content-length"}


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _read_body() -> bytes:
    """The raw request bytes, refusing more than MAX_BODY_BYTES with 413 before reading them."""
    request.max_content_length = MAX_BODY_BYTES
    return request.get_data(cache=True)


def kept_headers(headers: Mapping[str, str] | Headers) -> dict[str, str]:
    """The delivery's headers worth keeping, lower-cased, without any signature or secret."""
    kept = {}
    for name, value in headers.items():
        key = name.lower()
        if key in signature_headers():
            continue
        if key in _KEPT_HEADERS or key.startswith(kept_header_prefixes()):
            kept[key] = value
    return kept


def _delivery_id(given: str | None, platform: str, body: bytes) -> str:
    """The platform's delivery id, or (never seen, but not worth losing a delivery over) a
    hash of the body, so a retry of the same bytes still dedupes."""
    if given and given.strip():
        return given.strip()
    return f"{platform}:sha256:{hashlib.sha256(body).hexdigest()}"


def _refuse_signature(platform: str, shop: str, exc: SignatureMismatch) -> ApiError:
    # The shop comes from an unverified header here: logged quoted and cut short.
    logger.warning("%s webhook for %r refused: %s", platform, shop[:100], exc)
    return ApiError(str(exc), status=401, code="invalid_signature")


def _refuse_empty(body: bytes) -> None:
    """A signed delivery with no content carries nothing to apply: 400 before storing it."""
    if not body.strip():
        raise ApiError("the delivery body is empty", status=400, code="empty_body")


def _accept(shop: str, platform: str, topic: str, delivery: str, body: bytes) -> Response:
    """Store the receipt, hand it on (queue or inline), answer 200."""
    settings = _settings()
    db = open_shop_db(settings.data_dir, shop, create=False)
    summary: dict[str, Any] | None = None
    answer: dict[str, Any] = {"ok": True}
    try:
        receipt_id, is_new = store_receipt(
            db, platform, topic or "unknown", delivery, kept_headers(request.headers), body
        )
        answer.update(receipt_id=receipt_id, duplicate=not is_new)
        extra = {"shop": shop, "receipt_id": receipt_id}
        if is_new:
            summary = _dispatch(db, shop, receipt_id)
        elif receipt_status(db, receipt_id) == "pending":
            # The same delivery again while its receipt waits: the job may be lost (Redis
            # restarted); _dispatch enqueues only when no live job holds the receipt.
            logger.info("repeat of pending delivery %s dispatched", delivery, extra=extra)
            summary = _dispatch(db, shop, receipt_id)
            answer["redispatched"] = True
        else:
            logger.info("duplicate delivery %s ignored", delivery, extra=extra)
    finally:
        db.close()
    if summary is not None:
        finish_receipt(settings, shop, summary)  # shop/redact: delete once the db is closed
    return jsonify(answer)


def _dispatch(db: sqlite_utils.Database, shop: str, receipt_id: int) -> dict[str, Any] | None:
    """Hand the receipt to a job (its own, or the shop's waiting one: worker.receipt_dispatch);
    without Redis, process it inline and return how."""
    settings = _settings()
    extra = {"shop": shop, "receipt_id": receipt_id}
    connection = queue_redis(settings)
    if connection is not None:
        try:
            dispatch_receipt(get_queue(QUEUE_DEFAULT, connection), shop, receipt_id)
            return None
        except redis.RedisError:
            # The receipt is stored: process it here rather than leave it waiting on Redis.
            logger.exception(
                "could not enqueue receipt %s; processing inline", receipt_id, extra=extra
            )
    receipt = get_receipt(db, receipt_id)
    if receipt is None:  # deleted between store and read: nothing left to do
        return None
    try:
        return process_stored_receipt(db, shop, receipt)
    except Exception as exc:
        # Stored and still 'pending': the sweep or a replay applies it; the platform must
        # not retry.
        logger.exception("inline processing of receipt %s failed", receipt_id, extra=extra)
        record_failed_try(db, receipt, exc)
        return None


@bp.post("/webhooks/shopify")
def shopify_webhook() -> Response:
    """One Shopify delivery: X-Shopify-Topic/-Shop-Domain/-Hmac-Sha256/-Webhook-Id headers."""
    body = _read_body()
    domain = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    try:
        # Both secrets during a rotation (PLATFORMS.md 1.7); an empty previous one is skipped.
        secrets = (_settings().shopify_api_secret, _settings().shopify_api_secret_previous)
        verify_signature(
            [s for s in secrets if s], body, request.headers.get("X-Shopify-Hmac-Sha256")
        )
    except SignatureMismatch as exc:
        raise _refuse_signature("shopify", domain, exc) from None
    _refuse_empty(body)
    try:
        shop = shop_name_for_domain(domain)
    except InvalidShopDomain:
        shop = ""
    if not shop or not shop_exists(_settings().data_dir, shop):
        raise ApiError(f"unknown shop domain {domain[:120]!r}", status=404, code="unknown_shop")
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    delivery = _delivery_id(request.headers.get(SHOPIFY.delivery_id_header), "shopify", body)
    return _accept(shop, "shopify", topic, delivery, body)


@bp.post("/webhooks/woocommerce/<shop>")
def woocommerce_webhook(shop: str) -> Response:
    """One WooCommerce delivery (X-WC-Webhook-* headers), or the unsigned creation ping."""
    body = _read_body()
    if not shop_exists(_settings().data_dir, shop):
        raise ApiError(f"unknown shop {shop!r}", status=404, code="unknown_shop")
    topic = (request.headers.get("X-WC-Webhook-Topic") or "").strip()
    signature = request.headers.get("X-WC-Webhook-Signature")
    if not topic and not signature and _WOO_PING.match(body.strip()):
        # Sent unsigned when a webhook is created or activated; it must get exactly 200.
        logger.info("woocommerce ping for %s", shop, extra={"shop": shop})
        return jsonify({"ok": True, "ping": True})
    db = open_shop_db(_settings().data_dir, shop, create=False)
    try:
        secret = str(get_shop_setting(db, WOOCOMMERCE_SECRET_KEY, "") or "")
    finally:
        db.close()
    try:
        verify_signature(secret, body, signature)
    except SignatureMismatch as exc:
        raise _refuse_signature("woocommerce", shop, exc) from None
    _refuse_empty(body)
    header = WOOCOMMERCE.delivery_id_header
    delivery = _delivery_id(request.headers.get(header), "woocommerce", body)
    return _accept(shop, "woocommerce", topic, delivery, body)
