"""Two serving hosts with separate data dirs, one Redis and the shared PostgreSQL store: a
signed webhook acknowledged by host A survives A's kill -9, and a worker attached to the
shared store from host B's data dir applies it.

Real processes (`shoprec serve`, gunicorn), real Redis, real PostgreSQL; waits are polls
with generous bounds, nothing asserts how fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from connectors.signatures import sign_body
from storage.db import bind_store, open_shop_db
from storage.orders import read_purchase_lines
from storage.receipts import get_receipt
from tests.live_server import free_port
from worker.queues import QUEUE_DEFAULT, get_queue

SECRET = "multi-host-secret"
SHOP = "test-shop"
DOMAIN = "test-shop.myshopify.com"
ORDER = Path(__file__).resolve().parent / "fixtures" / "shopify" / "orders_create.json"
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.redis


def start_host(
    data_dir: Path, store_url: str, redis_url: str, log: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    """`shoprec serve` on its own data dir, attached to the shared store and Redis."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SHOPREC_STORE_URL": store_url,
        "REDIS_URL": redis_url,
        "SHOPIFY_API_SECRET": SECRET,
    }
    command = [
        sys.executable, "-c", "from plugin.cli.main import main; main()",
        "--data-dir", str(data_dir), "--shop", SHOP, "serve", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return url, proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    raise AssertionError(f"host never answered on {url}:\n{log.read_text(errors='replace')}")


@pytest.fixture
def hosts() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def post_order(url: str, webhook_id: str) -> dict[str, object]:
    body = ORDER.read_bytes()
    request = urllib.request.Request(
        url + "/webhooks/shopify",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": DOMAIN,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Hmac-Sha256": sign_body(SECRET, body),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_webhook_acknowledged_by_a_killed_host_is_applied_from_the_shared_store(
    store_url: str,
    redis_conn: redis.Redis,
    tmp_path: Path,
    hosts: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis_url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    host_a, host_b = tmp_path / "host-a" / "data", tmp_path / "host-b" / "data"
    bind_store(host_a, store_url)
    bind_store(host_b, store_url)
    try:
        open_shop_db(host_a, SHOP).close()  # the shop exists once, in the shared store

        url_a, proc_a = start_host(host_a, store_url, redis_url, tmp_path / "a.log")
        hosts.append(proc_a)
        receipt_id = int(post_order(url_a, "order-1")["receipt_id"])  # type: ignore[call-overload]
        proc_a.send_signal(signal.SIGKILL)  # acknowledged, then gone before anything else
        proc_a.wait(timeout=10)

        # Nothing of host A's disk is needed: host B's data dir sees the stored delivery.
        db = open_shop_db(host_b, SHOP, create=False)
        try:
            assert get_receipt(db, receipt_id)["status"] == "pending"
            assert len(read_purchase_lines(db)) == 0
            # A worker on host B (its data dir, the shared store) takes the queued job.
            monkeypatch.setenv("SHOPREC_DATA_DIR", str(host_b))
            monkeypatch.setenv("SHOPREC_STORE_URL", store_url)
            monkeypatch.delenv("REDIS_URL", raising=False)
            queue = get_queue(QUEUE_DEFAULT, redis_conn)
            assert len(queue.job_ids) == 1
            SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
            assert get_receipt(db, receipt_id)["status"] == "processed"
            assert len(read_purchase_lines(db)) == 2
        finally:
            db.close()
        assert not (host_a / SHOP / "shop.db").exists()  # no SQLite file: the store is shared
    finally:
        bind_store(host_a, "")
        bind_store(host_b, "")
