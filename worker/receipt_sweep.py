"""The sweep that keeps the webhook inbox from stranding work.

A receipt is stored before its delivery is acknowledged; its RQ job is only a hint to apply
it now. If Redis lost the job (a restart during a burst left 61 of 400 orders pending with no
job), nothing else would ever apply it: the platform's retries of the same delivery are
duplicates. So the sweep, run periodically (worker.jobs.sweep_pending_receipts_job) and at
worker start-up, finds receipts that are still 'pending' after a grace period, whose next try
is due (a receipt that waits by design backs off, see worker.receipts.next_try_after), and:
- with Redis, makes sure the shop has a queued receipt job (one job drains every due
  receipt of the shop: worker.receipt_batch), enqueuing one named after a receipt with no
  live job of its own when there is none;
- without Redis, applies them in this process.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from config import Settings
from storage.db import list_shops, open_shop_db, shop_exists
from storage.receipts import due_pending_receipt_ids
from worker.queues import QUEUE_DEFAULT, get_queue
from worker.receipt_batch import drain_receipts
from worker.receipt_dispatch import ensure_waiting_job
from worker.receipts import finish_receipt

logger = logging.getLogger(__name__)

# Long enough that a receipt the web app is enqueueing or applying right now is left to it.
SWEEP_GRACE_S = 30


def redispatch_pending_receipts(
    settings: Settings,
    connection: redis.Redis | None,
    shop: str | None = None,
    older_than_s: float = SWEEP_GRACE_S,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Dispatch every due pending receipt older than `older_than_s` of `shop` (all shops when
    None) that no live job holds; return counts per shop. `connection` None applies inline."""
    moment = now or datetime.now(UTC)
    shops = [shop] if shop else list_shops(settings.data_dir)
    report: dict[str, Any] = {}
    for name in shops:
        if not shop_exists(settings.data_dir, name):
            continue
        counts = _sweep_shop(settings, connection, name, moment, older_than_s)
        if counts:
            report[name] = counts
            logger.info("pending receipts of %s swept: %s", name, counts, extra={"shop": name})
    return report


def _sweep_shop(
    settings: Settings,
    connection: redis.Redis | None,
    shop: str,
    now: datetime,
    older_than_s: float,
) -> dict[str, Any]:
    db = open_shop_db(settings.data_dir, shop, create=False)
    finish: dict[str, Any] | None = None
    try:
        received_before = now - timedelta(seconds=older_than_s)
        due = due_pending_receipt_ids(db, received_before=received_before, now=now)
        if not due:
            return {}
        if connection is None:
            # Only receipts past the grace period: a newer one may be applied right now by
            # the web app (inline without Redis).
            outcome, _ = drain_receipts(db, shop, received_before=received_before, now=now)
            counts: dict[str, Any] = {"due": len(due), **outcome.counts}
            finish = outcome.finish
        else:
            queue = get_queue(QUEUE_DEFAULT, connection)
            counts = {"due": len(due), "enqueued": int(ensure_waiting_job(queue, shop, due))}
    finally:
        db.close()
    if finish is not None:
        finish_receipt(settings, shop, finish)
    return counts
