"""Two serving hosts with separate data dirs, one Redis and the shared PostgreSQL store: a
signed webhook acknowledged by host A survives A's kill -9, and a worker attached to the
shared store from host B's data dir applies it; and a product change accepted by host A is
what host B serves next, from models both pulled from the shared models folder.

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
from engine.base import CONTEXT_SLOTS
from serving.generations import generation_key
from storage.db import bind_store, open_shop_db
from storage.orders import read_purchase_lines
from storage.receipts import get_receipt
from tests.live_server import start_server
from worker.queues import QUEUE_DEFAULT, get_queue

SECRET = "multi-host-secret"
SHOP = "test-shop"
DOMAIN = "test-shop.myshopify.com"
ORDER = Path(__file__).resolve().parent / "fixtures" / "shopify" / "orders_create.json"
PRODUCT_UPDATE = ORDER.with_name("products_update.json")
ROOT = Path(__file__).resolve().parent.parent
# The Redis the redis_conn fixture flushes: the hosts and the worker share it.
REDIS_URL = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
pytestmark = pytest.mark.redis


def start_host(data_dir: Path, store_url: str, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """`shoprec serve` on its own data dir, attached to the shared store and Redis."""
    env = {
        "PYTHONPATH": str(ROOT),
        "SHOPREC_STORE_URL": store_url,
        "REDIS_URL": REDIS_URL,
        "SHOPIFY_API_SECRET": SECRET,
    }
    server = start_server(data_dir, log, shop=SHOP, env=env, timeout_s=60)
    return server.url, server.proc


@pytest.fixture
def hosts() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def post_order(url: str, webhook_id: str) -> dict[str, object]:
    return post_webhook(url, "orders/create", ORDER.read_bytes(), webhook_id)


def post_webhook(url: str, topic: str, body: bytes, webhook_id: str) -> dict[str, object]:
    request = urllib.request.Request(
        url + "/webhooks/shopify",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
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
    host_a, host_b = tmp_path / "host-a" / "data", tmp_path / "host-b" / "data"
    bind_store(host_a, store_url)
    bind_store(host_b, store_url)
    try:
        open_shop_db(host_a, SHOP).close()  # the shop exists once, in the shared store

        url_a, proc_a = start_host(host_a, store_url, tmp_path / "a.log")
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


NANO, TOUCH = "632910392", "921728736"  # the Shopify fixtures' products


def run_cli(data_dir: Path, env: dict[str, str], *args: str) -> str:
    """One `shoprec` command on `data_dir` in a fresh process (as an operator runs it)."""
    command = [
        sys.executable, "-c", "from plugin.cli.main import main; main()",
        "--data-dir", str(data_dir), "--shop", SHOP, *args,
    ]  # fmt: skip
    done = subprocess.run(
        command, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def shop_files(folder: Path) -> tuple[Path, Path]:
    """A small catalog whose orders pair the two fixture iPods, and those orders."""
    products = folder / "products.csv"
    rows = ["product_id,title,category,price,inventory,status"]
    rows += [f"{NANO},IPod Nano,Players,199,10,active", f"{TOUCH},IPod Touch,Players,299,10,active"]
    rows += [f"acc{i},Accessory {i},Accessories,{10 + i},10,active" for i in range(6)]
    products.write_text("\n".join(rows) + "\n")
    orders = folder / "orders.csv"
    lines = ["order_id,customer_id,created_at,product_id,quantity,unit_price"]
    for n in range(30):
        day = f"2026-11-{1 + n % 28:02d}T10:00:00Z"
        basket = [NANO, TOUCH] if n % 3 else [TOUCH, f"acc{n % 6}"]
        lines += [f"o{n},c{n % 7},{day},{pid},1,100" for pid in basket]
    orders.write_text("\n".join(lines) + "\n")
    return products, orders


def answer(url: str) -> dict[str, str]:
    """Host's product-page list for the iPod Touch: product id -> title."""
    query = f"shop={SHOP}&context=product&product_id={TOUCH}&limit=8"
    with urllib.request.urlopen(f"{url}/api/v1/recommendations?{query}", timeout=30) as got:
        return {item["product_id"]: item["title"] for item in json.loads(got.read())["items"]}


def work_as_host(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """Jobs run from here on as a deployed worker runs them: that host's data dir, the
    shared store (already in the environment) and the shared Redis."""
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("REDIS_URL", REDIS_URL)


def drain(redis_conn: redis.Redis) -> None:
    """A worker's burst over the default queue (applies the stored deliveries)."""
    queue = get_queue(QUEUE_DEFAULT, redis_conn)
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)


