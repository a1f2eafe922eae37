"""Benchmark platform backfill throughput (orders/s) and webhook intake (requests/s).

Backfill: a real local HTTP server (http.server, HTTP/1.1 keep-alive, threaded, in its
own process, so it does not share our GIL) plays the platform and serves N generated
orders in pages, shaped like the real APIs: Shopify GraphQL `orders` connections (cursor
pages of ORDERS_PAGE with extensions.cost) and WooCommerce REST `/orders` (per_page=100,
X-WP-TotalPages). shoprec's real sync (worker.sync_run.run_shop_sync: client, retries,
mapping, upserts, cursor saved per page) backfills each into a fresh shop. The Shopify
client talks https to <shop>.myshopify.com; a transport adapter sends those requests to
the local server instead.

Webhook intake: `gunicorn` serves the real app (2 workers, REDIS_URL set so a delivery is
stored in the inbox and enqueued, not processed) and a Python load loop (threads with
keep-alive sessions; wrk is not used) posts signed orders/create deliveries with distinct
webhook ids. Figures are requests/s over the whole run.

Reproduce:  .venv/bin/python bench/backfill.py [--orders 100000] [--webhooks 3000]
            [--redis-url redis://127.0.0.1:6379/12] [--skip-woocommerce] [--skip-webhooks]
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import click
import requests
from requests.adapters import HTTPAdapter
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from config import load_settings
from connectors.shopify.auth import TokenSet
from connectors.signatures import sign_body
from storage.connections import save_connection
from storage.db import open_shop_db
from worker.sync_run import run_shop_sync

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "bench-shop.myshopify.com"
N_PRODUCTS = 500


def shopify_order(i: int) -> dict[str, Any]:
    oid = 10_000_000 + i
    return {
        "id": f"gid://shopify/Order/{oid}",
        "legacyResourceId": str(oid),
        "name": f"#{oid}",
        "createdAt": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
        "updatedAt": "2026-06-01T00:00:00Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "customer": {
            "id": f"gid://shopify/Customer/{i % 5000}",
            "legacyResourceId": str(i % 5000),
            "email": f"c{i % 5000}@example.test",
            "firstName": "C",
            "lastName": "X",
        },
        "billingAddress": {"countryCodeV2": "DE"},
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{oid}{k}",
                    "quantity": 1 + k,
                    "sku": "S",
                    "title": "T",
                    "product": {"legacyResourceId": str(1 + (i * 7 + k * 13) % N_PRODUCTS)},
                    "variant": {"legacyResourceId": str(9000 + k)},
                    "originalUnitPriceSet": {
                        "shopMoney": {"amount": "9.90", "currencyCode": "EUR"}
                    },
                }
                for k in range(1 + i % 3)
            ]
        },
    }


def woo_order(i: int) -> dict[str, Any]:
    return {
        "id": 1 + i,
        "status": "completed",
        "customer_id": 1 + i % 5000,
        "date_created_gmt": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00",
        "date_modified_gmt": "2026-06-01T00:00:00",
        "billing": {"email": f"c{i % 5000}@example.test", "country": "DE"},
        "line_items": [
            {
                "id": i * 10 + k,
                "product_id": 1 + (i * 7 + k * 13) % N_PRODUCTS,
                "variation_id": 0,
                "quantity": 1 + k,
                "price": 9.9,
                "total": "9.90",
            }
            for k in range(1 + i % 3)
        ],
        "refunds": [],
    }


class MockPlatform:
    """Shopify GraphQL and WooCommerce REST answers, served by one local HTTP server."""

    def __init__(self, n_orders: int) -> None:
        self.n_orders = n_orders
        self.requests = 0

    def respond(self, request: Request) -> Response:
        """The platform's answer to one request."""
        self.requests += 1
        if request.path.endswith("/graphql.json"):
            return self._graphql(request)
        if request.path.startswith("/wp-json/wc/v3/"):
            return self._woo(request)
        return Response("not found", 404)

    def _graphql(self, request: Request) -> Response:
        payload = json.loads(request.get_data())
        variables = payload["variables"]
        if "webhookSubscriptionCreate" in payload["query"]:
            created = {
                "webhookSubscription": {"id": "gid://shopify/WebhookSubscription/1"},
                "userErrors": [],
            }
            return Response(
                json.dumps({"data": {"webhookSubscriptionCreate": created}}),
                mimetype="application/json",
            )
        name = "orders" if "ShoprecOrders" in payload["query"] else "products"
        total = self.n_orders if name == "orders" else 0
        start = int(variables.get("after") or 0)
        end = min(total, start + int(variables["first"]))
        nodes = [shopify_order(i) for i in range(start, end)] if name == "orders" else []
        body = {
            "data": {
                name: {
                    "pageInfo": {"hasNextPage": end < total, "endCursor": str(end)},
                    "nodes": nodes,
                }
            },
            "extensions": {
                "cost": {
                    "requestedQueryCost": 780,
                    "actualQueryCost": 300,
                    "throttleStatus": {
                        "maximumAvailable": 20000.0,
                        "currentlyAvailable": 19000,
                        "restoreRate": 1000.0,
                    },
                }
            },
        }
        return Response(json.dumps(body), mimetype="application/json")

    def _woo(self, request: Request) -> Response:
        resource = request.path.rsplit("/", 1)[-1]
        query = parse_qs(request.query_string.decode())
        if resource == "webhooks":
            if request.method == "GET":
                return Response("[]", mimetype="application/json", headers={"X-WP-TotalPages": "1"})
            return Response(
                json.dumps({"id": 1, "status": "active"}), 201, mimetype="application/json"
            )
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["10"])[0])
        total = self.n_orders if resource == "orders" else 0
        start, end = (page - 1) * per_page, min(total, page * per_page)
        items = [woo_order(i) for i in range(start, end)] if resource == "orders" else []
        pages = max(1, -(-total // per_page))
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        return Response(json.dumps(items), mimetype="application/json", headers=headers)


class LocalShopify(HTTPAdapter):
    """Sends https://bench-shop.myshopify.com/... to the local mock server."""

    def __init__(self, base: str) -> None:
        super().__init__(pool_maxsize=4)
        self.base = base

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        request.url = request.url.replace(f"https://{DOMAIN}", self.base)
        return super().send(request, **kwargs)


class KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as the platforms answer. werkzeug's dev server closes every
    connection, which would add a TCP connect to every page and measure that instead."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK waits
    app: MockPlatform

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        environ = EnvironBuilder(
            method=self.command, path=path, query_string=query, data=self.rfile.read(length)
        ).get_environ()
        response = self.app.respond(Request(environ))
        body = response.get_data()
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Quiet: one line per page otherwise."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_forever(n_orders: int, port: int) -> None:
    handler = type("Handler", (KeepAliveHandler,), {"app": MockPlatform(n_orders)})
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


def serve(n_orders: int) -> tuple[str, multiprocessing.Process]:
    """Start the mock platform in a child process; return its base URL once it answers."""
    port = free_port()
    process = multiprocessing.Process(target=_serve_forever, args=(n_orders, port), daemon=True)
    process.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/ping", timeout=2)
            return base, process
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("the mock platform did not start")


def bench_shopify(data_dir: Path, base: str, n_orders: int) -> float:
    settings = load_settings({}, data_dir=data_dir, shopify_api_key="k", shopify_api_secret="s")
    db = open_shop_db(data_dir, "bench-shop")
    save_connection(db, "shopify", DOMAIN, TokenSet("shpat_bench").as_credentials())
    db.close()
    session = requests.Session()
    session.mount(f"https://{DOMAIN}", LocalShopify(base))
    started = time.perf_counter()
    report = run_shop_sync(settings, "bench-shop", "shopify", session=session)
    elapsed = time.perf_counter() - started
    orders = report["resources"][1]
    assert orders["records"] == n_orders, report
    print(
        f"shopify  backfill: {n_orders} orders, {orders['pages']} pages in {elapsed:.1f} s "
        f"= {n_orders / elapsed:,.0f} orders/s"
    )
    return n_orders / elapsed


def bench_woocommerce(data_dir: Path, base: str, n_orders: int) -> float:
    settings = load_settings({}, data_dir=data_dir)
    db = open_shop_db(data_dir, "bench-woo")
    save_connection(db, "woocommerce", base, {"consumer_key": "ck", "consumer_secret": "cs"})
    db.close()
    started = time.perf_counter()
    report = run_shop_sync(settings, "bench-woo", "woocommerce")
    elapsed = time.perf_counter() - started
    orders = report["resources"][2]
    assert orders["records"] == n_orders, report
    print(
        f"woocommerce backfill: {n_orders} orders, {orders['pages']} pages in {elapsed:.1f} s "
        f"= {n_orders / elapsed:,.0f} orders/s"
    )
    return n_orders / elapsed


@contextlib.contextmanager
def gunicorn_app(data_dir: Path, redis_url: str, secret: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "SHOPREC_DATA_DIR": str(data_dir),
        "REDIS_URL": redis_url,
        "SHOPIFY_API_SECRET": secret,
        "SHOPREC_LOG_LEVEL": "WARNING",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "plugin:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # workers import the app (and numpy) first
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/api/v1/ping", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_webhooks(data_dir: Path, redis_url: str, n: int, threads: int = 8) -> float:
    import redis as redis_lib

    secret = "bench-secret"
    open_shop_db(data_dir, "hooks").close()
    body = json.dumps(
        {
            "id": 1,
            "created_at": "2026-05-01T10:00:00Z",
            "updated_at": "2026-05-01T10:00:00Z",
            "financial_status": "paid",
            "line_items": [{"id": 1, "product_id": 2, "quantity": 1, "price": "9.90"}],
        }
    ).encode()
    signature = sign_body(secret, body)
    redis_lib.Redis.from_url(redis_url).flushdb()
    local = threading.local()
    with gunicorn_app(data_dir, redis_url, secret) as base:

        def post(i: int) -> int:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            response = session.post(
                f"{base}/webhooks/shopify",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Shop-Domain": "hooks.myshopify.com",
                    "X-Shopify-Webhook-Id": f"bench-{i}",
                    "X-Shopify-Hmac-Sha256": signature,
                },
                timeout=10,
            )
            return response.status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            codes = list(pool.map(post, range(n)))
        elapsed = time.perf_counter() - started
    assert codes.count(200) == n, {c: codes.count(c) for c in set(codes)}
    db = open_shop_db(data_dir, "hooks", create=False)
    stored = db.execute("SELECT count(*) FROM webhook_receipts").fetchone()[0]
    db.close()
    redis_lib.Redis.from_url(redis_url).flushdb()
    print(
        f"webhook intake: {n} signed deliveries ({stored} receipts stored + enqueued), "
        f"{threads} client threads, gunicorn -w 2: {n / elapsed:,.0f} requests/s"
    )
    return n / elapsed


@click.command()
@click.option("--orders", "n_orders", default=100_000, show_default=True)
@click.option("--webhooks", "n_webhooks", default=3000, show_default=True)
@click.option("--redis-url", default="redis://127.0.0.1:6379/12", show_default=True)
@click.option("--skip-woocommerce", is_flag=True)
@click.option("--skip-webhooks", is_flag=True)
def main(
    n_orders: int, n_webhooks: int, redis_url: str, skip_woocommerce: bool, skip_webhooks: bool
) -> None:
    """Backfill orders/s from a local mock platform, and webhook intake requests/s."""
    base, server = serve(n_orders)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        bench_shopify(data_dir, base, n_orders)
        if not skip_woocommerce:
            bench_woocommerce(data_dir, base, n_orders)
        server.terminate()
        if not skip_webhooks:
            bench_webhooks(data_dir, redis_url, n_webhooks)
    print(
        f"reproduce: .venv/bin/python bench/backfill.py --orders {n_orders} --webhooks {n_webhooks}"
    )


if __name__ == "__main__":
    main()
