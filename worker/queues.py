"""shoprec's RQ queues, and enqueueing jobs onto them by dotted path.

Every queue uses RQ's JSON serializer, not pickle (STYLE.md 7): a job's arguments must be
JSON-able ids and primitives, and Redis never holds something that runs code when loaded.
Jobs are enqueued by their dotted path ("worker.jobs.retrain_shop") so that nothing but RQ
imports worker.jobs, and the web app can enqueue without importing the training stack.
"""

from __future__ import annotations

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from storage.db import validate_shop_name
from worker.errors import UnknownQueue
from worker.redis_connection import get_redis

__all__ = [
    "QUEUE_DEFAULT",
    "QUEUE_EMAIL",
    "QUEUE_NAMES",
    "QUEUE_SYNC",
    "RETRAIN_JOB",
    "enqueue_retrain",
    "get_queue",
    "get_queues",
    "get_redis",
    "retrain_job_id",
]

QUEUE_DEFAULT = "default"  # retraining, health checks
QUEUE_SYNC = "sync"  # platform syncs and webhook receipts
QUEUE_EMAIL = "email"  # email-block renders and ESP pushes
QUEUE_NAMES: tuple[str, ...] = (QUEUE_DEFAULT, QUEUE_SYNC, QUEUE_EMAIL)

RETRAIN_JOB = "worker.jobs.retrain_shop"
RETRAIN_TIMEOUT_S = 3600  # a large shop's fit can take minutes; RQ's default 180 s is too short
RETRAIN_RESULT_TTL_S = 86_400  # keep the last report a day, for the admin page
# A retrain that is waiting or running already covers a new request for the same shop.
_PENDING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)


def get_queue(name: str, connection: redis.Redis) -> Queue:
    """One of shoprec's queues on `connection`, with the JSON serializer."""
    if name not in QUEUE_NAMES:
        raise UnknownQueue(f"queue must be one of {list(QUEUE_NAMES)}, got {name!r}")
    return Queue(name, connection=connection, serializer=JSONSerializer)


def get_queues(connection: redis.Redis, names: tuple[str, ...] = QUEUE_NAMES) -> list[Queue]:
    """The named queues (default: all of them, in priority order) on `connection`."""
    return [get_queue(name, connection) for name in names]


def retrain_job_id(shop: str) -> str:
    """The one job id a shop's retrain runs under, so repeated requests collapse."""
    return f"retrain-{validate_shop_name(shop)}"


def enqueue_retrain(queue: Queue, shop: str) -> Job:
    """Enqueue `retrain_shop(shop)` unless one is already waiting or running; return the job.

    The job id is fixed per shop. A finished or failed earlier run is replaced (its result
    or traceback is dropped) so the new request runs; a pending one is returned as it is.
    """
    job_id = retrain_job_id(shop)
    existing = _fetch(queue, job_id)
    if existing is not None:
        if existing.get_status() in _PENDING:
            return existing
        existing.delete()
    try:
        return queue.enqueue_call(
            RETRAIN_JOB,
            args=(shop,),
            job_id=job_id,
            timeout=RETRAIN_TIMEOUT_S,
            result_ttl=RETRAIN_RESULT_TTL_S,
            description=f"retrain {shop}",
            unique=True,
        )
    except DuplicateJobError:
        # Another process enqueued it between our check and our enqueue: theirs covers ours.
        job = _fetch(queue, job_id)
        if job is None:
            raise
        return job


def _fetch(queue: Queue, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return None
