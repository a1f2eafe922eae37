"""Campaign scheduling: when an order or a view is stored, set the shopper's timers.

Timers use RQ's own scheduling (`queue.enqueue_at`; `shoprec worker` runs the scheduler),
one job per timer row. The UNIQUE (campaign, customer, window) row in campaign_timers is the
lock: only the call that inserts it enqueues, so a replayed webhook or two workers schedule
one job. The job id is derived from the row, so a lost enqueue is healed by the next event
without ever making two. Conditions are checked again when the timer fires
(worker/campaigns.py); cancelling here just saves the work.

Windows: post_purchase is per order; browse per `window_days` bucket of view time; win_back
per "last order" (a newer order cancels it and starts a new one).
History: a timer already due more than MAX_LATE before `now` is not scheduled, so importing
last year's orders does not email everyone at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import sqlite_utils
from rq import Queue, get_current_job
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from config import ConfigError, load_settings
from email_blocks.campaign_settings import (
    SETTING_KEY,
    CampaignSettings,
    CampaignSettingsError,
    parse_campaign_settings,
)
from storage.campaign_timers import (
    any_scheduled_timer,
    claim_timer,
    finish_timer,
    pending_timers,
    set_timer_job,
)
from storage.clock import from_iso, to_iso
from storage.db import validate_shop_name
from storage.events import product_viewed_at, viewers_since
from storage.orders import get_order_header, latest_paid_order_id, paid_order_since
from storage.shop_settings import get_shop_setting
from worker.errors import WorkerError
from worker.push import push_rate_limit
from worker.queues import QUEUE_EMAIL, get_queue
from worker.redis_connection import get_redis

logger = logging.getLogger(__name__)

FIRE_JOB = "worker.jobs.fire_campaign_timer"
FIRE_RESULT_TTL_S = 86_400
MAX_LATE = timedelta(days=1)
_PAID = "paid"


def shop_campaign_settings(db: sqlite_utils.Database) -> CampaignSettings:
    """The shop's validated campaigns setting (CampaignSettingsError if it is broken)."""
    return parse_campaign_settings(get_shop_setting(db, SETTING_KEY))


def timer_job_id(shop: str, timer_id: int) -> str:
    """The one RQ job id of a timer (RQ ids allow no '.', so dots become '_')."""
    return f"campaign-{validate_shop_name(shop).replace('.', '_')}-{int(timer_id)}"


def _settings_or_none(db: sqlite_utils.Database, shop: str) -> CampaignSettings | None:
    try:
        return shop_campaign_settings(db)
    except CampaignSettingsError as exc:
        # A broken setting must not fail the webhook receipt that called us; it is logged
        # and the admin shows the same message when the setting is edited.
        logger.warning("shop %s: campaigns not scheduled: %s", shop, exc, extra={"shop": shop})
        return None


def _schedule(
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    *,
    campaign: str,
    customer_id: str,
    window_key: str,
    anchor_id: str | None,
    since: datetime,
    due: datetime,
    provider: str,
) -> dict[str, Any]:
    """Claim the window's timer and make sure exactly one RQ job fires it."""
    claim = claim_timer(
        db,
        campaign=campaign,
        customer_id=customer_id,
        window_key=window_key,
        anchor_id=anchor_id,
        since=to_iso(since),
        due_at=to_iso(due),
    )
    timer = claim.timer
    if timer["status"] != "scheduled":
        return timer
    job_id = timer_job_id(shop, timer["timer_id"])
    if not claim.created and _job_exists(queue, job_id):
        return timer
    try:
        queue.enqueue_at(
            due,
            FIRE_JOB,
            shop,
            int(timer["timer_id"]),
            job_id=job_id,
            unique=True,
            result_ttl=FIRE_RESULT_TTL_S,
            description=f"{campaign} timer {timer['timer_id']} of {shop}",
            rate_limit=push_rate_limit(provider),  # the job pushes: the provider's limit
        )
    except DuplicateJobError:
        pass  # another process enqueued the same timer's job: one job, as intended
    set_timer_job(db, int(timer["timer_id"]), job_id)
    timer["rq_job_id"] = job_id
    return timer


def _job_exists(queue: Queue, job_id: str) -> bool:
    try:
        Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return False
    return True


def cancel_timers(
    db: sqlite_utils.Database,
    queue: Queue,
    customer_id: str,
    campaigns: tuple[str, ...],
    reason: str,
    before: str | None = None,
) -> int:
    """Cancel the shopper's scheduled timers of `campaigns` (begun before `before`, if given)
    and drop their RQ jobs; return how many were cancelled."""
    registry = ScheduledJobRegistry(queue=queue)
    cancelled = 0
    for timer in pending_timers(db, customer_id, campaigns):
        if before is not None and timer["since"] >= before:
            continue
        if finish_timer(db, int(timer["timer_id"]), "cancelled", reason):
            cancelled += 1
            if timer["rq_job_id"]:
                try:
                    registry.remove(timer["rq_job_id"], delete_job=True)
                except NoSuchJobError:
                    pass
    return cancelled


def _is_latest_order(db: sqlite_utils.Database, customer_id: str, order: Mapping[str, Any]) -> bool:
    latest = latest_paid_order_id(db, customer_id)
    return latest is None or latest == str(order["order_id"])


