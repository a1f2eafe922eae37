"""Blueprint 'storefront': the recommendations API, the widget HTML and script, events.

These routes are called from shop pages on other origins, so they answer CORS
(plugin/storefront/cors.py: the shop's own origins when it lists them, else any origin
without credentials), limit event posts per visitor (plugin/storefront/rate_limit.py) and
never answer bad input with a 500, a stack trace
or an HTML error page.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_file,
)
from flask.blueprints import BlueprintSetupState

from connectors.product_urls import safe_url
from plugin.errors import ApiError
from plugin.openapi import build_openapi
from plugin.queue_connection import queue_redis
from plugin.storefront.browse_signals import enqueue_browse_timers
from plugin.storefront.cors import ShopOrigins, origin_allowed
from plugin.storefront.experiments import ExperimentServing
from plugin.storefront.rate_limit import EventRateLimiter, event_count, visitor_key
from plugin.storefront.request_params import (
    RecommendationParams,
    parse_event_payload,
    parse_recommendation_query,
)
from plugin.storefront.shop_display import WIDGET_FORMATS, ShopDisplays
from plugin.storefront.shopper_identity import API_KEY_HEADER, ShopperIdentity
from serving.cache import ShopReaders
from serving.read_state import one_store_state
from serving.service import RecommendationService
from storage.checkouts import CHECKOUT, insert_checkouts
from storage.db import open_shop_db
from storage.events import insert_events

bp = Blueprint("storefront", __name__)

SERVICE_KEY = "shoprec.recommendations"
ORIGINS_KEY = "shoprec.shop_origins"
RATE_LIMIT_KEY = "shoprec.events_rate_limit"
EXPERIMENTS_KEY = "shoprec.storefront_experiments"
DISPLAYS_KEY = "shoprec.shop_displays"
IDENTITY_KEY = "shoprec.shopper_identity"
MAX_EVENT_BODY_BYTES = 256 * 1024
WIDGET_JS = Path(__file__).resolve().parents[1] / "static" / "widget.js"
PERSONAL_CACHE = "private, max-age=60"
SHARED_CACHE = "public, max-age=300"
READ_MEMO_S = 300.0


@bp.record_once
def _init_state(state: BlueprintSetupState) -> None:
    """The blueprint's own per-app objects (explicit, no module globals), built from settings."""
    extensions = state.app.extensions
    settings = extensions["settings"]
    extensions.setdefault(ORIGINS_KEY, ShopOrigins(settings.data_dir))
    # One long-lived read connection per shop for both; any write to the store drops what
    # they memoised (SQLite data_version), the TTL only bounds an idle entry's life.
    readers = ShopReaders(settings.data_dir, READ_MEMO_S)
    extensions.setdefault(EXPERIMENTS_KEY, ExperimentServing(readers))
    extensions.setdefault(DISPLAYS_KEY, ShopDisplays(readers))
    extensions.setdefault(IDENTITY_KEY, ShopperIdentity(readers))
    extensions.setdefault(
        RATE_LIMIT_KEY,
        EventRateLimiter(
            settings.redis_url, settings.events_rate_limit, settings.events_rate_window_s
        ),
    )


def _service() -> RecommendationService:
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    return service


def _recommend(params: RecommendationParams) -> dict[str, Any]:
    """The answer, inside the visitor's experiment when one runs for the context, with the
    shop's display choices ("widget": {"title", "format"}) read as of its last change."""
    experiments: ExperimentServing = current_app.extensions[EXPERIMENTS_KEY]
    displays: ShopDisplays = current_app.extensions[DISPLAYS_KEY]
    answer = experiments.recommend(_service(), params)
    widget: dict[str, Any] = displays.for_shop(params.shop).widget(params.slot)
    assigned = answer.pop("widget_format", None)
    if assigned in WIDGET_FORMATS:  # a display experiment's layout wins over the page's
        widget = {**widget, "format": assigned, "format_assigned": True}
    answer["widget"] = widget
    return answer


def shopper_identity() -> ShopperIdentity:
    """The app's resolver of signed shopper identity (plugin.storefront.shopper_identity)."""
    identity: ShopperIdentity = current_app.extensions[IDENTITY_KEY]
    return identity


def _params(context: str | None = None) -> RecommendationParams:
    """The validated query, its customer_id kept only when signed (else anonymous)."""
    service = _service()
    params = parse_recommendation_query(
        request.args,
        request.args.getlist("product_id"),
        context=context,
        default_limit=service.settings.default_limit,
        max_limit=service.settings.max_limit,
        shop_exists=service.shop_exists,
    )
    identity = shopper_identity()
    trusted = identity.server_caller(params.shop, request.headers.get(API_KEY_HEADER))
    shopper = identity.resolve(
        params.shop,
        params.customer_id,
        request.args.get("customer_token"),
        trusted_caller=trusted,
    )
    return replace(params, customer_id=shopper.customer_id, identity=shopper.identity)


def _cache_control(params: RecommendationParams) -> str:
    personal = params.customer_id or params.session_id or params.visitor_id
    return PERSONAL_CACHE if personal else SHARED_CACHE


