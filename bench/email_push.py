"""Benchmark: campaign blocks rendered and pushed per second by one worker.

Run: nice -n 10 .venv/bin/python bench/email_push.py [--blocks 600] [--customers 600] [--rq URL]
Generates and trains the demo shop in a temporary folder, starts a real local HTTP server
that answers like Klaviyo's Create Event (202, empty body), sets one post-purchase timer per
block, then times what one worker does per timer: claim + re-check, build the block from
current stock over the trained models, render (Jinja + css_inline, HTML and text), store the
delivery, and push it over HTTP with its attempt recorded. With --rq REDIS_URL the
same runs through a real RQ SimpleWorker in burst mode with the scheduler (one job per block:
fire, build, push), to show RQ's own overhead. Target: >= 300 blocks/s.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the other imports
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is sys.path[0], and its name would shadow the standard
# library's `email` package that http.server and requests import: drop the folder first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection

from config import load_settings
from connectors.email.klaviyo import KlaviyoClient
from demo.shop import generate_demo_shop
from storage.campaign_timers import claim_timer
from storage.clock import to_iso
from storage.db import open_shop_db
from storage.shop_settings import set_shop_setting
from worker.campaigns import fire_timer
from worker.push import push_delivery
from worker.training import train_shop

SHOP = "demo"


class _Klaviyo(BaseHTTPRequestHandler):
    """Create Event as Klaviyo answers it: read the body, 202, no content (keep-alive)."""

    protocol_version = "HTTP/1.1"  # Klaviyo keeps connections open; HTTP/1.0 would not

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _serve(port_out: Connection) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Klaviyo)
    port_out.send(server.server_address[1])
    server.serve_forever()


def start_mock() -> tuple[multiprocessing.Process, str]:
    """The mock in its own process, so it takes no CPU or GIL from the measured worker."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(theirs,), daemon=True)
    process.start()
    return process, f"http://127.0.0.1:{ours.recv()}"


def prepare(data_dir: Path, customers: int, blocks: int) -> list[int]:
    """A trained demo shop whose subscribed buyers each have one due post-purchase timer."""
    db = open_shop_db(data_dir, SHOP)
    generate_demo_shop(db, seed=7, n_customers=customers, days=180)
    db.close()
    train_shop(load_settings({}, data_dir=data_dir), SHOP)
    db = open_shop_db(data_dir, SHOP, create=False)
    set_shop_setting(db, "campaigns", {"push": {"provider": "klaviyo"}})
    with db.conn:  # every buyer may be emailed, so the bench measures sends, not skips
        db.conn.execute("UPDATE customers SET accepts_marketing = 1 WHERE email IS NOT NULL")
    rows = db.execute(
        "SELECT o.customer_id, o.order_id, o.created_at FROM orders o WHERE o.status = 'paid' "
        "AND o.customer_id IS NOT NULL AND o.created_at = (SELECT max(created_at) FROM orders x "
        "WHERE x.customer_id = o.customer_id AND x.status = 'paid') ORDER BY o.order_id"
    ).fetchall()
    due = to_iso(datetime.now(UTC) - timedelta(minutes=1))
    timer_ids = []
    for index in range(blocks):
        customer_id, order_id, created_at = rows[index % len(rows)]
        claim = claim_timer(
            db,
            campaign="post_purchase",
            customer_id=customer_id,
            window_key=f"order:{order_id}:bench{index}",
            anchor_id=order_id,
            since=created_at,
            due_at=due,
        )
        timer_ids.append(int(claim.timer["timer_id"]))
    db.close()
    return timer_ids


def prepare_more(data_dir: Path, fired: list[int]) -> list[int]:
    """A fresh due timer for each fired one (same shopper and order, a new window)."""
    db = open_shop_db(data_dir, SHOP, create=False)
    rows = db.execute(
        f"SELECT customer_id, anchor_id, since, due_at, window_key FROM campaign_timers "
        f"WHERE timer_id IN ({', '.join('?' for _ in fired)})",
        fired,
    ).fetchall()
    ids = []
    for customer_id, anchor_id, since, due_at, window in rows:
        claim = claim_timer(
            db,
            campaign="post_purchase",
            customer_id=customer_id,
            window_key=f"{window}:rq",
            anchor_id=anchor_id,
            since=since,
            due_at=due_at,
        )
        ids.append(int(claim.timer["timer_id"]))
    db.close()
    return ids


