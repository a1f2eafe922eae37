"""Blueprint 'storefront': the recommendations API, the widget HTML and script, events, healthz.

These routes are called from shop pages on other origins, so they answer CORS (v1 echoes the
caller's Origin; a per-shop allow-list read from the shop's settings comes later) and never
answer bad input with a 500, a stack trace or an HTML error page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import redis
from flask import Blueprint, Response, current_app, jsonify, render_template, request, send_file

from plugin.errors import ApiError
from plugin.openapi import build_openapi
from plugin.recommendations import SLOT_TITLES, RecommendationService
from plugin.request_params import (
    RecommendationParams,
    parse_event_payload,
    parse_recommendation_query,
)
from storage.db import list_shops, open_shop_db
from storage.events import insert_events

bp = Blueprint("storefront", __name__)

SERVICE_KEY = "shoprec.recommendations"
MAX_EVENT_BODY_BYTES = 256 * 1024
REDIS_TIMEOUT_S = 0.5
WIDGET_JS = Path(__file__).resolve().parent / "static" / "widget.js"
PERSONAL_CACHE = "private, max-age=60"
SHARED_CACHE = "public, max-age=300"
WIDGET_FORMATS = ("scroll", "grid")


def _service() -> RecommendationService:
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    return service


def _params(context: str | None = None) -> RecommendationParams:
    service = _service()
    return parse_recommendation_query(
        request.args,
        request.args.getlist("product_id"),
        context=context,
        default_limit=service.settings.default_limit,
        max_limit=service.settings.max_limit,
        shop_exists=service.shop_exists,
    )


def _cache_control(params: RecommendationParams) -> str:
    return PERSONAL_CACHE if params.customer_id or params.session_id else SHARED_CACHE


def safe_url(url: str) -> str:
    """The url if it is http(s) or site-relative; '' for javascript:, data: and the like."""
    if url.startswith("/") and not url.startswith("//"):
        return url
    if urlsplit(url).scheme in ("http", "https"):
        return url
    return ""


def tracked_url(url: str, answer: dict[str, Any], item: dict[str, Any]) -> str:
    """The product url carrying the request id, slot, strategy and position for attribution."""
    base = safe_url(url or "")
    if not base:
        return ""
    query = urlencode(
        {
            "shoprec_rid": answer["request_id"],
            "shoprec_slot": answer["slot"],
            "shoprec_pos": item["position"],
            "shoprec_strategy": item["strategy"],
        }
    )
    head, _, fragment = base.partition("#")
    joined = f"{head}{'&' if '?' in head else '?'}{query}"
    return f"{joined}#{fragment}" if fragment else joined


@bp.after_request
def add_cors_headers(response: Response) -> Response:
    """Echo the caller's Origin (v1; a per-shop allow-list from shop settings is to come)."""
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.get("/api/v1/recommendations")
def recommendations() -> Response:
    """One recommendation list as JSON (DESIGN.md storefront API)."""
    params = _params()
    response = jsonify(_service().recommend(params))
    response.headers["Cache-Control"] = _cache_control(params)
    return response


@bp.get("/api/v1/widgets/<context>")
def widget_html(context: str) -> Response:
    """The same list as an HTML fragment; bad input gives a harmless empty fragment (400)."""
    params = _params(context)
    answer = _service().recommend(params)
    fmt = request.args.get("format", "scroll")
    items = [
        dict(
            item,
            link=tracked_url(item["url"], answer, item),
            image=safe_url(item["image_url"] or ""),
        )
        for item in answer["items"]
    ]
    html = render_template(
        "widgets/recommendations.html",
        answer=answer,
        items=items,
        title=SLOT_TITLES.get(params.slot, ""),
        format=fmt if fmt in WIDGET_FORMATS else "scroll",
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = _cache_control(params)
    return response


@bp.get("/api/v1/widget.js")
def widget_script() -> Response:
    """The embeddable widget script (also served at /static/widget.js)."""
    response = send_file(WIDGET_JS, mimetype="text/javascript", max_age=300)
    response.headers["Cache-Control"] = SHARED_CACHE
    return response


@bp.route("/api/v1/events", methods=["POST", "OPTIONS"])
def events() -> tuple[Response, int] | Response:
    """Store one event or a batch (widget beacons); 202 with how many were new."""
    if request.method == "OPTIONS":
        return Response(status=204)
    # Werkzeug stops reading past this and raises 413, also for bodies without Content-Length.
    request.max_content_length = MAX_EVENT_BODY_BYTES
    body = request.get_data(cache=False)
    try:
        # Beacons send JSON as text/plain (a CORS-safelisted type, so no preflight): the
        # Content-Type is not trusted either way, the body is parsed as JSON.
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(f"body must be JSON: {exc}", 400, "invalid_json") from exc
    except RecursionError as exc:
        raise ApiError(
            "body must be JSON nested at most a few levels", 400, "invalid_json"
        ) from exc
    service = _service()
    shop, rows = parse_event_payload(payload, service.shop_exists)
    db = open_shop_db(service.settings.data_dir, shop, create=False)
    try:
        stored = insert_events(db, rows)
    finally:
        db.close()
    return jsonify({"ok": True, "stored": stored}), 202


def redis_state(url: str) -> str:
    """'absent' without REDIS_URL, else 'ok' or 'down' after one short ping."""
    if not url:
        return "absent"
    conn = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
    try:
        conn.ping()
    except (redis.RedisError, OSError):
        return "down"
    finally:
        conn.close()
    return "ok"


@bp.get("/api/v1/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document of this API (built from the validators' own constants)."""
    return jsonify(build_openapi(_service().settings))


@bp.get("/api/v1/ping")
def ping() -> Response:
    """A bare JSON answer: the reference the serving benchmark (bench/serve.sh) compares to."""
    return jsonify({"ok": True})


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness plus the state of what serving depends on (Redis through the cache's breaker,
    so a dead Redis is reported at once instead of costing a timeout per probe)."""
    service = _service()
    settings = service.settings
    cache = service.serving_cache
    state = cache.redis_state() if cache is not None else redis_state(settings.redis_url)
    response = jsonify(
        {
            "status": "degraded" if state == "down" else "ok",
            "redis": state,
            "shops": len(list_shops(settings.data_dir)),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response
