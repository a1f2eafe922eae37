"""Benchmark applying webhook receipts: RQ worker throughput and the in-process apply rate.

N signed Shopify orders/create deliveries (tests/fixtures/shopify/orders_create.json with
varied order, customer and product ids, 1-4 line items) are posted through the real Flask
app with REDIS_URL set, so each is stored in a real shop's inbox and enqueued exactly as in
production. Then one real worker process (`shoprec worker --burst`, forking RQ worker with
the scheduler, on the given Redis db) applies them; the figure is receipts applied per second
from the process's start (imports and connect included) until the last one is processed.

The same N deliveries are then posted while a (non-burst) worker runs, as on a live shop: how
many jobs it took and how long after the last delivery the last receipt was applied.

The in-process figures apply the same receipts in a second shop without Redis: one
process_receipt call per receipt (what one job does: open the store, apply, close) and one
batch on a single connection (worker.receipt_batch.apply_receipts, what the drain does).

Reproduce:  .venv/bin/python bench/receipts.py --redis-url redis://127.0.0.1:6379/13
            [--receipts 2000]
The Redis db is flushed before and after: give the bench a db of its own.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import redis

from config import load_settings
from connectors.signatures import sign_body
from storage.catalog import upsert_products
from storage.db import open_shop_db

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "shopify" / "orders_create.json"
PRODUCT_FIXTURE = ROOT / "tests" / "fixtures" / "shopify" / "products_update.json"
SECRET = "bench-secret"
N_PRODUCTS = 300


def order_payloads(n: int, seed: int = 7) -> list[bytes]:
    """N realistic orders/create bodies: distinct orders, 1-4 lines of N_PRODUCTS products."""
    rng = random.Random(seed)
    base = json.loads(FIXTURE.read_text())
    template_line = base["line_items"][0]
    bodies = []
    for i in range(n):
        order = copy.deepcopy(base)
        order_id = 5_000_000 + i
        order.update(
            id=order_id,
            name=f"#{10_000 + i}",
            admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        )
        minute = i % 60
        order["created_at"] = f"2026-05-01T12:{minute:02d}:00-04:00"
        order["updated_at"] = f"2026-05-01T12:{minute:02d}:05-04:00"
        customer = rng.randrange(1, max(2, n // 3))
        order["customer"] = {
            **order["customer"],
            "id": 300_000 + customer,
            "email": f"c{customer}@example.test",
        }
        order["email"] = order["customer"]["email"]
        lines = []
        for j, product in enumerate(rng.sample(range(N_PRODUCTS), rng.randint(1, 4))):
            line = {**template_line, "id": order_id * 10 + j, "product_id": 1_000 + product}
            line.update(
                variant_id=2_000 + product,
                quantity=rng.randint(1, 3),
                price=f"{10 + product % 40}.00",
            )
            lines.append(line)
        order["line_items"] = lines
        bodies.append(json.dumps(order).encode())
    return bodies


def seed_shop(data_dir: Path, shop: str) -> None:
    db = open_shop_db(data_dir, shop)
    try:
        upsert_products(
            db,
            [
                {
                    "product_id": str(1_000 + p),
                    "title": f"Product {p}",
                    "price": 10.0 + p % 40,
                    "inventory": 50,
                }
                for p in range(N_PRODUCTS)
            ],
        )
    finally:
        db.close()


def post_deliveries(settings: Any, shop: str, bodies: list[bytes]) -> float:
    """Post every body through the real app; return the intake rate (requests/s)."""
    from plugin import create_app

    client = create_app(settings, {"TESTING": True}).test_client()
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        post_order_webhook(client, shop, body, f"bench-{shop}-{i}")
    return len(bodies) / (time.perf_counter() - started)


def post_order_webhook(client: Any, shop: str, body: bytes, webhook_id: str) -> None:
    """One signed Shopify orders/create delivery through the app's test client."""
    response = client.post(
        "/webhooks/shopify",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": f"{shop}.myshopify.com",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": sign_body(SECRET, body),
        },
    )
    if response.status_code != 200:
        raise SystemExit(
            f"delivery {webhook_id} answered {response.status_code}: {response.data!r}"
        )


def receipt_counts(data_dir: Path, shop: str) -> dict[str, int]:
    db = open_shop_db(data_dir, shop, create=False)
    try:
        return dict(
            db.execute("SELECT status, count(*) FROM webhook_receipts GROUP BY 1").fetchall()
        )
    finally:
        db.close()


