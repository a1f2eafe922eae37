"""Fresh without anyone running a command: a real `shoprec worker` (with its scheduler) and a
real Redis, signed order webhooks in, and time compressed through the schedule settings.

The new pair reaches the shop's product page within a minute of its webhook, and once the
orders have grown past the retrain threshold the worker's own retrain check retrains the
shop: nothing here calls train, enqueue-retrain or any job by hand.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.freshness import SHOP, fbt, order_body, seed_history, worker_env
from bench.receipts import SECRET, post_order_webhook, start_worker, stop_worker
from config import load_settings
from engine.artifacts import MANIFEST
from plugin import create_app
from storage.db import models_dir
from worker.training import train_shop

pytestmark = [pytest.mark.redis, pytest.mark.slow]

HISTORY_ORDERS = 600  # bench.freshness.seed_history
CHECK_MINUTES = 0.05  # the retrain check every 3 s instead of 15 minutes
# The shop's other orders since training: a new pair counts once it stands out from them
# (serving.recent_pairs.beyond_chance), as it would among a real morning's orders.
BACKGROUND_ORDERS = 28
GROWTH_PERCENT = 6  # a retrain after 36 new orders: the background, the pair's 2, 6 more


def manifest(settings: Any) -> dict[str, Any]:
    return json.loads((models_dir(settings, SHOP) / MANIFEST).read_text())


def wait_for(what: str, check: Any, timeout_s: float, worker: Any) -> float:
    started = time.monotonic()
    while not check():
        assert worker.poll() is None, f"the worker exited while waiting for {what}"
        assert time.monotonic() - started < timeout_s, f"no {what} within {timeout_s:.0f} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_orders_reach_the_page_within_a_minute_and_a_retrain_follows_on_schedule(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    kwargs = redis_conn.connection_pool.connection_kwargs
    redis_url = f"redis://{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db')}"
    data_dir = tmp_path / "data"
    seed_history(data_dir)
    settings = load_settings({}, data_dir=data_dir, shopify_api_secret=SECRET, redis_url=redis_url)
    train_shop(settings, SHOP)
    trained = manifest(settings)
    assert trained["orders_at_training"] == HISTORY_ORDERS
    time.sleep(1.1)  # the new orders fall after the models' data
    env = worker_env(
        data_dir,
        redis_url,
        SHOPREC_RETRAIN_CHECK_MINUTES=str(CHECK_MINUTES),
        SHOPREC_RETRAIN_GROWTH_PERCENT=str(GROWTH_PERCENT),
    )
    client = create_app(settings, {"TESTING": True}).test_client()
    anchor = 1_010
    shown = set(fbt(client, anchor))
    partner = next(p for p in range(1_150, 1_300) if str(p) not in shown)
    worker = start_worker(env, burst=False)
    try:
        for n in range(BACKGROUND_ORDERS):
            post_order_webhook(client, SHOP, order_body(6_000_000 + n, [1_100 + n % 40]), f"b{n}")
        for n in range(2):
            post_order_webhook(client, SHOP, order_body(8_000_000 + n, [anchor, partner]), f"p{n}")
        waited = wait_for(
            "new pair on the product page", lambda: str(partner) in fbt(client, anchor), 60, worker
        )
        assert waited < 60
        assert manifest(settings)["trained_at"] == trained["trained_at"]  # no retrain needed
        for n in range(2, 8):
            post_order_webhook(client, SHOP, order_body(8_000_000 + n, [anchor, partner]), f"p{n}")
        new_orders = BACKGROUND_ORDERS + 8
        assert new_orders >= HISTORY_ORDERS * GROWTH_PERCENT / 100
        wait_for(
            "scheduled retrain",
            lambda: manifest(settings)["orders_at_training"] == HISTORY_ORDERS + new_orders,
            90,
            worker,
        )
    finally:
        stop_worker(worker)
    # The retrained models learned the pair themselves: it stays on the page.
    assert str(partner) in fbt(client, anchor)
