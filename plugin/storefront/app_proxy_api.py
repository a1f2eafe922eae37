"""Blueprint 'app_proxy_storefront': the widget's own paths under the shop's /apps/shoprec.

The theme app extension (integrations/shopify/) points widget.js at data-api="/apps/shoprec",
so the widget's usual requests arrive here through Shopify's app proxy:

GET  /apps/shoprec/widget.js                 the widget script (public, like /static/widget.js)
GET  /apps/shoprec/api/v1/recommendations    plugin.storefront.app_proxy's signed answer
POST /apps/shoprec/api/v1/events             the storefront's events, with the signed identity

Why through the proxy: the request goes to the shop's own domain, so Shopify signs who is
logged in (`logged_in_customer_id`). On events that signed id is the only customer id kept:
a `customer_id` or `customer_token` in the body is the page's claim and is replaced, and
every event is filed under the signed shop whatever the body names.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file

# The storefront inbox's own body reader and rate limit, so both paths parse and count alike.
from plugin.storefront.api import (
    MAX_EVENT_BODY_BYTES,
    SERVICE_KEY,
    SHARED_CACHE,
    WIDGET_JS,
    charge_event_rate_limit,
    parse_event_body,
    store_events,
)
from plugin.storefront.app_proxy import proxied_recommendations, verified_proxy_shop
from plugin.storefront.request_params import parse_event_payload
from serving.service import RecommendationService

bp = Blueprint("app_proxy_storefront", __name__)

PROXY_BASE = "/apps/shoprec"
# What the page may say about who the shopper is; the signed logged_in_customer_id replaces it.
_PAGE_IDENTITY = ("customer_id", "customer_token")

bp.add_url_rule(
    f"{PROXY_BASE}/api/v1/recommendations",
    endpoint="recommendations",
    view_func=proxied_recommendations,
    methods=["GET"],
)


@bp.get(f"{PROXY_BASE}/widget.js")
def proxied_widget_script() -> Response:
    """widget.js from the shop's own domain (the app embed loads it from here)."""
    response = send_file(WIDGET_JS, mimetype="text/javascript", max_age=300)
    response.headers["Cache-Control"] = SHARED_CACHE
    return response


def _with_signed_identity(payload: Any, shop: str, customer: str | None) -> Any:
    """The body's events filed under the signed shop and customer (None when logged out).

    Anything that is not an event object is left as it is, for the validator to name.
    """
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        if isinstance(item, dict):
            for name in _PAGE_IDENTITY:
                item.pop(name, None)
            item["shop"] = shop
            item["customer_id"] = customer
    return payload


@bp.post(f"{PROXY_BASE}/api/v1/events")
def proxied_events() -> tuple[Response, int]:
    """Store the widget's and the app embed's events; 202 with how many were new."""
    shop = verified_proxy_shop()
    request.max_content_length = MAX_EVENT_BODY_BYTES
    payload, problem = parse_event_body(request.get_data(cache=False))
    charge_event_rate_limit(payload)
    if problem is not None:
        raise problem
    customer = request.args.get("logged_in_customer_id", "") or None
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    shop, rows = parse_event_payload(
        _with_signed_identity(payload, shop, customer), service.shop_exists
    )
    return jsonify({"ok": True, "stored": store_events(service, shop, rows)}), 202
