"""The OpenAPI 3.1 document of the public storefront API, served at /api/v1/openapi.json.

Built from the same constants the validators use (contexts, slots, event types, limits), so
the document cannot drift from what the endpoints accept; a test checks every documented
path against the app's URL map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config import Settings
from engine.base import CONTEXT_SLOTS
from plugin.storefront.shop_display import WIDGET_FORMATS
from plugin.storefront.shopper_identity import ANONYMOUS, API_KEY_HEADER, CUSTOMER, OPEN
from plugin.storefront.shopper_tokens import MAX_TOKEN_LENGTH, MAX_TOKEN_TTL_S
from storage.checkouts import CHECKOUT
from storage.events import EVENT_TYPES

ERROR = {"$ref": "#/components/schemas/Error"}


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


def _recommendation_parameters(
    settings: Settings, context_slots: Mapping[str, tuple[str, ...]], with_context: bool
) -> list[dict[str, Any]]:
    slots = sorted({slot for group in context_slots.values() for slot in group})
    params = [_query("shop", "Shop name (its folder under the data dir).", {"type": "string"},
                     required=True)]  # fmt: skip
    if with_context:
        params.append(_query("context", "Placement.", {"enum": sorted(context_slots)},
                             required=True))  # fmt: skip
    id_list = {"type": "array", "items": {"type": "string", "maxLength": 128}}
    params += [
        _query("slot", "List within the context; defaults to the context's first.",
               {"enum": slots}),
        _query("product_id", "Anchor product(s): repeat or comma-separate for a cart.", id_list,
               explode=True),
        _query("customer_id", "Known customer (personal lists, recent purchases excluded); "
               f"believed only with {API_KEY_HEADER} or in an identity=open shop, else "
               "ignored (the request is answered as anonymous).",
               {"type": "string", "maxLength": 128}),
        _query("customer_token", "The customer signed by the shop's server: "
               "v1.<customer_id base64url>.<expiry unix>.<hex HMAC-SHA256 of "
               "'shop\\ncustomer_id\\nexpiry' keyed by the shop's identity secret>, expiring "
               f"within {MAX_TOKEN_TTL_S} s. Missing, forged, expired or another shop's: "
               "anonymous.", {"type": "string", "maxLength": MAX_TOKEN_LENGTH}),
        {"name": API_KEY_HEADER, "in": "header", "description": "The shop's server-to-server "
         "API key (shoprec identity api-key --rotate): customer_id is trusted as given; a "
         "wrong key is 401.", "schema": {"type": "string"}},
        _query("session_id", "Browser session (session views, dismissals).",
               {"type": "string", "maxLength": 128}),
        _query("visitor_id", "First-party browser id kept by the widget across sessions "
               "(dismissals last across visits; experiment assignment).",
               {"type": "string", "maxLength": 128}),
        _query("limit", "Items wanted.", {"type": "integer", "minimum": 1,
               "maximum": settings.max_limit, "default": settings.default_limit}),
        _query("exclude", "Products never to return (already on the page); at most 100.",
               id_list, explode=True),
    ]  # fmt: skip
    return params


def _responses(ok: dict[str, Any]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": ERROR}}}
    return {
        "200": ok,
        "400": {"description": "Bad parameters", **error},
        "401": {"description": f"{API_KEY_HEADER} is not the shop's API key", **error},
        "404": {"description": "Unknown shop", **error},
    }


def build_openapi(
    settings: Settings, context_slots: Mapping[str, tuple[str, ...]] = CONTEXT_SLOTS
) -> dict[str, Any]:
    """The document for this process's settings (limits are settings); `context_slots` is
    the slot table's (engine.slot_specs), given only to build the document of another table."""
    item = {
        "type": "object",
        "required": ["product_id", "title", "price", "url", "image_url", "reason"],
        "properties": {
            "product_id": {"type": "string"}, "title": {"type": "string"},
            "price": {"type": "number"}, "compare_at_price": {"type": ["number", "null"]},
            "url": {"type": "string"}, "image_url": {"type": "string"},
            "reason": {"type": "string"}, "strategy": {"type": "string"},
            "position": {"type": "integer"},
        },
    }  # fmt: skip
    answer = {
        "type": "object",
        "required": ["shop", "context", "slot", "request_id", "identity", "items"],
        "properties": {
            "shop": {"type": "string"}, "context": {"type": "string"},
            "identity": {"enum": [CUSTOMER, ANONYMOUS, OPEN], "description": "Whose list "
                         "this is: a signed customer's, an anonymous visitor's (session and "
                         "visitor signals only), or an identity=open shop's as asked."},
            "slot": {"type": "string"}, "request_id": {"type": "string"},
            "items": {"type": "array", "items": item},
            "widget": {
                "type": "object", "required": ["title", "format"],
                "description": "The shop's display choices (admin settings slot_titles and "
                               "widget_format); a page's data-title/data-format win, except "
                               "a format_assigned by a display experiment.",
                "properties": {"title": {"type": "string"},
                               "format": {"enum": list(WIDGET_FORMATS)},
                               "format_assigned": {"type": "boolean"}},
            },
            "experiment": {
                "type": "object", "required": ["id", "variant"],
                "description": "Present when the visitor is in a running experiment; the "
                               "variant 'holdout' gets no items.",
                "properties": {"id": {"type": "integer"}, "variant": {"type": "string"},
                               "placement": {"type": "string", "description": "A placement "
                                             "test's position: the widget shows the list only "
                                             "in the element with this data-placement."}},
            },
        },
    }  # fmt: skip
    event = {
        "type": "object",
        "required": ["shop", "type"],
        "description": "A product event (product_id required), or a completed checkout "
                       "(type 'checkout': order_id and visitor_id required, no product) that "
                       "ties a guest order to the visitor's clicks for attribution.",
        "properties": {
            "shop": {"type": "string"}, "type": {"enum": [*EVENT_TYPES, CHECKOUT]},
            "product_id": {"type": "string"}, "ts": {"type": "string", "format": "date-time"},
            "order_id": {"type": "string", "description": "type 'checkout' only: the "
                         "platform's order id, as its order webhook names it."},
            "customer_id": {"type": "string", "description": "Stored only when signed "
                            "(customer_token or API key); else dropped, the event stays "
                            "anonymous."},
            "customer_token": {"type": "string", "maxLength": MAX_TOKEN_LENGTH,
                               "description": "As the query parameter; not stored."},
            "session_id": {"type": "string"},
            "visitor_id": {"type": "string", "maxLength": 128},
            "context": {"type": "string"}, "slot": {"type": "string"},
            "strategy": {"type": "string"}, "request_id": {"type": "string"},
            "position": {"type": "integer"},
            "experiment_id": {"type": "integer", "description": "Not stored: attribution "
                              "recomputes the variant from visitor_id."},
            "variant": {"type": "string"},
        },
    }  # fmt: skip
    events_body = {"oneOf": [event, {"type": "array", "items": event, "maxItems": 100}]}
    json_of = {"application/json": {"schema": {"$ref": "#/components/schemas/Recommendations"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "shoprec storefront API", "version": "1"},
        "paths": {
            "/api/v1/recommendations": {"get": {
                "summary": "One recommendation list as JSON.",
                "parameters": _recommendation_parameters(settings, context_slots,
                                                         with_context=True),
                "responses": _responses({"description": "The list", "content": json_of}),
            }},
            "/api/v1/widgets/{context}": {"get": {
                "summary": "The same list as an HTML fragment for the widget.",
                "parameters": [{"name": "context", "in": "path", "required": True,
                                "schema": {"enum": sorted(context_slots)}}]
                + _recommendation_parameters(settings, context_slots, with_context=False),
                "responses": _responses({"description": "HTML fragment",
                                         "content": {"text/html": {}}}),
            }},
            "/api/v1/events": {"post": {
                "summary": "Storefront events from the widget (one or a batch).",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": events_body}}},
                "responses": {"202": {"description": "Stored"},
                              "400": {"description": "Invalid event",
                                      "content": {"application/json": {"schema": ERROR}}},
                              "403": {"description": "Origin not in the shop's "
                                      "allowed_origins", "content": {"application/json":
                                                                     {"schema": ERROR}}},
                              "413": {"description": "Batch or body too large"},
                              "429": {"description": "Too many events from this visitor; "
                                      "see Retry-After", "headers": {"Retry-After": {
                                          "schema": {"type": "integer"}}},
                                      "content": {"application/json": {"schema": ERROR}}}},
            }},
            "/healthz": {"get": {"summary": "Health: ok or degraded (Redis configured but down).",
                                 "responses": {"200": {"description": "Health"}}}},
            "/livez": {"get": {"summary": "Liveness: the process answers (no I/O).",
                               "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: data dir, Redis and a worker heartbeat "
                                           "(with REDIS_URL).",
                                "responses": {"200": {"description": "Ready"},
                                              "503": {"description": "Not ready; see checks"}}}},
            "/metrics": {"get": {"summary": "Prometheus text exposition.",
                                 "responses": {"200": {"description": "Metrics"}}}},
        },
        "components": {"schemas": {
            "Recommendations": answer,
            "Error": {"type": "object", "required": ["ok", "error", "errors", "status"],
                      "properties": {"ok": {"const": False}, "error": {"type": "string"},
                                     "errors": {"type": "array", "items": {"type": "string"}},
                                     "status": {"type": "integer"}, "code": {"type": "string"}}},
        }},
    }  # fmt: skip
