"""Webhook chaos: a burst of signed Shopify and WooCommerce orders while the worker, gunicorn
and Redis are killed and restarted; then what reached the shop's SQLite file, and how often.

The run, in order (every step bounded):
1. a shop with a small catalog imported through `shoprec import products`;
2. a private redis-server, `shoprec serve` (gunicorn) and `shoprec worker` on it;
3. batch 1 sent; the worker is killed with SIGKILL once it has applied some of it and not
   the rest (mid-work);
4. batch 2 sent while no worker runs (the jobs wait in Redis); Redis is restarted without
   persistence (those jobs are gone); the worker is started again;
5. batch 3 sent; Redis restarted again under the running worker;
6. batch 4: gunicorn is killed with SIGKILL while the first half is in flight, the second
   half is refused, and gunicorn is started again;
7. every delivery that failed is resent (same id, same body) until acknowledged;
8. up to RECOVERY_S for the store to hold every order exactly as sent, nothing pending.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos import platforms
from tests.chaos.platforms import Delivery, PlatformSender
from tests.chaos.processes import (
    ABORTED,
    ChaosSetupError,
    Managed,
    free_port,
    gunicorn_server,
    redis_server,
    rq_worker,
    shoprec_env,
    start_redis,
    start_server,
    start_worker,
    stop_all,
)
from tests.chaos.shop import PRODUCTS, import_catalog

SHOP = "chaos-shop"
SHOP_DOMAIN = f"{SHOP}.myshopify.com"
RECOVERY_S = 120.0
SEND_PHASE_S = 60.0


@dataclass
class WebhookFigures:
    """What was sent, and what the store holds after the chaos and the recovery wait."""

    sent: int = 0  # distinct orders (distinct bodies) the platforms delivered
    posts: int = 0  # HTTP tries, resends included
    failed_posts: int = 0  # refused, timed out or 5xx: each was resent
    unacknowledged: int = 0  # never got a 2xx within the send phase
    stored: int = 0  # distinct sent bodies found in the inbox
    applied: int = 0  # orders whose lines in SQLite are exactly those sent
    duplicates: int = 0  # order lines (or quantities) in SQLite beyond what was sent
    pending: int = 0  # receipts still 'pending'
    missing: list[str] = field(default_factory=list)  # order ids not applied (first ten)
    recovery_s: float = 0.0  # from the last acknowledgement until all applied (or gave up)
    worker_exits: int = 0  # times the worker exited without being killed
    chaos: list[str] = field(default_factory=list)  # what was done, in order
    timeline: list[str] = field(default_factory=list)  # the same, with times and counts
    error: str = ""  # set when the harness itself could not run
    started: float = field(default_factory=time.monotonic, repr=False)

    def mark(self, what: str, sender: PlatformSender | None = None, step: bool = True) -> None:
        """Record one chaos step (or, with step=False, a moment of the run on the timeline
        only), with when it happened and the posts answered by then."""
        if step:
            self.chaos.append(what)
        counts = ""
        if sender is not None:
            log = sender.log
            counts = (
                f" (posts {log.tries}, acknowledged {len(log.acknowledged)}, failed {log.failures})"
            )
        self.timeline.append(f"{time.monotonic() - self.started:6.2f}s {what}{counts}")

    def summary(self) -> str:
        """One line with the figures."""
        return (
            f"webhooks: sent={self.sent} stored={self.stored} applied={self.applied} "
            f"duplicates={self.duplicates} pending={self.pending} posts={self.posts} "
            f"failed_posts={self.failed_posts} unacknowledged={self.unacknowledged} "
            f"worker_exits={self.worker_exits} recovery_s={self.recovery_s:.1f}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _prepare_shop(data_dir: Path, env: dict[str, str], workdir: Path) -> None:
    """Import a small catalog with the CLI and store the WooCommerce webhook secret."""
    import_catalog(SHOP, env, workdir)
    from storage.connections import WOOCOMMERCE_WEBHOOK_SECRET_KEY
    from storage.db import open_shop_db
    from storage.shop_settings import set_shop_setting

    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        set_shop_setting(db, WOOCOMMERCE_WEBHOOK_SECRET_KEY, platforms.WOO_SECRET, "chaos")
    finally:
        db.close()


def build_deliveries(per_platform: int) -> list[Delivery]:
    """Shopify and WooCommerce orders interleaved; WooCommerce ones in threes per second."""
    deliveries = []
    for n in range(per_platform):
        deliveries.append(platforms.shopify_order(n, SHOP_DOMAIN, PRODUCTS))
        deliveries.append(platforms.woocommerce_order(n, SHOP, PRODUCTS, 1_796_000_000 + n // 3))
    return deliveries


def measure(data_dir: Path, deliveries: list[Delivery], figures: WebhookFigures) -> bool:
    """Fill the store figures; True when every order is applied once and nothing is pending."""
    from storage.db import open_shop_db

    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        bodies = {bytes(row[0]) for row in db.execute("SELECT body FROM webhook_receipts")}
        figures.pending = db.execute(
            "SELECT count(*) FROM webhook_receipts WHERE status = 'pending'"
        ).fetchone()[0]
        stored_lines: dict[str, Counter[str]] = {}
        for order_id, product_id, quantity in db.execute(
            "SELECT order_id, product_id, quantity FROM order_lines"
        ):
            stored_lines.setdefault(order_id, Counter())[product_id] += quantity
    finally:
        db.close()
    figures.stored = sum(1 for d in deliveries if d.body in bodies)
    applied, duplicates, missing = 0, 0, []
    for delivery in deliveries:
        sent: Counter[str] = Counter()
        for product_id, quantity in delivery.lines:
            sent[product_id] += quantity
        got = stored_lines.get(delivery.order_id, Counter())
        duplicates += sum((got - sent).values())
        if got == sent:
            applied += 1
        else:
            missing.append(delivery.order_id)
    figures.applied, figures.duplicates, figures.missing = applied, duplicates, missing[:10]
    return applied == len(deliveries) and duplicates == 0 and figures.pending == 0


def _wait_until_mid_work(data_dir: Path, timeout_s: float = 10.0) -> bool:
    """Wait until the worker has applied some receipts and not yet others, so its SIGKILL
    lands in the middle of its work; False if that moment never came (then it is killed
    anyway)."""
    from storage.db import open_shop_db

    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            counts = dict(
                db.execute("SELECT status, count(*) FROM webhook_receipts GROUP BY status")
            )
            if counts.get("processed", 0) >= 1 and counts.get("pending", 0) >= 1:
                return True
            time.sleep(0.005)
        return False
    finally:
        db.close()


def _kill_gunicorn_during(
    server: Managed,
    port: int,
    sender: PlatformSender,
    acknowledged: int,
    killed: threading.Event,
    figures: WebhookFigures,
) -> None:
    """SIGKILL gunicorn once `acknowledged` posts were answered (others are in flight), and
    start it again a second later."""
    deadline = time.monotonic() + 30
    while len(sender.log.acknowledged) < acknowledged and time.monotonic() < deadline:
        time.sleep(0.001)
    server.kill()
    figures.mark("gunicorn SIGKILL mid-batch", sender)
    killed.set()
    time.sleep(1.0)
    try:
        start_server(server, port)
    except ChaosSetupError as exc:  # reported, not raised in a thread nobody joins on
        figures.error = str(exc)
        return
    figures.mark("gunicorn restarted", sender)


def run_webhook_chaos(
    workdir: Path, per_platform: int = 40, recovery_s: float = RECOVERY_S
) -> WebhookFigures:
    """Run the whole scenario in `workdir`; every process is killed before returning."""
    figures = WebhookFigures()
    data_dir = workdir / "data"
    redis_port, web_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = shoprec_env(data_dir, redis_url, {"SHOPIFY_API_SECRET": platforms.SHOPIFY_SECRET})
    store = redis_server(redis_port, workdir / "redis.log")
    server = gunicorn_server(env, web_port, workdir / "gunicorn.log", SHOP)
    worker = rq_worker(env, workdir / "worker.log")
    deliveries = build_deliveries(per_platform)
    figures.sent = len(deliveries)
    sender = PlatformSender(f"http://127.0.0.1:{web_port}", deliveries)
    try:
        _prepare_shop(data_dir, env, workdir)
        start_redis(store, redis_port)
        start_server(server, web_port)
        start_worker(worker, redis_port)
        quarter = len(deliveries) // 4
        batches = [list(range(i * quarter, (i + 1) * quarter)) for i in range(3)]
        batches.append(list(range(3 * quarter, len(deliveries))))
        failed = sender.send(batches[0])
        mid_work = _wait_until_mid_work(data_dir)
        worker.kill()
        figures.mark("worker SIGKILL after batch 1", sender)
        figures.mark(f"the worker was {'mid-work' if mid_work else 'idle'}", step=False)
        failed += sender.send(batches[1])
        store.kill()
        start_redis(store, redis_port)
        figures.mark("redis restarted empty (worker down, batch 2 queued)", sender)
        start_worker(worker, redis_port)
        figures.mark("worker restarted", sender)
        failed += sender.send(batches[2])
        store.kill()
        start_redis(store, redis_port)
        figures.mark("redis restarted empty under the running worker", sender)
        half = len(batches[3]) // 2
        killed = threading.Event()
        at = len(sender.log.acknowledged) + half // 2
        killer = threading.Thread(
            target=_kill_gunicorn_during, args=(server, web_port, sender, at, killed, figures)
        )
        killer.start()
        failed += sender.send(batches[3][:half])
        killed.wait(30)
        failed += sender.send(batches[3][half:])  # refused: gunicorn is down
        figures.mark("batch 4 sent", sender, step=False)
        killer.join(timeout=60)
        deadline = time.monotonic() + SEND_PHASE_S
        unacknowledged = sender.resend_until_acknowledged(failed, deadline)
        figures.unacknowledged = len(unacknowledged)
        figures.mark("failed posts resent", sender, step=False)
        settled = time.monotonic()
        deadline = settled + recovery_s
        while not measure(data_dir, deliveries, figures) and time.monotonic() < deadline:
            if ABORTED.is_set():
                break
            if worker.proc is not None and not worker.alive():
                figures.worker_exits += 1
                figures.mark("worker exited by itself (not restarted)", sender)
                worker.proc = None
            time.sleep(1.0)
        figures.recovery_s = time.monotonic() - settled
    except Exception as exc:  # the harness reports; the tests fail on `error`
        figures.error = f"{type(exc).__name__}: {exc}"
    finally:
        sender.close()
        stop_all(worker, server, store)
        figures.posts, figures.failed_posts = sender.log.tries, sender.log.failures
    return figures