def until(check: object, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def two_hosts(
    store_url: str,
    tmp_path: Path,
    hosts: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, str, Path, Path]:
    """A shop imported and trained through the CLI on host A (its models published to the
    shared folder), then hosts A and B serving it: (url A, url B, data dir A, data dir B)."""
    shared_models = tmp_path / "shared-models"
    env = {"SHOPREC_STORE_URL": store_url, "SHOPREC_SHARED_MODELS_DIR": str(shared_models)}
    host_a, host_b = tmp_path / "host-a" / "data", tmp_path / "host-b" / "data"
    products, orders = shop_files(tmp_path)
    run_cli(host_a, env, "import", "products", str(products))
    run_cli(host_a, env, "import", "orders", str(orders))
    run_cli(host_a, env, "train")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    url_a, proc_a = start_host(host_a, store_url, tmp_path / "a.log")
    url_b, proc_b = start_host(host_b, store_url, tmp_path / "b.log")
    hosts += [proc_a, proc_b]
    return url_a, url_b, host_a, host_b


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_product_change_accepted_by_one_host_is_what_the_other_serves_next(
    store_url: str,
    redis_conn: redis.Redis,
    tmp_path: Path,
    hosts: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url_a, url_b, host_a, host_b = two_hosts(store_url, tmp_path, hosts, monkeypatch)

    before = answer(url_b)  # host B serves models it pulled, never having trained
    assert before.get(NANO) == "IPod Nano"
    assert (host_b / SHOP / "models").is_dir() and not (host_b / SHOP / "shop.db").exists()
    # Every list of every context, and a widget's events, from the shared store.
    filled = []
    for context, slots in CONTEXT_SLOTS.items():
        for slot in slots:
            query = f"shop={SHOP}&context={context}&slot={slot}&product_id={TOUCH}"
            query += "&customer_id=c1&session_id=s1&visitor_id=v1"
            with urllib.request.urlopen(f"{url_b}/api/v1/recommendations?{query}") as got:
                assert got.status == 200, (context, slot)
                filled.append(bool(json.loads(got.read())["items"]))
    # Only "upgrade" may be empty: nothing is dearer than the anchor in this catalog.
    assert filled.count(False) <= 1
    event = {"shop": SHOP, "type": "view", "product_id": NANO, "session_id": "s1"}
    posted = urllib.request.Request(
        f"{url_b}/api/v1/events", data=json.dumps(event).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(posted) as got:
        assert got.status == 202

    product = json.loads(PRODUCT_UPDATE.read_text())
    product["title"] = "IPod Nano, renamed on host A"
    post_webhook(url_a, "products/update", json.dumps(product).encode(), "rename-1")
    # The worker runs as a deployed one does: host A's data dir, the shared store and Redis.
    work_as_host(monkeypatch, host_a)
    generation = int(redis_conn.get(generation_key(SHOP)) or 0)
    drain(redis_conn)
    # Host B shares no marker file with the worker: the Redis counter is what tells it.
    assert int(redis_conn.get(generation_key(SHOP)) or 0) > generation
    until(lambda: answer(url_b).get(NANO) == product["title"], "host B shows the new title")

    product["status"] = "archived"
    post_webhook(url_a, "products/update", json.dumps(product).encode(), "archive-1")
    drain(redis_conn)
    until(lambda: NANO not in answer(url_b), "host B stops showing the archived product")
    assert NANO not in answer(url_a)


def fbt(url: str, anchor: str) -> list[str]:
    """Host's frequently-bought-together list for `anchor`, in order."""
    query = f"shop={SHOP}&context=product&slot=frequently_bought_together&product_id={anchor}"
    with urllib.request.urlopen(f"{url}/api/v1/recommendations?{query}&limit=8") as got:
        return [item["product_id"] for item in json.loads(got.read())["items"]]


def order_body(n: int, products: list[str]) -> bytes:
    """The fixture order, renumbered, placed after the models' data, holding `products`."""
    order = json.loads(ORDER.read_text())
    order["id"] = order["order_number"] = 900000 + n
    order["name"] = f"#{900000 + n}"
    order["created_at"] = order["processed_at"] = f"2026-12-02T{n % 24:02d}:00:00Z"
    template = order["line_items"][0]
    order["line_items"] = [
        {**template, "id": 800000 + n * 10 + i, "product_id": int(pid) if pid.isdigit() else pid,
         "variant_id": None, "quantity": 1, "price": "10.00"}
        for i, pid in enumerate(products)
    ]  # fmt: skip
    return json.dumps(order).encode()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_orders_accepted_by_one_host_pair_products_on_the_other_host(
    store_url: str,
    redis_conn: redis.Redis,
    tmp_path: Path,
    hosts: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url_a, url_b, host_a, host_b = two_hosts(store_url, tmp_path, hosts, monkeypatch)

    before = fbt(url_b, NANO)  # cached on host B from here on
    assert before and before[0] == TOUCH  # the models' pair
    # Two new orders pair the Nano with acc5, never bought with it; 28 more are other baskets.
    for n in range(30):
        basket = [NANO, "acc5"] if n < 2 else [f"acc{n % 5}"]
        post_webhook(url_a, "orders/create", order_body(n, basket), f"pair-{n}")
    assert fbt(url_b, NANO) == before  # acknowledged, not applied yet: host B caches this
    # The worker runs as a deployed worker does: the shared store, the shared Redis, and a
    # data dir of its own host (A's), not B's.
    work_as_host(monkeypatch, host_a)
    drain(redis_conn)
    until(lambda: fbt(url_b, NANO)[:2] == ["acc5", TOUCH], "host B serves the new pair first")
    assert fbt(url_a, NANO)[:2] == ["acc5", TOUCH]
