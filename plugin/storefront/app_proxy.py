"""Blueprint 'app_proxy': the storefront API reached through the shop's own domain.

Shopify forwards https://<shop>/apps/shoprec/... to us with shop, logged_in_customer_id,
path_prefix, timestamp and a `signature` (PLATFORMS.md 1.12): hex HMAC-SHA256 of the sorted,
decoded parameters joined with no separator, keyed by the app secret. Only after it checks
out are `shop` and `logged_in_customer_id` trusted, and that is the only customer id this
route knows: an explicit `customer_id` (or `customer_token`) in the query is the visitor's
own text and never overrides or stands in for the signed one. The answer is the same object as
/api/v1/recommendations: the storefront's validator and service are called, not copied.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from config import Settings
from connectors.errors import InvalidShopDomain, SignatureMismatch
from connectors.shopify.auth import shop_name_for_domain
from connectors.signatures import verify_shopify_proxy
from plugin.errors import ApiError
from plugin.storefront.api import SERVICE_KEY
from plugin.storefront.request_params import parse_recommendation_query
from serving.service import RecommendationService

bp = Blueprint("app_proxy", __name__)

MAX_TIMESTAMP_SKEW_S = 300
# Added by Shopify: they are not recommendation parameters.
_PROXY_PARAMS = {"signature", "hmac", "path_prefix", "timestamp", "logged_in_customer_id", "shop"}
# Claims of identity the visitor could type: dropped, the signed logged_in_customer_id rules.
_UNSIGNED_IDENTITY = {"customer_id", "customer_token"}


def _verified_shop(settings: Settings) -> str:
    pairs = list(request.args.items(multi=True))
    for name in ("shop", "signature", "timestamp"):
        if len(request.args.getlist(name)) > 1:
            raise ApiError(f"{name} may appear only once", 400, "invalid_parameter")
    try:
        verify_shopify_proxy(settings.shopify_api_secret, pairs, request.args.get("signature"))
    except SignatureMismatch as exc:
        raise ApiError(str(exc), 401, "invalid_signature") from None
    try:
        stamp = int(request.args.get("timestamp", ""))
    except ValueError:
        raise ApiError("timestamp must be a whole number", 400, "invalid_timestamp") from None
    if abs(time.time() - stamp) > MAX_TIMESTAMP_SKEW_S:
        raise ApiError("the proxied request is too old (timestamp)", 401, "stale_request")
    try:
        return shop_name_for_domain(request.args.get("shop", ""))
    except InvalidShopDomain as exc:
        raise ApiError(str(exc), 400, "invalid_shop") from None


@bp.get("/apps/shoprec/recommendations")
def proxied_recommendations() -> Response:
    """The /api/v1/recommendations answer for the signed shop (and its logged-in customer)."""
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    shop = _verified_shop(current_app.extensions["settings"])
    ignored = _PROXY_PARAMS | _UNSIGNED_IDENTITY
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ignored}
    args["shop"] = shop
    customer = request.args.get("logged_in_customer_id", "")
    if customer:
        args["customer_id"] = customer
    params = parse_recommendation_query(
        args,
        request.args.getlist("product_id"),
        context=None,
        exclude=request.args.getlist("exclude"),
        default_limit=service.settings.default_limit,
        max_limit=service.settings.max_limit,
        shop_exists=service.shop_exists,
    )
    params = replace(params, identity="customer" if params.customer_id else "anonymous")
    response = jsonify(service.recommend(params))
    # Per shopper when logged in; Shopify's proxy must not share it between customers.
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


def verified_proxy_shop() -> str:
    """The shop of this proxied request once Shopify's signature and timestamp check out
    (401/400 otherwise): the check every route under /apps/shoprec shares."""
    return _verified_shop(current_app.extensions["settings"])