def tracked_url(url: str, answer: dict[str, Any], item: dict[str, Any]) -> str:
    """The product url carrying the request id, slot, strategy and position for attribution."""
    base = safe_url(url or "")
    if not base:
        return ""
    fields = {
        "shoprec_rid": answer["request_id"],
        "shoprec_slot": answer["slot"],
        "shoprec_pos": item["position"],
        "shoprec_strategy": item["strategy"],
    }
    experiment = answer.get("experiment")
    if experiment:
        fields["shoprec_exp"] = f"{experiment['id']}:{experiment['variant']}"
    query = urlencode(fields)
    head, _, fragment = base.partition("#")
    joined = f"{head}{'&' if '?' in head else '?'}{query}"
    return f"{joined}#{fragment}" if fragment else joined


def _origin_refused(shop: str | None) -> bool:
    """Whether the request's Origin is outside the shop's allow-list (no Origin: never)."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    origins: ShopOrigins = current_app.extensions[ORIGINS_KEY]
    return not origin_allowed(origins.allowed(shop), origin)


@bp.after_request
def add_cors_headers(response: Response) -> Response:
    """Allow the caller's Origin when the shop allows it (every origin when it lists none).

    The shop is the one the request names: `shop` in the query, or in an event body.
    Credentials are never allowed (the widget sends none).
    """
    origin = request.headers.get("Origin")
    if origin:
        # Set as text: response.vary parses and rewrites the header, on every widget request.
        vary = response.headers.get("Vary")
        if not vary:
            response.headers["Vary"] = "Origin"
        elif "origin" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Origin"
        if _origin_refused(g.get("cors_shop") or request.args.get("shop")):
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        if response.status_code == 429:
            # A script on the shop's page may read how long to back off.
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.get("/api/v1/recommendations")
def recommendations() -> Response:
    """One recommendation list as JSON (DESIGN.md storefront API)."""
    with one_store_state():  # identity, experiments, display and the list: one read state
        params = _params()
        answer = _recommend(params)
    response = jsonify(answer)
    response.headers["Cache-Control"] = _cache_control(params)
    return response


@bp.get("/api/v1/widgets/<context>")
def widget_html(context: str) -> Response:
    """The same list as an HTML fragment; bad input gives a harmless empty fragment (400)."""
    with one_store_state():
        params = _params(context)
        answer = _recommend(params)
    fmt = request.args.get("format", "")
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
        title=answer["widget"]["title"],
        format=answer["widget"]["format"]
        if answer["widget"].get("format_assigned") or fmt not in WIDGET_FORMATS
        else fmt,
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
    payload, problem = parse_event_body(request.get_data(cache=False))
    # Charged before validation: junk bodies count too (against the client's address).
    charge_event_rate_limit(payload)
    if problem is not None:
        raise problem
    service = _service()
    shop, rows = parse_event_payload(payload, service.shop_exists)
    g.cors_shop = shop
    if _origin_refused(shop):
        raise ApiError(
            f"origin {request.headers['Origin']!r:.100} is not one of shop {shop!r}'s "
            "allowed_origins",
            403,
            "origin_not_allowed",
        )
    identity = shopper_identity()
    trusted = identity.server_caller(shop, request.headers.get(API_KEY_HEADER))
    rows = identity.attribute_events(shop, rows, trusted_caller=trusted)
    return jsonify({"ok": True, "stored": store_events(service, shop, rows)}), 202


def store_events(service: RecommendationService, shop: str, rows: list[dict[str, Any]]) -> int:
    """Store validated event rows (duplicates ignored) and queue the browse timers their
    attributed views start; return how many were new."""
    checkouts = [row for row in rows if row.get("type") == CHECKOUT]
    product_events = [row for row in rows if row.get("type") != CHECKOUT]
    db = open_shop_db(service.settings.data_dir, shop, create=False)
    try:
        stored = insert_events(db, product_events) if product_events else 0
        linked = insert_checkouts(db, checkouts) if checkouts else 0
    finally:
        db.close()
    if stored:
        enqueue_browse_timers(queue_redis(service.settings), shop, product_events)
    return stored + linked


def parse_event_body(body: bytes) -> tuple[Any, ApiError | None]:
    """The parsed body, or None and the 400 to answer once the rate limit is charged."""
    try:
        # Beacons send JSON as text/plain (a CORS-safelisted type, so no preflight): the
        # Content-Type is not trusted either way, the body is parsed as JSON.
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, ApiError(f"body must be JSON: {exc}", 400, "invalid_json")
    except RecursionError:
        return None, ApiError("body must be JSON nested at most a few levels", 400, "invalid_json")


def charge_event_rate_limit(payload: Any) -> None:
    """Count this body's events against its visitor; 429 with Retry-After past the limit."""
    limiter: EventRateLimiter = current_app.extensions[RATE_LIMIT_KEY]
    wait_s = limiter.charge(visitor_key(payload, request.remote_addr), event_count(payload))
    if wait_s is not None:
        raise ApiError(
            f"too many events: at most {limiter.limit} per {limiter.window_s} s per visitor; "
            f"retry in {wait_s} s",
            429,
            "rate_limited",
            headers={"Retry-After": str(wait_s)},
        )


@bp.get("/api/v1/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document of this API (built from the validators' own constants)."""
    return jsonify(build_openapi(_service().settings))


@bp.get("/api/v1/ping")
def ping() -> Response:
    """A bare JSON answer: the reference the serving benchmark (bench/serve.sh) compares to."""
    return jsonify({"ok": True})
