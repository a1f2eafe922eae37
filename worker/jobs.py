"""RQ job entry points. Their dotted paths are stored in Redis: never rename one.

Each job takes only JSON-able ids and primitives, reads the process settings itself (a job
is a process entry point, like the CLI), loads what it needs from storage, and returns a
JSON-able summary that RQ keeps as the job's result. Unexpected errors are left to reach
RQ, so the job lands in FailedJobRegistry with its traceback instead of vanishing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import redis

from config import Settings, load_settings
from storage import catalog
from storage.db import open_shop_db, shop_exists
from storage.errors import UnknownShop
from worker.queues import enqueue_retrain

# Enqueue helpers live in worker.queues (callers should not import this module); the name is
# re-exported because it was first announced here.
__all__ = ["count_products", "enqueue_retrain", "retrain_shop", "to_jsonable"]

logger = logging.getLogger(__name__)


def retrain_shop(shop: str) -> dict[str, Any]:
    """Fit every model of `shop` from its store and save them; return the training report."""
    settings = load_settings()
    if not shop_exists(settings.data_dir, shop):
        # Checked here so a mistyped shop fails loudly instead of training an empty new store.
        raise UnknownShop(f"no shop named {shop!r} under {settings.data_dir}")
    # Imported here: training pulls in the whole engine (numpy, scikit-learn, mlxtend), which
    # enqueuing code and other jobs should not pay for.
    from worker.training import train_shop

    logger.info("retraining shop %s", shop, extra={"shop": shop})
    report = train_shop(settings, shop)
    result = to_jsonable(report)
    return result if isinstance(result, dict) else {"shop": shop, "report": result}


def count_products(shop: str) -> dict[str, Any]:
    """The shop's product count: a cheap job that proves a worker can reach the store."""
    settings = load_settings()
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        return {"shop": shop, "products": catalog.count_products(db)}
    finally:
        db.close()


