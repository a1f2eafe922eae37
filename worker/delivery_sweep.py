"""Re-driving deliveries that nothing will push: the sweep behind `sweep_deliveries_job`.

A delivery is stored before anything is sent, but the job that should push it can be lost:
the worker killed mid-push (the row stays claimed: 'sending'), a retry job dropped with a
Redis that restarted without persistence, a timer job abandoned. The sweep finds pending,
failed or claimed deliveries untouched for STUCK_AFTER whose push job is not waiting or
running, and enqueues that job again under its one id (worker.push.push_job_id), so two
sweeps never make two jobs. Sending twice is prevented by the push itself: the claim, and
the platform check after a takeover (worker/push.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from storage.delivery_claims import claimed_deliveries, stuck_deliveries
from worker.process_claims import claim_holder_gone
from worker.push import (
    CLAIM_LEASE,
    PUSH_JOB,
    PUSH_RETRY_INTERVALS_S,
    push_job_id,
    push_rate_limit,
)

logger = logging.getLogger(__name__)

STUCK_AFTER: timedelta = CLAIM_LEASE  # a claim this old has no live sender (push.py)
PUSH_RESULT_TTL_S = 86_400
_LIVE = (
    JobStatus.QUEUED,
    JobStatus.SCHEDULED,
    JobStatus.DEFERRED,
    JobStatus.STARTED,
    JobStatus.RATE_LIMITED,  # waiting for a free push slot
    JobStatus.READY_TO_ENQUEUE,
)


def _live_job(queue: Queue, job_id: str) -> bool:
    """Whether the job exists and is waiting or running; a finished/failed one is deleted so
    its id can be used again."""
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return False
    if job.get_status(refresh=False) in _LIVE:
        return True
    job.delete()
    return False


def _drop_job(queue: Queue, job_id: str) -> None:
    """Delete a job whose process died holding its delivery, so the id can be enqueued."""
    try:
        Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer).delete()
    except NoSuchJobError:
        pass


def enqueue_push_now(queue: Queue, shop: str, delivery_id: int, provider: str) -> Job:
    """Push one delivery as soon as a worker is free, with RQ's retries after that."""
    return queue.enqueue_call(
        PUSH_JOB,
        args=(shop, int(delivery_id)),
        job_id=push_job_id(shop, delivery_id),
        result_ttl=PUSH_RESULT_TTL_S,
        retry=Retry(max=len(PUSH_RETRY_INTERVALS_S), interval=PUSH_RETRY_INTERVALS_S),
        description=f"re-drive delivery {delivery_id} of {shop}",
        rate_limit=push_rate_limit(provider),
    )


def sweep_deliveries(
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    *,
    older_than: timedelta = STUCK_AFTER,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Enqueue a push for each stuck delivery of `shop` that has no live job; a summary."""
    stuck = stuck_deliveries(db, older_than, now)
    seen = {int(row["delivery_id"]) for row in stuck}
    # A claim whose process is gone on this host is stuck at once: its job, still 'started'
    # in RQ until RQ notices, will never finish it.
    orphaned = [
        row
        for row in claimed_deliveries(db)
        if int(row["delivery_id"]) not in seen and claim_holder_gone(row["claim_token"])
    ]
    redriven, waiting = [], 0
    for row in [*stuck, *orphaned]:
        delivery_id = int(row["delivery_id"])
        job_id = push_job_id(shop, delivery_id)
        if claim_holder_gone(row["claim_token"]):
            _drop_job(queue, job_id)
        elif _live_job(queue, job_id):
            waiting += 1
            continue
        enqueue_push_now(queue, shop, delivery_id, str(row["provider"]))
        redriven.append(delivery_id)
    if redriven:
        logger.warning(
            "shop %s: re-driving %d stuck deliveries %s",
            shop,
            len(redriven),
            redriven,
            extra={"shop": shop},
        )
    return {"shop": shop, "stuck": len(stuck), "redriven": redriven, "job_waiting": waiting}
