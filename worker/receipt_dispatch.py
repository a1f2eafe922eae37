"""Handing a stored webhook receipt to RQ: one deterministic job per receipt, never two live.

The receipt row is the source of truth (a transactional outbox): a job only says "apply
receipt N of shop S now". So a job may be lost (Redis restarted, flushed, or the enqueue
failed) without losing the delivery, as long as something dispatches a pending receipt again
when no live job holds it: a platform retry of the same delivery (plugin/webhooks.py), the
periodic sweep and the worker start-up (worker.receipt_sweep).
"""

from __future__ import annotations

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
_ENDED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def receipt_job_id(shop: str, receipt_id: int) -> str:
    """The job id of one receipt's processing; RQ ids allow no '.', so dots become '_'."""
    return f"receipt-{validate_shop_name(shop).replace('.', '_')}-{int(receipt_id)}"


def live_receipt_job(queue: Queue, shop: str, receipt_id: int) -> Job | None:
    """The receipt's job if it is still to run or running; None when absent or ended."""
    try:
        job = Job.fetch(
            receipt_job_id(shop, receipt_id),
            connection=queue.connection,
            serializer=queue.serializer,
        )
        status = job.get_status()
    except (NoSuchJobError, InvalidJobOperation):
        return None
    return None if status in _ENDED else job


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
    raise DuplicateJobError(f"job {job_id} kept reappearing while enqueueing")