def run_inline(settings, timer_ids: list[int], base_url: str) -> tuple[float, list[float], int]:
    """Fire and push every timer in this process; return (seconds, per-block ms, sent)."""
    client = KlaviyoClient(settings.klaviyo_api_key, base_url=base_url)
    db = open_shop_db(settings.data_dir, SHOP, create=False)
    per_block, sent = [], 0
    started = time.perf_counter()
    for timer_id in timer_ids:
        t0 = time.perf_counter()
        fired = fire_timer(settings, db, SHOP, timer_id)
        if fired["status"] == "fired":
            result = push_delivery(settings, db, fired["delivery_id"], client=client)
            sent += result["status"] == "sent"
        per_block.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed, per_block, sent


def run_rq(settings, timer_ids: list[int], base_url: str, redis_url: str) -> tuple[float, int]:
    """The same through RQ: one fire job per timer (as the scheduler releases them) and one
    push job per block, run by one SimpleWorker in burst mode; return (seconds, sent)."""
    import redis
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from worker.queues import QUEUE_EMAIL, get_queue
    from worker.timers import FIRE_JOB

    # Jobs read their settings from the environment, like a deployed worker.
    os.environ.update(
        SHOPREC_DATA_DIR=str(settings.data_dir),
        SHOPREC_SECRET_KEY=settings.secret_key,
        SHOPREC_PUBLIC_URL=settings.public_url,
        KLAVIYO_API_KEY=settings.klaviyo_api_key,
        SHOPREC_KLAVIYO_BASE_URL=base_url,
    )
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    queue = get_queue(QUEUE_EMAIL, connection)
    # The web app keeps the shop's SQLite file open; without any other connection, every
    # job's close would checkpoint the WAL (an fsync per job) - not what a deployment sees.
    app_db = open_shop_db(settings.data_dir, SHOP, create=False)
    started = time.perf_counter()
    for timer_id in timer_ids:
        queue.enqueue_call(FIRE_JOB, args=(SHOP, timer_id))
    SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(
        burst=True, with_scheduler=True, logging_level="WARNING"
    )
    elapsed = time.perf_counter() - started
    marks = ", ".join("?" for _ in timer_ids)
    sent = app_db.execute(
        f"SELECT count(*) FROM deliveries WHERE status = 'sent' AND timer_id IN ({marks})",
        timer_ids,
    ).fetchone()[0]
    app_db.close()
    connection.flushdb()
    return elapsed, int(sent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=600)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument(
        "--rq",
        metavar="REDIS_URL",
        help="also run through RQ on this (flushed!) Redis DB, e.g. redis://127.0.0.1:6379/13",
    )
    args = parser.parse_args()
    mock, base_url = start_mock()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        timer_ids = prepare(data_dir, args.customers, args.blocks)
        print(
            f"setup: demo shop ({args.customers} customers) trained, {len(timer_ids)} timers "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        settings = dataclasses.replace(
            load_settings({}, data_dir=data_dir),
            secret_key="bench-secret",
            public_url="https://recs.example.test",
            klaviyo_api_key="pk_bench",
        )
        cpu0 = time.process_time()
        elapsed, per_block, sent = run_inline(settings, timer_ids, base_url)
        cpu = time.process_time() - cpu0
        rq_line = ""
        if args.rq:
            rq_ids = prepare_more(data_dir, timer_ids)
            rq_elapsed, rq_sent = run_rq(settings, rq_ids, base_url, args.rq)
            rq_line = (
                f"through RQ (one fire+push job per block, one SimpleWorker, burst, scheduler "
                f"on): {len(rq_ids)} blocks ({rq_sent} sent) in {rq_elapsed:.2f} s "
                f"= {len(rq_ids) / rq_elapsed:.0f} blocks/s"
            )
    mock.terminate()
    per_block.sort()
    rate = len(timer_ids) / elapsed
    print(
        f"blocks fired+rendered+pushed: {len(timer_ids)} ({sent} sent) in {elapsed:.2f} s "
        f"= {rate:.0f} blocks/s wall-clock (one process)"
    )
    print(f"worker CPU: {cpu:.2f} s = {len(timer_ids) / cpu:.0f} blocks per CPU-second")
    if rq_line:
        print(rq_line)
    print(
        f"per block: p50 {statistics.median(per_block):.2f} ms, "
        f"p99 {per_block[int(len(per_block) * 0.99) - 1]:.2f} ms"
    )
    print(f"target >= 300 blocks/s: {'met' if rate >= 300 else 'NOT met'} (wall-clock)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    rq_option = f" --rq {args.rq}" if args.rq else ""
    print(
        f"reproduce: nice -n 10 .venv/bin/python bench/email_push.py --blocks {args.blocks} "
        f"--customers {args.customers}{rq_option}  (python {sys.version.split()[0]})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
