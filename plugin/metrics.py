"""What the web processes count for /metrics: request latency, cache use, empty answers,
webhook receipts. Figures read from storage or Redis at scrape time are in metrics_scrape.

The metric objects are module-level, as prometheus-client intends: under gunicorn they write
to the PROMETHEUS_MULTIPROC_DIR files (plugin.serve_metrics switches that on before the app
is built), so /metrics sums every worker; elsewhere they live in this process. Labels stay
bounded: endpoint names, known contexts, status codes, platforms and shop names only (a shop
label is set only for shops that exist on disk, never from an unverified header alone).
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import Counter, Histogram

from connectors.errors import InvalidShopDomain
from connectors.platforms import PLATFORMS
from connectors.shopify.auth import shop_name_for_domain
from engine.base import CONTEXT_SLOTS
from plugin.log_format import bind_request_id, unbind_request_id
from serving.metrics import ANSWERS, CACHE_LOOKUPS  # noqa: F401 (registered with the app's metrics)
from storage.db import shop_exists

REQUEST_SECONDS = Histogram(
    "shoprec_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint, recommendation context and status.",
    ["endpoint", "context", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBHOOK_RECEIPTS = Counter(
    "shoprec_webhook_receipts",
    "Webhook deliveries by outcome: received (stored new), duplicate (a repeat, ignored) or "
    "rejected (bad signature, unknown shop, too large); shop is '' when it is not known.",
    ["shop", "platform", "outcome"],
)

_CONTEXTS = frozenset(CONTEXT_SLOTS)
# Each platform's webhook route is the view "<platform>_webhook" (plugin.webhooks).
_WEBHOOK_ENDPOINTS = {f"webhooks.{name}_webhook": name for name in PLATFORMS}


def _context_label() -> str:
    context = (request.view_args or {}).get("context") or request.args.get("context", "")
    return context if context in _CONTEXTS else ""


def _webhook_shop(platform: str) -> str:
    """The delivery's shop, when it names one that exists (else '': no label from junk)."""
    if platform == "woocommerce":
        name = str((request.view_args or {}).get("shop", ""))
    else:
        try:
            domain = request.headers.get("X-Shopify-Shop-Domain", "").strip().lower()
            name = shop_name_for_domain(domain)
        except InvalidShopDomain:
            return ""
    known = bool(name) and shop_exists(current_app.extensions["settings"].data_dir, name)
    return name if known else ""


def _record_webhook(platform: str, response: Response) -> None:
    """Count a webhook delivery from its answer: 200 {"duplicate": bool} or a 4xx refusal."""
    if response.status_code == 200:
        body = response.get_json(silent=True) or {}
        if "duplicate" not in body:  # WooCommerce's creation ping: not a delivery
            return
        outcome = "duplicate" if body["duplicate"] else "received"
    elif 400 <= response.status_code < 500:
        outcome = "rejected"
    else:
        return
    WEBHOOK_RECEIPTS.labels(_webhook_shop(platform), platform, outcome).inc()


def _start_request() -> None:
    g.shoprec_started = time.perf_counter()
    g.shoprec_log_token = bind_request_id()


def _finish_request(response: Response) -> Response:
    started = g.get("shoprec_started")
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        REQUEST_SECONDS.labels(endpoint, _context_label(), str(response.status_code)).observe(
            time.perf_counter() - started
        )
        platform = _WEBHOOK_ENDPOINTS.get(endpoint)
        if platform is not None:
            _record_webhook(platform, response)
    return response


def _end_request(_exc: BaseException | None) -> None:
    token = g.pop("shoprec_log_token", None)
    if token is not None:
        unbind_request_id(token)


def init_app(app: Flask) -> None:
    """Time every request and give it a request id for its log lines."""
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
