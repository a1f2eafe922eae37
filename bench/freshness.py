"""Time from an order webhook to a changed served list, with a real worker and Redis.

A shop of N_PRODUCTS products is trained on a history of orders; a real worker process
(`shoprec worker`, forking RQ worker with the scheduler) runs against a real Redis. For each
of --trials anchors, two signed Shopify orders/create deliveries pair the anchor with a
product its frequently-bought-together list does not show, among BACKGROUND_ORDERS other new
orders (a pair must stand out from the shop's other sales); the clock starts when the second
delivery is acknowledged and stops when the storefront API (the real Flask app, the same
process that took the deliveries) serves the new pair on the anchor's product page. No
retrain runs in between: the list changes through serving.recent_pairs.

Reproduce:  .venv/bin/python bench/freshness.py --redis-url redis://127.0.0.1:6379/12
            [--trials 20]
The Redis db is flushed before and after: give the bench a db of its own.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.receipts import (  # noqa: E402
    FIXTURE,
    SECRET,
    post_order_webhook,
    seed_shop,
    start_worker,
    stop_worker,
)
from config import load_settings  # noqa: E402
from storage.db import open_shop_db  # noqa: E402
from storage.orders import upsert_order_lines, upsert_orders  # noqa: E402

SHOP = "fresh"
TIMEOUT_S = 120.0
BACKGROUND_ORDERS = 40


def seed_history(data_dir: Path) -> None:
    """Products plus 600 older orders of neighbouring products, so every anchor has pairs."""
    seed_shop(data_dir, SHOP)
    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        orders, lines = [], []
        for i in range(600):
            a, b = 1_000 + i % 100, 1_000 + (i + 1) % 100
            order_id = f"h{i}"
            created = f"2026-0{1 + i % 9}-1{i % 9}T10:00:00"
            orders.append({"order_id": order_id, "customer_id": None, "created_at": created})
            lines += [(order_id, "0", str(a), None, created, 1, 10.0)]
            lines += [(order_id, "1", str(b), None, created, 1, 10.0)]
        upsert_orders(db, orders)
        upsert_order_lines(db, lines)
    finally:
        db.close()


def order_body(order_id: int, products: list[int]) -> bytes:
    """A Shopify orders/create body of now with one line per product id."""
    order = copy.deepcopy(json.loads(FIXTURE.read_text()))
    template = order["line_items"][0]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    order.update(
        id=order_id, name=f"#{order_id}", admin_graphql_api_id=f"gid://shopify/Order/{order_id}"
    )
    order["created_at"] = order["updated_at"] = now
    order["line_items"] = [
        {**template, "id": order_id * 10 + j, "product_id": p, "variant_id": 2_000 + p}
        for j, p in enumerate(products)
    ]
    return json.dumps(order).encode()


def worker_env(data_dir: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `shoprec worker` on this checkout's code, `data_dir` and Redis,
    taking signed Shopify deliveries; `extra` adds settings (SHOPREC_RETRAIN_CHECK_MINUTES...)."""
    return {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "SHOPREC_DATA_DIR": str(data_dir),
        "REDIS_URL": redis_url,
        "SHOPIFY_API_SECRET": SECRET,
        "SHOPREC_LOG_LEVEL": "WARNING",
        **extra,
    }


def fbt(client, anchor: int) -> list[str]:
    answer = client.get(
        f"/api/v1/recommendations?shop={SHOP}&context=product&product_id={anchor}&limit=8"
    ).get_json()
    return [item["product_id"] for item in answer["items"]]


@click.command()
@click.option("--redis-url", default="redis://127.0.0.1:6379/12", show_default=True)
@click.option("--trials", default=20, show_default=True)
def main(redis_url: str, trials: int) -> None:
    from plugin import create_app
    from worker.training import train_shop

    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    with tempfile.TemporaryDirectory(prefix="shoprec-bench-fresh-") as tmp:
        data_dir = Path(tmp) / "data"
        seed_history(data_dir)
        settings = load_settings(
            {}, data_dir=data_dir, shopify_api_secret=SECRET, redis_url=redis_url
        )
        train_shop(settings, SHOP)
        time.sleep(1.1)  # new orders fall after the training's second
        worker = start_worker(worker_env(data_dir, redis_url), burst=False)
        client = create_app(settings, {"TESTING": True}).test_client()
        waits: list[float] = []
        try:
            for n in range(BACKGROUND_ORDERS):  # the shop's other orders since training
                post_order_webhook(
                    client, SHOP, order_body(6_000_000 + n, [1_100 + n % 40]), f"bg{n}"
                )
            for t in range(trials):
                anchor = 1_000 + (t * 7) % 100
                shown = set(fbt(client, anchor))
                # A partner of its own per trial: a product in every trial's orders would be
                # a staple whose pairs chance explains (serving.recent_pairs.beyond_chance).
                partner = next(p for p in range(1_150 + t, 1_300) if str(p) not in shown)
                post_order_webhook(
                    client, SHOP, order_body(7_000_000 + 2 * t, [anchor, partner]), f"f{t}a"
                )
                post_order_webhook(
                    client, SHOP, order_body(7_000_001 + 2 * t, [anchor, partner]), f"f{t}b"
                )
                started = time.perf_counter()
                while str(partner) not in fbt(client, anchor):
                    if time.perf_counter() - started > TIMEOUT_S:
                        raise SystemExit(f"trial {t}: no change within {TIMEOUT_S:.0f} s")
                    time.sleep(0.02)
                waits.append(time.perf_counter() - started)
        finally:
            stop_worker(worker)
    connection.flushdb()
    waits.sort()
    print(f"order webhook -> changed frequently-bought-together list ({trials} trials, real")
    print("worker and Redis, no retrain):")
    print(
        f"  median {statistics.median(waits) * 1000:.0f} ms, p90 "
        f"{waits[int(0.9 * (len(waits) - 1))] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms"
    )
    print("reproduce: .venv/bin/python bench/freshness.py --redis-url redis://127.0.0.1:6379/12")


if __name__ == "__main__":
    main()
