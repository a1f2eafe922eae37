"""Blueprint 'woocommerce_connect': shoprec's three stops of WooCommerce's key exchange.

GET  /woocommerce/connect/<shop>           The owner's browser, from the WordPress plugin's
                                           Connect button, with a request signed by the shop's
                                           identity secret; sent on to the store's
                                           /wc-auth/v1/authorize with a one-time state.
POST /woocommerce/connect/<shop>/callback  WooCommerce posts the new REST keys (JSON, with the
                                           state as user_id); the state is taken once, the keys
                                           checked, stored, the webhooks registered. 200 only
                                           then: WooCommerce shows the owner an error otherwise.
GET  /woocommerce/connect/<shop>/done      Where WooCommerce returns the owner: what happened.

The steps themselves live in worker.woocommerce_key_exchange; this module is HTTP only.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import redis
import sqlite_utils
from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from config import Settings
from storage.connect_states import connect_result
from storage.db import open_shop_db, validate_shop_name
from storage.errors import InvalidShopName, UnknownShop
from worker.queues import QUEUE_SYNC, get_queue
from worker.redis_connection import get_redis
from worker.sync_run import enqueue_sync
from worker.woocommerce_key_exchange import (
    CallbackConnectFailed,
    CallbackRefused,
    ConnectRequestRefused,
    finish_key_exchange,
    start_key_exchange,
)

logger = logging.getLogger(__name__)

bp = Blueprint("woocommerce_connect", __name__)

# WooCommerce's callback body is a small JSON object.
MAX_CALLBACK_BYTES = 16_384


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _page(status: int, ok: bool, heading: str, *lines: str, **extra: object) -> Response:
    html = render_template("woocommerce/connect.html", ok=ok, heading=heading, lines=lines, **extra)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the state is in our URL
    return response


def _shop_db(shop: str) -> sqlite_utils.Database:
    """The existing shop's store; InvalidShopName / UnknownShop otherwise."""
    return open_shop_db(_settings().data_dir, validate_shop_name(shop), create=False)


@bp.get("/woocommerce/connect/<shop>")
def start(shop: str) -> Response | WerkzeugResponse:
    """Check the plugin's signed request and send the owner to WooCommerce's approval page."""
    try:
        db = _shop_db(shop)
    except (InvalidShopName, UnknownShop):
        return _page(404, False, "Unknown shop", f"shoprec has no shop named {shop!r}.")
    try:
        target = start_key_exchange(
            _settings(),
            db,
            shop,
            request.args.get("store_url", ""),
            request.args.get("expires", ""),
            request.args.get("signature", ""),
        )
    except ConnectRequestRefused as exc:
        logger.warning("woocommerce connect of %s refused: %s", shop, exc, extra={"shop": shop})
        return _page(403, False, "Connect refused", str(exc))
    finally:
        db.close()
    return redirect(target, 302)


@bp.post("/woocommerce/connect/<shop>/callback")
def callback(shop: str) -> tuple[Response, int]:
    """WooCommerce's key delivery; 200 only when the shop is connected with the keys."""
    request.max_content_length = MAX_CALLBACK_BYTES
    settings = _settings()
    try:
        db = _shop_db(shop)
    except (InvalidShopName, UnknownShop):
        return jsonify({"ok": False, "error": "unknown_shop"}), 404
    try:
        result = finish_key_exchange(settings, db, shop, request.get_data(cache=False))
    except CallbackRefused as exc:
        logger.warning(
            "woocommerce key callback for %s refused: %s", shop, exc, extra={"shop": shop}
        )
        return jsonify({"ok": False, "error": "refused", "message": str(exc)}), 403
    except CallbackConnectFailed as exc:
        return jsonify({"ok": False, "error": "connect_failed", "message": str(exc)}), 502
    finally:
        db.close()
    backfill = _enqueue_backfill(settings, shop)
    return jsonify(
        {"ok": True, "shop": shop, "warnings": result["warnings"], "backfill": backfill}
    ), 200


@bp.get("/woocommerce/connect/<shop>/done")
def done(shop: str) -> Response:
    """The owner's landing page after Approve (or Deny)."""
    state = request.args.get("user_id", "")
    try:
        db = _shop_db(shop)
    except (InvalidShopName, UnknownShop):
        return _page(404, False, "Unknown shop", f"shoprec has no shop named {shop!r}.")
    try:
        outcome = connect_result(db, state) if state else None
    finally:
        db.close()
    if outcome is None:
        if request.args.get("success") == "0":
            return _page(200, False, "Not connected", "The connection was not approved.")
        return _page(404, False, "Nothing to show", "This link is not from a connect of this shop.")
    store_url = str(outcome.get("store_url", ""))
    back = f"{store_url}/wp-admin/admin.php?page=shoprec" if _http_url(store_url) else ""
    if not outcome.get("ok"):
        return _page(200, False, "Not connected", str(outcome.get("message", "")), back_url=back)
    lines = [f"shoprec's shop {shop} is connected to {store_url}: its webhooks are registered."]
    if outcome.get("message"):
        lines.append(f"Check: {outcome['message']}")
    return _page(200, True, "Connected", *lines, back_url=back, next_steps=True, shop=shop)


def _http_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def _enqueue_backfill(settings: Settings, shop: str) -> str:
    """'queued', or what to run by hand when there is no Redis to queue on."""
    if not settings.redis_url:
        return f"not queued (no REDIS_URL): run `shoprec --shop {shop} sync`"
    try:
        enqueue_sync(get_queue(QUEUE_SYNC, get_redis(settings)), shop, "woocommerce")
    except redis.RedisError as exc:
        logger.warning("backfill of %s not queued: %s", shop, exc)
        return f"not queued (Redis unreachable): run `shoprec --shop {shop} sync`"
    return "queued"
