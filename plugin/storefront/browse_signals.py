"""Turn stored storefront views into browse re-engagement timers, off the request path.

A signed shopper's product view may start the email worker's browse timer, but the
events endpoint must stay a fast insert: it only enqueues `worker.jobs.schedule_browse_timer`,
at most once per shopper per day (the job id is the dedupe key, so RQ refuses a second
enqueue while the first job or its result exists). The job decides whether the shop runs that
campaign and whether the shopper bought since. Redis down or absent: nothing is enqueued and
`shoprec campaigns sweep` (or the sweep job) catches those views later from the store.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from rq.exceptions import DuplicateJobError

from worker.queues import QUEUE_EMAIL, get_queue

logger = logging.getLogger(__name__)

BROWSE_JOB = "worker.jobs.schedule_browse_timer"
# Kept as long as the dedupe window: a second view the same day finds the job and stops.
RESULT_TTL_S = 2 * 86_400


def browse_job_id(shop: str, customer_id: str, day: str) -> str:
    """The job id that makes one enqueue per shopper per day (UTC date of the view); hashed,
    because RQ accepts only letters, digits, '-' and '_' and customer ids may hold anything."""
    digest = hashlib.sha256(f"{shop}\0{customer_id}\0{day}".encode()).hexdigest()[:32]
    return f"browse-{digest}"


def first_views_by_customer(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each known shopper's earliest view in a batch of stored event rows."""
    first: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        customer = row.get("customer_id")
        if row.get("type") != "view" or not customer:
            continue
        if customer not in first or str(row["ts"]) < str(first[customer]["ts"]):
            first[customer] = row
    return first


def enqueue_browse_timers(
    connection: redis.Redis | None, shop: str, rows: Iterable[Mapping[str, Any]]
) -> int:
    """Enqueue the browse-timer job for each shopper who viewed a product; return how many.

    Never raises: the events are already stored, and a lost enqueue is caught by the sweep.
    """
    views = first_views_by_customer(rows)
    if connection is None or not views:
        return 0
    queue = get_queue(QUEUE_EMAIL, connection)
    enqueued = 0
    for customer, row in views.items():
        ts = str(row["ts"])
        try:
            queue.enqueue_call(
                BROWSE_JOB,
                args=(shop, customer, ts, str(row["product_id"])),
                job_id=browse_job_id(shop, customer, ts[:10]),
                unique=True,
                result_ttl=RESULT_TTL_S,
                description=f"browse timer for a view in {shop}",
            )
            enqueued += 1
        except DuplicateJobError:
            continue
        except redis.RedisError as exc:
            logger.warning("browse timer not enqueued for shop %s: %s", shop, exc)
            break
    return enqueued