def to_jsonable(value: Any) -> Any:
    """Dataclasses, mappings, sequences, paths and dates as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_jsonable(value.tolist())
    return str(value)


def job_redis(settings: Settings) -> redis.Redis:
    """The Redis of the job running now (so follow-up work lands where this job came from),
    or a new connection from settings when the function is called outside a job."""
    from rq import get_current_job

    from worker.redis_connection import get_redis

    job = get_current_job()
    return job.connection if job is not None else get_redis(settings)


def process_receipt_job(shop: str, receipt_id: int) -> dict[str, Any]:
    """Apply stored webhook receipt `receipt_id` of `shop` (enqueued by plugin/webhooks.py),
    with every other due receipt of the shop in the same go (worker.receipt_batch: one job
    per burst, not per receipt); a drain that ran out of time enqueues its follow-up."""
    from rq import get_current_job

    from storage.receipts import due_pending_receipt_ids
    from worker.queues import QUEUE_DEFAULT, get_queue
    from worker.receipt_batch import drain_shop_receipts
    from worker.receipt_dispatch import ensure_waiting_job

    settings = load_settings()
    summary = drain_shop_receipts(settings, shop, int(receipt_id))
    job = get_current_job()
    if summary.get("more_left") and job is not None:
        db = open_shop_db(settings.data_dir, shop, create=False)
        try:
            due = due_pending_receipt_ids(db, limit=100)
        finally:
            db.close()
        ensure_waiting_job(get_queue(QUEUE_DEFAULT, job.connection), shop, due)
    return summary


def fire_campaign_timer(shop: str, timer_id: int) -> dict[str, Any]:
    """Fire one campaign timer (enqueued with enqueue_at by worker/timers.py): re-check,
    build the block from current stock, store the delivery and push it."""
    from worker.campaigns import fire_and_push
    from worker.queues import QUEUE_EMAIL, get_queue

    settings = load_settings()
    connection = job_redis(settings)
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        return fire_and_push(settings, db, get_queue(QUEUE_EMAIL, connection), shop, int(timer_id))
    finally:
        db.close()


def push_delivery_job(shop: str, delivery_id: int) -> dict[str, Any]:
    """Send one stored delivery to its email platform; RQ's Retry covers retryable failures
    and the last try parks the delivery instead of raising."""
    from rq import get_current_job

    from worker.push import push_delivery

    settings = load_settings()
    job = get_current_job()
    last_try = job is None or not job.retries_left
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        return push_delivery(settings, db, int(delivery_id), last_try=last_try)
    finally:
        db.close()


def schedule_browse_timer(
    shop: str, customer_id: str, viewed_at: str, product_id: str
) -> dict[str, Any]:
    """Set a shopper's browse re-engagement timer after a product view (enqueued by the
    storefront event path, so the HTTP request itself never touches the scheduler)."""
    from worker.queues import QUEUE_EMAIL, get_queue
    from worker.timers import schedule_after_views

    settings = load_settings()
    connection = job_redis(settings)
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        timer = schedule_after_views(
            db, get_queue(QUEUE_EMAIL, connection), shop, customer_id, viewed_at, product_id
        )
    finally:
        db.close()
    return {"shop": shop, "timer_id": timer["timer_id"] if timer else None}


def sync_shop_job(shop: str, platform: str) -> dict[str, Any]:
    """Backfill or incrementally sync one shop from `platform` (enqueued by worker.sync_run)."""
    from worker.sync_run import run_shop_sync

    return run_shop_sync(load_settings(), shop, platform)


def sweep_browse_timers(shop: str, hours: int = 24) -> dict[str, Any]:
    """Set browse timers for shoppers who viewed products in the last `hours` (run it every
    few hours; storefront views are stored on the HTTP path without scheduling)."""
    from datetime import UTC, timedelta

    from worker.queues import QUEUE_EMAIL, get_queue
    from worker.timers import schedule_browse_from_views

    settings = load_settings()
    connection = job_redis(settings)
    since = datetime.now(UTC) - timedelta(hours=int(hours))
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        timers = schedule_browse_from_views(db, get_queue(QUEUE_EMAIL, connection), shop, since)
    finally:
        db.close()
    return {"shop": shop, "browse_timers": timers}


def purge_old_events_job(shop: str) -> dict[str, Any]:
    """Delete `shop`'s raw storefront events older than its retention period (the shop
    setting event_retention_months) and record the run; return the run. A run stops after
    PURGE_JOB_BUDGET_S (inside RQ's default job timeout); `more_left` says the next goes on."""
    from worker.retention import PURGE_JOB_BUDGET_S, events_left_before, purge_old_events

    settings = load_settings()
    if not shop_exists(settings.data_dir, shop):
        raise UnknownShop(f"no shop named {shop!r} under {settings.data_dir}")
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        purge = purge_old_events(db, max_seconds=PURGE_JOB_BUDGET_S)
        more_left = events_left_before(db, purge.cutoff)
    finally:
        db.close()
    return {"shop": shop, **dataclasses.asdict(purge), "more_left": more_left}


def sweep_pending_receipts_job(
    shop: str | None = None, older_than_s: int | None = None
) -> dict[str, Any]:
    """Dispatch again every webhook receipt left pending past the grace period with no live
    job (a lost queue, a failed enqueue): run it periodically and at worker start-up."""
    from rq import get_current_job

    from worker.receipt_sweep import SWEEP_GRACE_S, redispatch_pending_receipts

    settings = load_settings()
    connection = job_redis(settings) if settings.redis_url or get_current_job() else None
    grace = SWEEP_GRACE_S if older_than_s is None else int(older_than_s)
    return redispatch_pending_receipts(settings, connection, shop, grace)


def sweep_deliveries_job(shop: str) -> dict[str, Any]:
    """Re-drive the shop's deliveries that nothing will push (a periodic job, and run once
    at each worker start: worker/schedules.py)."""
    from worker.delivery_sweep import sweep_deliveries
    from worker.queues import QUEUE_EMAIL, get_queue

    settings = load_settings()
    connection = job_redis(settings)
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        return sweep_deliveries(db, get_queue(QUEUE_EMAIL, connection), shop)
    finally:
        db.close()


def sync_connected_job(shop: str) -> dict[str, Any]:
    """Enqueue an incremental sync for each platform the shop is actively connected to (a
    periodic job): webhooks keep a shop current, and this catches what they missed."""
    from storage.connections import PLATFORMS, get_connection
    from worker.queues import QUEUE_SYNC, get_queue
    from worker.sync_run import enqueue_sync

    settings = load_settings()
    if not shop_exists(settings.data_dir, shop):
        raise UnknownShop(f"no shop named {shop!r} under {settings.data_dir}")
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        active = [
            platform
            for platform in PLATFORMS
            if (connection := get_connection(db, platform)) is not None
            and connection.status == "active"
        ]
    finally:
        db.close()
    queue = get_queue(QUEUE_SYNC, job_redis(settings)) if active else None
    jobs = [enqueue_sync(queue, shop, platform).id for platform in active] if queue else []
    return {"shop": shop, "platforms": active, "sync_jobs": jobs}


def retrain_if_due_job(shop: str) -> dict[str, Any]:
    """Enqueue the shop's retrain when worker.retrain_due says it is due (a periodic job)."""
    from datetime import UTC

    from worker.queues import QUEUE_DEFAULT, get_queue
    from worker.retrain_due import shop_retrain_decision

    settings = load_settings()
    decision = shop_retrain_decision(settings, shop, datetime.now(UTC))
    result: dict[str, Any] = {"shop": shop, "due": decision.due, "reason": decision.reason}
    if decision.due:
        job = enqueue_retrain(get_queue(QUEUE_DEFAULT, job_redis(settings)), shop)
        result["retrain_job"] = job.id
        logger.info("retrain of %s due: %s", shop, decision.reason, extra={"shop": shop})
    return result


def reallocate_experiments_job(shop: str) -> dict[str, Any]:
    """Move the split of each running automatic experiment towards the variant earning the
    most per session (worker/reallocation.py; a periodic job)."""
    from worker.reallocation import reallocate

    settings = load_settings()
    if not shop_exists(settings.data_dir, shop):
        raise UnknownShop(f"no shop named {shop!r} under {settings.data_dir}")
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        done = reallocate(db, settings.attribution_window_hours)
    finally:
        db.close()
    return {"shop": shop, "reallocated": done}


def periodic_tick(
    job: str, shop: str, slot: int, slot_seconds: float | None = None
) -> dict[str, Any]:
    """One tick of a periodic chain (worker/schedules.py): schedule the next, run `job(shop)`."""
    from worker.schedules import run_tick

    settings = load_settings()
    connection = job_redis(settings)
    return run_tick(
        connection,
        settings.data_dir,
        job,
        shop,
        int(slot),
        slot_seconds=slot_seconds,
        settings=settings,
    )
