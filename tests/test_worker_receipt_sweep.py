"""No stranded receipts: a platform retry, the sweep and `reprocess --pending` apply what a
lost queue left pending, exactly once; a receipt pending by design backs off."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlite_utils
from click.testing import CliRunner
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from config import Settings, load_settings
from connectors.signatures import sign_body
from plugin import create_app
from plugin.cli.main import cli
from storage.db import open_shop_db
from storage.receipts import get_receipt, store_receipt
from worker.jobs import sweep_pending_receipts_job
from worker.process_claims import new_claim_token
from worker.queues import QUEUE_DEFAULT, get_queue
from worker.receipt_sweep import redispatch_pending_receipts
from worker.receipts import process_receipt, receipt_job_id

SECRET = "sweep-secret"
SHOP = "test-shop"
DOMAIN = "test-shop.myshopify.com"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify"


def order_body(order_id: int) -> bytes:
    order = json.loads((FIXTURES / "orders_create.json").read_text())
    order["id"] = order_id
    return json.dumps(order).encode()


def later(seconds: int = 5) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@pytest.fixture
def redis_settings(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    settings = load_settings(
        {}, data_dir=tmp_path / "data", shopify_api_secret=SECRET, redis_url=url
    )
    open_shop_db(settings.data_dir, SHOP).close()
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))  # what the job process reads
    monkeypatch.delenv("REDIS_URL", raising=False)
    return settings


def post_order(client: Any, body: bytes, webhook_id: str) -> Any:
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": DOMAIN,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": sign_body(SECRET, body),
    }
    return client.post(
        "/webhooks/shopify", data=body, headers=headers, content_type="application/json"
    )


def work(connection: redis.Redis) -> None:
    queue = get_queue(QUEUE_DEFAULT, connection)
    SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True)


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.mark.redis
def test_a_retry_of_a_pending_receipt_whose_job_was_lost_dispatches_it_again(
    redis_settings: Settings, redis_conn: redis.Redis
) -> None:
    client = create_app(redis_settings, {"TESTING": True}).test_client()
    body = order_body(7001)
    first = post_order(client, body, "wh-lost")
    receipt_id = first.get_json()["receipt_id"]
    queue = get_queue(QUEUE_DEFAULT, redis_conn)
    job_id = receipt_job_id(SHOP, receipt_id)
    # A retry while the job still waits adds nothing.
    assert post_order(client, body, "wh-lost").get_json()["duplicate"] is True
    assert queue.job_ids == [job_id]
    redis_conn.flushdb()  # Redis restarted without its data: the job is gone
    retry = post_order(client, body, "wh-lost")
    assert retry.status_code == 200
    assert retry.get_json()["duplicate"] is True
    assert queue.job_ids == [job_id]
    work(redis_conn)
    assert rows(redis_settings, "SELECT status FROM webhook_receipts") == [("processed",)]
    assert rows(redis_settings, "SELECT count(*) FROM order_lines") == [(2,)]
    # Once processed, a retry is only a duplicate: no job.
    post_order(client, body, "wh-lost")
    assert queue.job_ids == []


@pytest.mark.redis
def test_sweep_finds_a_stranded_receipt_and_applies_it_once(
    redis_settings: Settings, redis_conn: redis.Redis
) -> None:
    client = create_app(redis_settings, {"TESTING": True}).test_client()
    stranded = post_order(client, order_body(7002), "wh-a").get_json()["receipt_id"]
    post_order(client, order_body(7003), "wh-b")
    redis_conn.flushdb()  # the queue is lost; the receipts stay pending with no job
    # Within the grace period nothing is touched.
    assert redispatch_pending_receipts(redis_settings, redis_conn) == {}
    report = redispatch_pending_receipts(redis_settings, redis_conn, older_than_s=1, now=later())
    assert report == {SHOP: {"due": 2, "enqueued": 1}}  # one job drains the shop
    again = redispatch_pending_receipts(redis_settings, redis_conn, older_than_s=1, now=later())
    assert again == {SHOP: {"due": 2, "enqueued": 0}}  # that job is still waiting
    queue = get_queue(QUEUE_DEFAULT, redis_conn)
    assert queue.job_ids == [receipt_job_id(SHOP, stranded)]
    work(redis_conn)
    assert rows(redis_settings, "SELECT status, count(*) FROM webhook_receipts GROUP BY 1") == [
        ("processed", 2)
    ]
    assert rows(redis_settings, "SELECT order_id, count(*) FROM order_lines GROUP BY 1") == [
        ("7002", 2),
        ("7003", 2),
    ]
    assert (
        redispatch_pending_receipts(redis_settings, redis_conn, older_than_s=1, now=later()) == {}
    )


def test_without_redis_the_sweep_applies_pending_receipts_inline(
    settings: Settings, shop_db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in (1, 2):
        store_receipt(shop_db, "shopify", "orders/create", f"wh-{n}", {}, order_body(7100 + n))
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert sweep_pending_receipts_job("demo", older_than_s=-5) == {
        "demo": {"due": 2, "processed": 2}
    }
    assert shop_db.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 4
    assert sweep_pending_receipts_job("demo", older_than_s=-5) == {}


def test_a_receipt_pending_by_design_is_retried_with_a_backoff(
    settings: Settings, shop_db: sqlite_utils.Database
) -> None:
    body = (FIXTURES / "inventory_levels_update.json").read_bytes()
    rid, _ = store_receipt(shop_db, "shopify", "inventory_levels/update", "inv-1", {}, body)
    assert process_receipt(settings, "demo", rid)["status"] == "pending"
    first = get_receipt(shop_db, rid)
    assert first["tries"] == 1 and first["next_try_at"] > first["received_at"]
    # Due only once its next try has come, not on every sweep.
    assert redispatch_pending_receipts(settings, None, "demo", 0, now=later()) == {}
    report = redispatch_pending_receipts(settings, None, "demo", 0, now=later(301))
    assert report == {"demo": {"due": 1, "pending": 1}}
    second = get_receipt(shop_db, rid)
    assert second["tries"] == 2 and second["next_try_at"] > first["next_try_at"]


def test_cli_reprocess_pending_applies_every_pending_receipt(
    settings: Settings, shop_db: sqlite_utils.Database
) -> None:
    for n in (1, 2, 3):
        store_receipt(shop_db, "shopify", "orders/create", f"wh-{n}", {}, order_body(7200 + n))
    store_receipt(shop_db, "shopify", "orders/create", "wh-bad", {}, b'{"id": 5}')
    args = ["--data-dir", str(settings.data_dir), "--shop", "demo", "worker", "reprocess"]
    result = CliRunner().invoke(cli, [*args, "--pending"])
    assert result.exit_code == 0, result.output
    assert "4 pending receipts of demo: 3 processed, 1 rejected" in result.output
    assert shop_db.execute("SELECT count(DISTINCT order_id) FROM order_lines").fetchone()[0] == 3
    nothing = CliRunner().invoke(cli, [*args, "--pending"])
    assert "0 pending receipts of demo: nothing to do" in nothing.output
    both = CliRunner().invoke(cli, [*args, "--pending", "--receipt-id", "1"])
    assert both.exit_code == 2


# --- draining a shop's receipts in batches ------------------------------------------------


@pytest.mark.redis
def test_one_job_applies_a_burst_of_deliveries(
    redis_settings: Settings, redis_conn: redis.Redis
) -> None:
    client = create_app(redis_settings, {"TESTING": True}).test_client()
    ids = [post_order(client, order_body(7300 + n), f"burst-{n}") for n in range(5)]
    queue = get_queue(QUEUE_DEFAULT, redis_conn)
    first = ids[0].get_json()["receipt_id"]
    assert queue.job_ids == [receipt_job_id(SHOP, first)]  # the others wait for that job
    work(redis_conn)
    assert rows(redis_settings, "SELECT status, count(*) FROM webhook_receipts GROUP BY 1") == [
        ("processed", 5)
    ]
    assert rows(redis_settings, "SELECT count(DISTINCT order_id) FROM order_lines") == [(5,)]
    # The job has ended: the next delivery gets a job of its own.
    nxt = post_order(client, order_body(7399), "after").get_json()["receipt_id"]
    assert queue.job_ids == [receipt_job_id(SHOP, nxt)]


def test_a_drain_records_each_receipts_own_outcome(
    settings: Settings, shop_db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import receipts
    from worker.receipt_batch import drain_receipts

    good = [
        store_receipt(shop_db, "shopify", "orders/create", f"o{n}", {}, order_body(7400 + n))[0]
        for n in range(3)
    ]
    bad, _ = store_receipt(shop_db, "shopify", "orders/create", "bad", {}, b'{"id": 5}')
    inventory = (FIXTURES / "inventory_levels_update.json").read_bytes()
    waits, _ = store_receipt(shop_db, "shopify", "inventory_levels/update", "inv", {}, inventory)
    crashing, _ = store_receipt(shop_db, "shopify", "orders/create", "boom", {}, order_body(7499))
    real_apply = receipts.apply_update

    def apply_or_crash(db: sqlite_utils.Database, update: Any) -> Any:
        if update.batch.orders and update.batch.orders[0]["order_id"] == "7499":
            raise OSError("disk full")
        return real_apply(db, update)

    monkeypatch.setattr(receipts, "apply_update", apply_or_crash)
    outcome, more = drain_receipts(shop_db, "demo")
    assert (outcome.counts, more) == (
        {"processed": 3, "rejected": 1, "pending": 1, "failed": 1},
        False,
    )
    status = dict(shop_db.execute("SELECT receipt_id, status FROM webhook_receipts").fetchall())
    assert [status[r] for r in good] == ["processed"] * 3
    assert (status[bad], status[waits], status[crashing]) == ("rejected", "pending", "pending")
    failed = get_receipt(shop_db, crashing)
    assert failed["tries"] == 1 and "disk full" in failed["error"]
    # Nothing is due again until its next try: a second drain does nothing.
    assert drain_receipts(shop_db, "demo")[0].counts == {}


def test_receipts_claimed_by_a_batch_that_died_fall_due_after_the_lease(
    settings: Settings, shop_db: sqlite_utils.Database
) -> None:
    from storage.receipts import claim_due_receipts
    from worker.receipt_batch import LEASE_S, drain_receipts

    rid, _ = store_receipt(shop_db, "shopify", "orders/create", "o", {}, order_body(7500))
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=LEASE_S)
    assert claim_due_receipts(shop_db, now=now, lease_until=lease, limit=10) == [rid]
    # The claiming batch died here. Another drain skips the claimed receipt ...
    assert drain_receipts(shop_db, "demo")[0].counts == {}
    # ... until the lease is over; then the sweep applies it, once.
    report = redispatch_pending_receipts(settings, None, "demo", 0, now=later(LEASE_S + 5))
    assert report == {"demo": {"due": 1, "processed": 1}}
    assert shop_db.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 2


def test_receipts_claimed_by_a_killed_worker_are_due_at_once(
    settings: Settings, shop_db: sqlite_utils.Database
) -> None:
    from storage.receipts import claim_due_receipts
    from worker.receipt_batch import LEASE_S, drain_receipts

    rid, _ = store_receipt(shop_db, "shopify", "orders/create", "o", {}, order_body(7600))
    live, _ = store_receipt(shop_db, "shopify", "orders/create", "p", {}, order_body(7601))
    child = subprocess.Popen(["true"])  # a worker process of this host that is gone
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:batch"
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=LEASE_S)
    assert claim_due_receipts(shop_db, now=now, lease_until=lease, limit=1, claimed_by=dead) == [
        rid
    ]
    assert claim_due_receipts(
        shop_db, now=now, lease_until=lease, limit=1, claimed_by=new_claim_token()
    ) == [live]
    # No lease to wait out for the dead batch's receipt; the live batch's stays its own.
    assert drain_receipts(shop_db, "demo")[0].counts == {"processed": 1}
    assert get_receipt(shop_db, rid)["status"] == "processed"
    assert get_receipt(shop_db, live)["status"] == "pending"
    assert shop_db.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 2


@pytest.mark.redis
def test_an_ended_job_does_not_hold_a_receipt_still_pending(
    redis_settings: Settings, redis_conn: redis.Redis
) -> None:
    from worker.receipt_dispatch import dispatch_receipt

    db = open_shop_db(redis_settings.data_dir, SHOP, create=False)
    try:
        body = (FIXTURES / "inventory_levels_update.json").read_bytes()
        rid, _ = store_receipt(db, "shopify", "inventory_levels/update", "inv", {}, body)
        queue = get_queue(QUEUE_DEFAULT, redis_conn)
        assert dispatch_receipt(queue, SHOP, rid)[1] is True
        work(redis_conn)  # the job finished; the receipt waits for its product's sync
        assert get_receipt(db, rid)["status"] == "pending"
        job, enqueued = dispatch_receipt(queue, SHOP, rid)
        assert enqueued and queue.job_ids == [receipt_job_id(SHOP, rid)] == [job.id]
        # While that job waits, dispatching again adds nothing.
        assert dispatch_receipt(queue, SHOP, rid)[1] is False
        assert queue.job_ids == [job.id]
    finally:
        db.close()


def test_a_batch_of_product_receipts_moves_the_cache_generation_once(
    settings: Settings, shop_db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving import generations as cache_invalidation
    from worker.receipt_batch import drain_receipts

    product = json.loads((FIXTURES / "products_update.json").read_text())
    for n in range(4):
        body = json.dumps({**product, "id": 9100 + n, "title": f"P{n}"}).encode()
        store_receipt(shop_db, "shopify", "products/update", f"p{n}", {}, body)
    bumped: list[Path] = []
    real_bump = cache_invalidation.bump_marker
    monkeypatch.setattr(
        cache_invalidation, "bump_marker", lambda d: bumped.append(d) or real_bump(d)
    )
    before = cache_invalidation.read_marker(settings.data_dir / "demo")
    assert drain_receipts(shop_db, "demo")[0].counts == {"processed": 4}
    assert bumped == [settings.data_dir / "demo"]
    assert cache_invalidation.read_marker(settings.data_dir / "demo") != before
