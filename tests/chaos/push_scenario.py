"""Email-push chaos: due campaign blocks pushed to a stand-in Klaviyo that throttles (429),
fails (500) and then accepts (202) each one, while the worker is killed with SIGKILL twice:
once while it waits out a Retry-After, once after the provider accepted a block but before
the worker heard so. Then: was every due block accepted exactly once?

The run (every step bounded):
1. a shop with a small catalog (CLI import), SHOPPERS subscribed shoppers, each with an order
   placed seven days ago, post-purchase campaigns pushed to Klaviyo;
2. the timers scheduled on a private redis-server (all due now) and `shoprec worker` started;
3. when the second block's first try is throttled: SIGKILL, and the worker started again;
4. when the fourth block is accepted (its answer held back): SIGKILL, and started again;
5. up to RECOVERY_S for every due block to be accepted and every delivery recorded 'sent'.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from tests.chaos.fake_klaviyo import FakeKlaviyo
from tests.chaos.processes import (
    ABORTED,
    free_port,
    redis_server,
    rq_worker,
    shoprec_env,
    start_redis,
    start_worker,
    stop_all,
)
from tests.chaos.shop import import_catalog

SHOP = "chaos-mail"
SHOPPERS = 6
KLAVIYO_KEY = "pk_chaos_0123456789"
RECOVERY_S = 120.0
KILL_WAIT_S = 60.0
THROTTLED_KILL_AT = 2  # the block whose Retry-After wait the first kill interrupts
ACCEPTED_KILL_AT = 4  # the block accepted but not yet answered when the second kill lands


@dataclass
class PushFigures:
    """What was due, and what the stand-in provider recorded."""

    due: int = 0  # post-purchase timers due during the run
    accepted: int = 0  # shoppers whose block the provider recorded exactly once
    missing: int = 0  # due shoppers the provider never recorded a block for
    duplicates: int = 0  # blocks recorded under a second key for the same shopper + campaign
    repeats: int = 0  # re-sends of an already recorded key (deduped by the key, as Klaviyo does)
    provider_tries: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)  # shoprec's rows by status
    timers: dict[str, int] = field(default_factory=dict)
    recovery_s: float = 0.0  # from the last restart until done (or gave up)
    chaos: list[str] = field(default_factory=list)
    error: str = ""

    def summary(self) -> str:
        """One line with the figures."""
        return (
            f"pushes: due={self.due} accepted={self.accepted} missing={self.missing} "
            f"duplicates={self.duplicates} repeats={self.repeats} tries={self.provider_tries} "
            f"deliveries={self.deliveries} recovery_s={self.recovery_s:.1f}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _email(n: int) -> str:
    return f"shopper{n}@example.test"


def _prepare_shop(data_dir: Path, env: dict[str, str], workdir: Path, redis_url: str) -> int:
    """Shoppers with an order placed seven days ago, and their timers due now; return how many."""
    products = import_catalog(SHOP, env, workdir)
    from storage.customers import upsert_customers
    from storage.db import open_shop_db
    from storage.orders import upsert_order_lines, upsert_orders
    from storage.shop_settings import set_shop_setting
    from worker.queues import QUEUE_EMAIL, get_queue
    from worker.timers import schedule_after_order

    placed = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
    stamp = placed.strftime("%Y-%m-%dT%H:%M:%S")
    campaigns = {
        "push": {"provider": "klaviyo"},
        "browse": {"enabled": False},
        "win_back": {"enabled": False},
    }
    connection = redis.Redis.from_url(redis_url)
    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        set_shop_setting(db, "campaigns", campaigns, changed_by="chaos")
        queue = get_queue(QUEUE_EMAIL, connection)
        for n in range(SHOPPERS):
            customer_id, order_id, product = f"shopper-{n}", f"mail-order-{n}", products[n]
            upsert_customers(
                db,
                [{"customer_id": customer_id, "email": _email(n), "first_name": f"S{n}",
                  "accepts_marketing": 1, "created_at": "2026-01-01T00:00:00"}],
            )  # fmt: skip
            order = {"order_id": order_id, "customer_id": customer_id, "created_at": stamp,
                     "status": "paid", "source": "shopify"}  # fmt: skip
            upsert_orders(db, [order])
            upsert_order_lines(
                db, [(order_id, f"{product}#1", product, customer_id, stamp, 1, 10.0)]
            )
            schedule_after_order(db, queue, SHOP, order, now=placed)
        return int(db.execute("SELECT count(*) FROM campaign_timers").fetchone()[0])
    finally:
        db.close()
        connection.close()


def measure(data_dir: Path, fake: FakeKlaviyo, figures: PushFigures) -> bool:
    """Fill the figures; True when every due block is recorded once and every row is 'sent'."""
    from storage.campaign_timers import timer_counts
    from storage.db import open_shop_db
    from storage.deliveries import delivery_counts

    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        figures.deliveries = delivery_counts(db)
        figures.timers = {
            f"{c}:{s}": n for c, counts in timer_counts(db).items() for s, n in counts.items()
        }
    finally:
        db.close()
    with fake.lock:
        ledger = fake.ledger
        keys_per_shopper = {n: 0 for n in range(SHOPPERS)}
        for (email, _campaign), keys in ledger.by_profile.items():
            for n in keys_per_shopper:
                if email == _email(n):
                    keys_per_shopper[n] += len(keys)
        figures.repeats = sum(ledger.repeats.values())
        figures.provider_tries = sum(ledger.tries.values())
    figures.accepted = sum(1 for k in keys_per_shopper.values() if k == 1)
    figures.missing = sum(1 for k in keys_per_shopper.values() if k == 0)
    figures.duplicates = sum(k - 1 for k in keys_per_shopper.values() if k > 1)
    all_sent = figures.deliveries.get("sent", 0) == figures.due
    return figures.accepted == figures.due and figures.duplicates == 0 and all_sent


def _wait(event: threading.Event, timeout_s: float) -> bool:
    """Wait for `event` up to `timeout_s`, giving up early when the run is interrupted."""
    deadline = time.monotonic() + timeout_s
    while not event.wait(0.5):
        if ABORTED.is_set() or time.monotonic() > deadline:
            return False
    return True


def run_push_chaos(workdir: Path, recovery_s: float = RECOVERY_S) -> PushFigures:
    """Run the whole scenario in `workdir`; every process is killed before returning."""
    figures = PushFigures()
    data_dir = workdir / "data"
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    fake = FakeKlaviyo(KLAVIYO_KEY)
    throttled = threading.Event()
    fake.on_first_try = lambda number: throttled.set() if number == THROTTLED_KILL_AT else None
    fake.hold_acceptance_of = ACCEPTED_KILL_AT
    env = shoprec_env(
        data_dir,
        redis_url,
        {
            "KLAVIYO_API_KEY": KLAVIYO_KEY,
            "SHOPREC_KLAVIYO_BASE_URL": fake.url,
            "SHOPREC_SECRET_KEY": "chaos-secret-key",
            "SHOPREC_PUBLIC_URL": "https://recs.example.test",
            "SHOPREC_HTTP_TIMEOUT": "5",
        },
    )
    store = redis_server(redis_port, workdir / "redis.log")
    worker = rq_worker(env, workdir / "worker.log")
    try:
        fake.start()
        start_redis(store, redis_port)
        figures.due = _prepare_shop(data_dir, env, workdir, redis_url)
        start_worker(worker, redis_port)
        for event, what in ((throttled, "throttled"), (fake.held, "accepted, answer held")):
            if not _wait(event, KILL_WAIT_S):
                figures.chaos.append(f"block never {what} within {KILL_WAIT_S} s")
                break
            worker.kill()
            if event is fake.held:
                fake.release()
            figures.chaos.append(f"worker SIGKILL while a block was {what}")
            start_worker(worker, redis_port)
            figures.chaos.append("worker restarted")
        restarted = time.monotonic()
        deadline = restarted + recovery_s
        while not measure(data_dir, fake, figures) and time.monotonic() < deadline:
            if ABORTED.is_set():
                break
            time.sleep(1.0)
        figures.recovery_s = time.monotonic() - restarted
    except Exception as exc:  # the harness reports; the tests fail on `error`
        figures.error = f"{type(exc).__name__}: {exc}"
    finally:
        stop_all(worker, store)
        fake.stop()
    return figures