def start_worker(env: dict[str, str], burst: bool) -> subprocess.Popen[bytes]:
    """A worker in a process group of its own, so stop_worker ends it and its work-horse."""
    args = ["worker", "--burst"] if burst else ["worker"]
    return subprocess.Popen(
        [sys.executable, "-c", "from plugin.cli.main import main; main()", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    """SIGTERM (RQ's warm shutdown), then SIGKILL to the worker's own group after grace_s."""
    if worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def wait_applied(data_dir: Path, shop: str, n: int, worker: subprocess.Popen[bytes]) -> None:
    started = time.perf_counter()
    while receipt_counts(data_dir, shop).get("processed", 0) < n:
        if worker.poll() is not None:
            raise SystemExit(f"worker exited early: {receipt_counts(data_dir, shop)}")
        if time.perf_counter() - started > 1800:
            raise SystemExit("worker did not apply the receipts within 30 min")
        time.sleep(0.02)


def run_live(
    env: dict[str, str], settings: Any, data_dir: Path, bodies: list[bytes]
) -> tuple[float, float]:
    """Post every body while a worker runs; return (deliveries/s posted, seconds from the
    last post until the last receipt is applied)."""
    worker = start_worker(env, burst=False)
    try:
        time.sleep(2.0)  # let it start listening
        rate = post_deliveries(settings, "bench-live", bodies)
        posted = time.perf_counter()
        wait_applied(data_dir, "bench-live", len(bodies), worker)
        return rate, time.perf_counter() - posted
    finally:
        stop_worker(worker)


def run_worker(env: dict[str, str], data_dir: Path, shop: str, n: int) -> float:
    """Start `shoprec worker --burst` in its own process; return the seconds from its start
    until all `n` receipts are processed (its exit is not waited on for the figure: RQ's
    burst worker lingers on shutdown)."""
    started = time.perf_counter()
    worker = start_worker(env, burst=True)
    try:
        wait_applied(data_dir, shop, n, worker)
        return time.perf_counter() - started
    finally:
        stop_worker(worker, grace_s=90.0)


def finished_jobs(redis_url: str) -> int:
    from rq.registry import FinishedJobRegistry

    from worker.queues import QUEUE_DEFAULT, get_queue

    queue = get_queue(QUEUE_DEFAULT, redis.Redis.from_url(redis_url))
    return FinishedJobRegistry(queue=queue).count


def in_process_rates(data_dir: Path, shop: str) -> tuple[float, float]:
    """(receipts/s one process_receipt call each, receipts/s one batch on one connection)."""
    from storage.receipts import due_pending_receipt_ids
    from worker.receipt_batch import drain_receipts
    from worker.receipts import process_receipt

    settings = load_settings({}, data_dir=data_dir)
    db = open_shop_db(data_dir, shop, create=False)
    ids = due_pending_receipt_ids(db)
    db.close()
    half = len(ids) // 2
    started = time.perf_counter()
    for receipt_id in ids[:half]:
        process_receipt(settings, shop, receipt_id)
    one_each = half / (time.perf_counter() - started)
    db = open_shop_db(data_dir, shop, create=False)
    started = time.perf_counter()
    outcome, _ = drain_receipts(db, shop)
    batch = (len(ids) - half) / (time.perf_counter() - started)
    db.close()
    assert outcome.counts == {"processed": len(ids) - half}, outcome.counts
    return one_each, batch


def product_drain_rate(data_dir: Path, n: int) -> float:
    """Receipts/s draining N products/update receipts (each changes a product, so each would
    move the serving-cache generation; the drain moves it once per batch)."""
    from storage.receipts import store_receipt
    from worker.receipt_batch import drain_receipts

    base = json.loads(PRODUCT_FIXTURE.read_text())
    db = open_shop_db(data_dir, "bench-products")
    try:
        for i in range(n):
            body = json.dumps({**base, "id": 9_000_000 + i, "title": f"Product {i}"}).encode()
            store_receipt(db, "shopify", "products/update", f"product-{i}", {}, body)
        started = time.perf_counter()
        outcome, _ = drain_receipts(db, "bench-products")
        rate = n / (time.perf_counter() - started)
    finally:
        db.close()
    assert outcome.counts == {"processed": n}, outcome.counts
    return rate


@click.command()
@click.option("--receipts", "n", type=int, default=2000, show_default=True)
@click.option("--redis-url", required=True, help="A Redis db of the bench's own (flushed).")
def main(n: int, redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    bodies = order_payloads(n)
    with tempfile.TemporaryDirectory(prefix="shoprec-bench-receipts-") as tmp:
        data_dir = Path(tmp) / "data"
        for shop in ("bench-rq", "bench-inline", "bench-live"):
            seed_shop(data_dir, shop)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SHOPREC_DATA_DIR": str(data_dir),
            "REDIS_URL": redis_url,
            "SHOPIFY_API_SECRET": SECRET,
            "SHOPREC_LOG_LEVEL": "WARNING",
        }
        settings = load_settings(
            {}, data_dir=data_dir, shopify_api_secret=SECRET, redis_url=redis_url
        )
        intake = post_deliveries(settings, "bench-rq", bodies)
        wall_s = run_worker(env, data_dir, "bench-rq", n)
        jobs = finished_jobs(redis_url)
        live_rate, live_lag = run_live(env, settings, data_dir, order_payloads(n, seed=8))
        live_jobs = finished_jobs(redis_url) - jobs
        db = open_shop_db(data_dir, "bench-inline", create=False)
        from storage.receipts import store_receipt

        for i, body in enumerate(bodies):
            store_receipt(db, "shopify", "orders/create", f"inline-{i}", {}, body)
        db.close()
        one_each, batch = in_process_rates(data_dir, "bench-inline")
        products = product_drain_rate(data_dir, n)
    connection.flushdb()
    print(f"receipts: {n} signed Shopify orders/create, {os.cpu_count()} cores")
    print(f"intake (Flask test client, stored + enqueued): {intake:.0f} deliveries/s")
    rate = n / wall_s
    print(
        f"RQ worker process (shoprec worker --burst, start-up included): {rate:.0f} receipts/s"
        f" ({wall_s:.1f} s, {jobs} receipt jobs)"
    )
    print(
        f"while a worker runs: {n} deliveries posted at {live_rate:.0f}/s, all applied"
        f" {live_lag:.2f} s after the last one, in {live_jobs} receipt jobs"
    )
    print(f"in-process, one process_receipt per receipt: {one_each:.0f} receipts/s")
    print(f"in-process, drained in batches on one connection: {batch:.0f} receipts/s")
    print(f"in-process, products/update receipts drained: {products:.0f} receipts/s")
    print(f"reproduce: .venv/bin/python bench/receipts.py --receipts {n} --redis-url URL")


if __name__ == "__main__":
    main()