def schedule_after_order(
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    order: Mapping[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Set the timers an order starts (post_purchase, win_back) and cancel those it ends.

    `order` is a stored order row (order_id, customer_id, created_at, status). A guest or
    unpaid order starts nothing. The purchase cancels the shopper's pending browse timers
    begun before it, and a pending win_back of an older order. Returns what was done.
    """
    now = now or datetime.now(UTC)
    customer_id = order.get("customer_id")
    done: dict[str, Any] = {"order_id": order.get("order_id"), "scheduled": [], "cancelled": 0}
    if not customer_id or order.get("status", _PAID) != _PAID:
        return done
    created = from_iso(str(order["created_at"]))
    done["cancelled"] += cancel_timers(
        db, queue, customer_id, ("browse",), "purchased since the views", before=to_iso(created)
    )
    settings = _settings_or_none(db, shop)
    if settings is None:
        return done
    latest = _is_latest_order(db, customer_id, order)
    if latest:
        done["cancelled"] += cancel_timers(
            db, queue, customer_id, ("win_back",), "a newer order", before=to_iso(created)
        )
    plans = [("post_purchase", f"order:{order['order_id']}")]
    if latest:
        plans.append(("win_back", f"after:{order['order_id']}"))
    for campaign, window in plans:
        rule = settings.active(campaign)
        if rule is None:
            continue
        due = created + timedelta(days=rule.delay_days)
        if due < now - MAX_LATE:
            continue
        timer = _schedule(
            db,
            queue,
            shop,
            campaign=campaign,
            customer_id=customer_id,
            window_key=window,
            anchor_id=str(order["order_id"]),
            since=created,
            due=due,
            provider=settings.push.provider,
        )
        done["scheduled"].append(timer["timer_id"])
    return done


def schedule_after_views(
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    customer_id: str,
    viewed_at: str,
    product_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Set the browse re-engagement timer for a known shopper's product view.

    One timer per `window_days` bucket of view time; a shopper who bought at or after the
    view gets none. Returns the timer row, or None when nothing was scheduled.
    """
    now = now or datetime.now(UTC)
    settings = _settings_or_none(db, shop)
    rule = settings.active("browse") if settings else None
    if rule is None or not customer_id:
        return None
    viewed = from_iso(viewed_at)
    bought = paid_order_since(db, customer_id, to_iso(viewed))
    due = viewed + timedelta(days=rule.delay_days)
    if bought or due < now - MAX_LATE:
        return None
    bucket = int(viewed.timestamp() // 86_400) // rule.window_days
    return _schedule(
        db,
        queue,
        shop,
        campaign="browse",
        customer_id=customer_id,
        window_key=f"views:{rule.window_days}d:{bucket}",
        anchor_id=product_id,
        since=viewed,
        due=due,
        provider=settings.push.provider if settings else "none",
    )


def schedule_after_order_rows(
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    orders: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """`schedule_after_order` for each order of a stored batch, read back from the store
    (so the status and time are what was kept, not what the payload said)."""
    results = []
    for order in orders:
        stored = get_order_header(db, str(order["order_id"]))
        if stored is not None:
            results.append(schedule_after_order(db, queue, shop, stored, now))
    return results


def _job_connection() -> redis.Redis:
    """The running RQ job's Redis (the receipt job's own), else one from the settings."""
    job = get_current_job()
    if job is not None:
        return job.connection
    return get_redis(load_settings())


def _campaigns_concern(
    db: sqlite_utils.Database, shop: str, orders: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether these orders can start or cancel a timer: a shop without campaigns and
    without pending timers for these shoppers needs no Redis at all."""
    settings = _settings_or_none(db, shop)
    if settings is not None and any(settings.active(c) for c in settings.rules):
        return True
    customers = sorted({str(o["customer_id"]) for o in orders if o.get("customer_id")})
    return any_scheduled_timer(db, customers)


def schedule_after_stored_orders(
    db: sqlite_utils.Database, shop: str, orders: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The webhook receipts' hook: set timers for stored orders; never fails the receipt.

    A missing or unreachable Redis (or broken config) is logged and reported in the
    receipt's summary instead: the order itself is stored, and the next event for the
    shopper heals the timer (its job id is derived from the row).
    """
    if not _campaigns_concern(db, shop, orders):
        return {"scheduled": 0, "cancelled": 0}
    try:
        queue = get_queue(QUEUE_EMAIL, _job_connection())
        results = schedule_after_order_rows(db, queue, shop, orders)
    except (redis.RedisError, WorkerError, ConfigError) as exc:
        logger.warning(
            "shop %s: campaign timers not scheduled: %s", shop, exc, extra={"shop": shop}
        )
        return {"error": f"campaign timers not scheduled: {exc}"}
    return {
        "scheduled": sum(len(r["scheduled"]) for r in results),
        "cancelled": sum(r["cancelled"] for r in results),
    }


def schedule_browse_from_views(
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    since: datetime,
    now: datetime | None = None,
) -> int:
    """Browse timers for every known shopper who viewed products since `since`; return how
    many timers exist for them now. The storefront stores view events on the HTTP path
    without touching the scheduler; this sweep (a job, or `shoprec campaigns sweep`) turns
    them into timers. Idempotent: a window that already has its timer gains nothing."""
    count = 0
    for customer_id, first_view, last_view in viewers_since(db, to_iso(since)):
        product = product_viewed_at(db, customer_id, last_view)
        timer = schedule_after_views(db, queue, shop, customer_id, first_view, product, now)
        count += timer is not None
    return count
