"""The Shopify story end to end: install, queued backfill through a throttled answer
and a 502, train, then an orders/create webhook that changes the next FBT answer.

What changes the answer is honest here: the webhook adds a purchase line to the store, and
the FBT pairs are mined at training time, so the test retrains between the two answers (as
the periodic retrain job does in production). Serving alone would not change its pairs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import redis
import responses
from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from config import load_settings
from connectors.signatures import sign_body, sign_shopify_query
from plugin import create_app
from storage.db import open_shop_db
from tests.shopify_platform import API_VERSION, DOMAIN, FakeShopify, order_node, product_node
from worker.queues import QUEUE_DEFAULT, QUEUE_SYNC, get_queue
from worker.training import train_shop

SECRET = "e2e-secret"
SHOP = "test-shop"
A, B, C = 0, 1, 2  # product indexes: A is bought with B once more than with C


def baskets() -> list[list[int]]:
    """40 orders: A+B six times, A+C five times, the rest pairs among products 3..9."""
    out = [[A, B]] * 6 + [[A, C]] * 5
    filler = [[3, 4], [5, 6], [7, 8], [9, 3], [4, 5], [6, 7], [8, 9]]
    out += [filler[i % len(filler)] for i in range(29)]
    return out


def fbt_ids(client: Any) -> list[str]:
    response = client.get(
        f"/api/v1/recommendations?shop={SHOP}&context=product&product_id={1000 + A}&limit=3"
    )
    assert response.status_code == 200, response.get_json()
    return [item["product_id"] for item in response.get_json()["items"]]


def run_queue(name: str, conn: redis.Redis) -> None:
    queue = get_queue(name, conn)
    SimpleWorker([queue], connection=conn, serializer=JSONSerializer).work(burst=True)
    failed = FailedJobRegistry(queue=queue)
    assert failed.get_job_ids() == [], [
        queue.fetch_job(j).latest_result().exc_string for j in failed.get_job_ids()
    ]


@pytest.mark.redis
def test_install_backfill_webhook_changes_fbt(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = redis_conn.connection_pool.connection_kwargs
    redis_url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    env = {
        "SHOPREC_DATA_DIR": str(tmp_path / "data"),
        "SHOPIFY_API_KEY": "key",
        "SHOPIFY_API_SECRET": SECRET,
        "SHOPIFY_API_VERSION": API_VERSION,
        "SHOPREC_PUBLIC_URL": "https://recs.example.test",
        "SHOPREC_SECRET_KEY": "flask-secret",
    }
    for name, value in env.items():  # what the job process reads (load_settings())
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = load_settings(redis_url=redis_url)
    client = create_app(settings, {"TESTING": True}).test_client()
    fake = FakeShopify(
        products=[product_node(n) for n in range(15)],  # 2 pages
        orders=[order_node(i, b, customer=i % 5) for i, b in enumerate(baskets())],
        page_size=10,
        throttle_available=860,  # the throttled answer asks for a 0.1 s wait
    )
    # B and C look alike (type, tags, title), so only what is bought with A tells them apart.
    for n in (B, C):
        fake.products[n].update(productType="Mugs", tags=["kitchen"], title="Mug")
    # 9 webhook registrations at install, 9 again (already taken) at the start of the sync,
    # then products p1 ok, p2 throttled (retried), orders p1 502 (retried).
    fake.faults.extend(["ok"] * 18 + ["ok", "throttled", "ok", "502"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        rsps.add_passthru("redis://")
        # 1. install
        stamp = str(int(time.time()))
        pairs = [("shop", DOMAIN), ("timestamp", stamp)]
        query = urlencode([*pairs, ("hmac", sign_shopify_query(SECRET, pairs))])
        start = client.get(f"/shopify/install?{query}")
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        pairs = [("code", "c0de"), ("shop", DOMAIN), ("state", state), ("timestamp", stamp)]
        query = urlencode([*pairs, ("hmac", sign_shopify_query(SECRET, pairs))])
        installed = client.get(f"/shopify/callback?{query}")
        assert installed.status_code == 200 and installed.get_json()["backfill"] == "queued"
        # 2. the queued backfill, through the throttled answer and the 502
        run_queue(QUEUE_SYNC, redis_conn)
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    try:
        counts = db.execute(
            "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM orders), "
            "(SELECT count(*) FROM order_lines)"
        ).fetchone()
        assert counts == (15, 40, 80)
    finally:
        db.close()
    # 9 + 9 hooks; the pixel: created at install, then TAKEN, read and updated by the sync;
    # products: 2 pages + the throttled try; orders: 4 pages + the 502'd try.
    assert len(fake.calls) == 18 + 4 + 3 + 5
    assert fake.web_pixel is not None
    assert len(fake.webhook_topics) == 9  # the sync's re-subscriptions created no duplicates
    # 3. train, ask, then one more A+C order arrives by webhook
    train_shop(settings, SHOP)
    before = fbt_ids(client)
    assert before[:2] == [str(1000 + B), str(1000 + C)], before
    body = json.dumps(
        {
            "id": 99001,
            "created_at": "2026-04-30T10:00:00Z",
            "updated_at": "2026-04-30T10:00:00Z",
            "financial_status": "paid",
            "customer": {"id": 701, "email": "c1@example.test"},
            "line_items": [
                {"id": 1, "product_id": 1000 + A, "variant_id": 1, "quantity": 1, "price": "10.00"},
                {"id": 2, "product_id": 1000 + C, "variant_id": 2, "quantity": 1, "price": "10.00"},
            ],
        }
    ).encode()
    delivered = client.post(
        "/webhooks/shopify",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": DOMAIN,
            "X-Shopify-Webhook-Id": "e2e-1",
            "X-Shopify-Hmac-Sha256": sign_body(SECRET, body),
        },
    )
    assert delivered.status_code == 200
    run_queue(QUEUE_DEFAULT, redis_conn)
    train_shop(settings, SHOP)
    after = fbt_ids(client)
    assert after[0] == str(1000 + C), (before, after)
    assert after != before
