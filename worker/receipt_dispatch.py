"""Handing stored webhook receipts to RQ: a receipt's job has a deterministic id, and a job
waiting for a shop covers every receipt stored before it starts.

The receipt row is the source of truth (a transactional outbox): a job only says "apply the
shop's due receipts now" (worker.receipt_batch drains them all, so one job per burst, not
per receipt). A job may be lost (Redis restarted, flushed, or the enqueue failed) without
losing a delivery, as long as something dispatches a pending receipt again when no live job
holds it: a platform retry of the same delivery (plugin/webhooks.py), the periodic sweep and
the worker start-up (worker.receipt_sweep).

Which job holds a receipt: its own (receipt_job_id) while that is live, or the shop's waiting
job, named by the Redis key waiting_job_key(shop). "Waiting" means status queued: such a job
has not read the inbox yet, so it will see a receipt committed before we looked. A job that
has started may already have read past it, so a new job is enqueued instead.
"""

from __future__ import annotations

import redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from storage.db import validate_shop_name

RECEIPT_JOB = "worker.jobs.process_receipt_job"
RECEIPT_RESULT_TTL_S = 3600
# A job that raises (store locked, disk full) is tried again; a payload error never raises.
RECEIPT_RETRY = Retry(max=3, interval=[10, 60, 300])
# A job in any other state (queued, scheduled, started, deferred, ...) will still run or is
# running: dispatching the receipt again would only race it.
_ENDED = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})
WAITING_KEY_TTL_S = 86_400  # a hint only: a stale or missing key just means one more job


def receipt_job_id(shop: str, receipt_id: int) -> str:
    """The job id of one receipt's processing; RQ ids allow no '.', so dots become '_'."""
    return f"receipt-{validate_shop_name(shop).replace('.', '_')}-{int(receipt_id)}"


def waiting_job_key(shop: str) -> str:
    """The Redis key naming the shop's most recently enqueued receipt job."""
    return f"shoprec:{validate_shop_name(shop)}:receipts-job"


def _job_status(queue: Queue, job_id: str) -> tuple[Job, JobStatus] | None:
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        return job, job.get_status()
    except (NoSuchJobError, InvalidJobOperation):
        return None


def live_receipt_job(queue: Queue, shop: str, receipt_id: int) -> Job | None:
    """The receipt's own job if it is still to run or running; None when absent or ended."""
    found = _job_status(queue, receipt_job_id(shop, receipt_id))
    return None if found is None or found[1] in _ENDED else found[0]


def waiting_shop_job(queue: Queue, shop: str) -> Job | None:
    """The shop's receipt job that is queued and has not started, if any."""
    job_id = queue.connection.get(waiting_job_key(shop))
    if not job_id:
        return None
    found = _job_status(queue, job_id.decode() if isinstance(job_id, bytes) else str(job_id))
    return found[0] if found is not None and found[1] == JobStatus.QUEUED else None


def dispatch_receipt(queue: Queue, shop: str, receipt_id: int) -> tuple[Job, bool]:
    """Make sure a job will apply receipt `receipt_id`, which the caller has committed:
    return (job, enqueued). A live job of its own or the shop's waiting job is enough;
    otherwise the receipt's job is enqueued and becomes the shop's waiting job."""
    held = live_receipt_job(queue, shop, receipt_id) or waiting_shop_job(queue, shop)
    if held is not None:
        return held, False
    job = enqueue_receipt(queue, shop, receipt_id)
    try:
        queue.connection.set(waiting_job_key(shop), job.id, ex=WAITING_KEY_TTL_S)
    except redis.RedisError:
        pass  # the job is queued; without the hint the next receipt just enqueues its own
    return job, True


def enqueue_receipt(queue: Queue, shop: str, receipt_id: int) -> Job:
    """Enqueue process_receipt_job(shop, receipt_id) unless a live job already holds it;
    return that job. An ended job of the same id (finished, failed) is replaced: the caller
    saw the receipt still pending, so that run did not settle it (or the shop was recreated
    and its receipt ids restarted)."""
    job_id = receipt_job_id(shop, receipt_id)
    for _ in range(3):
        try:
            return queue.enqueue_call(
                RECEIPT_JOB,
                args=(shop, int(receipt_id)),
                job_id=job_id,
                result_ttl=RECEIPT_RESULT_TTL_S,
                description=f"webhook receipt {receipt_id} of {shop}",
                unique=True,
                retry=RECEIPT_RETRY,
            )
        except DuplicateJobError:
            live = live_receipt_job(queue, shop, receipt_id)
            if live is not None:
                return live
            try:
                Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer).delete()
            except NoSuchJobError:
                pass
    # Someone keeps recreating it: whatever it is now, it is the receipt's job.
    return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)


def ensure_waiting_job(queue: Queue, shop: str, receipt_ids: list[int]) -> bool:
    """Make sure the shop has a queued receipt job, which will drain every due receipt;
    return whether one was enqueued. The job is named after the first listed receipt that
    has no live job of its own (a started job may have read the inbox already)."""
    if waiting_shop_job(queue, shop) is not None:
        return False
    for receipt_id in receipt_ids:
        if live_receipt_job(queue, shop, receipt_id) is None:
            job = enqueue_receipt(queue, shop, receipt_id)
            queue.connection.set(waiting_job_key(shop), job.id, ex=WAITING_KEY_TTL_S)
            return True
    return False
