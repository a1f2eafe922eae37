"""Periodic jobs per shop, owned by shoprec: the registry and the chains that run them.

To add one, append a line to PERIODIC_JOBS: the dotted path of a job taking `(shop)`, how
often (and the setting, in minutes, that overrides it), the queue, and whether a starting
worker runs it once at once:

    PeriodicJob("worker.jobs.sweep_pending_receipts_job", timedelta(minutes=5), QUEUE_SYNC),

How they run: RQ's own scheduler (RQ 3.0's cron scheduler is a separate process that
deserializes with pickle only, so not for JSON queues). Each (job, shop) is a chain of
`enqueue_at` jobs, one per time slot (slot = floor(epoch / interval)), id
`every-<job>-<shop>-<slot>` enqueued with unique=True: a tick first schedules the next
slot, then runs the job. Ids come from the clock, so two workers starting at once, a
restart, or a chain healed twice all name the same next job and never double a chain; a
worker that was down for hours resumes at the next slot (no catch-up burst).
`ensure_chains` (worker start-up, then every CHAIN_CHECK_INTERVAL from the worker's
maintenance) starts the chain of any shop that has none: new shops, or a Redis that lost
its data. A tick carries the interval its slot was counted in: after the operator changes
the interval, the next tick counts slots in the new one instead of carrying the old count.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import import_attribute

from config import Settings
from storage.db import list_shops, shop_exists, validate_shop_name
from storage.errors import InvalidShopName
from worker.queues import QUEUE_DEFAULT, QUEUE_EMAIL, QUEUE_SYNC, get_queue

logger = logging.getLogger(__name__)

TICK_JOB = "worker.jobs.periodic_tick"
CHAIN_CHECK_INTERVAL = timedelta(minutes=5)
TICK_RESULT_TTL_S = 3600
_LIVE = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every `every` for each shop: `job(shop)` on `queue`."""

    job: str  # dotted path of a function taking the shop name
    every: timedelta
    queue: str = QUEUE_DEFAULT
    at_start: bool = True  # also run once when a worker starts
    every_setting: str = ""  # a Settings field in minutes that overrides `every`

    @property
    def short_name(self) -> str:
        return self.job.rsplit(".", 1)[-1]

    def interval(self, settings: Settings | None = None) -> timedelta:
        """How often it runs under `settings` (its setting when it has one, else `every`)."""
        if settings is not None and self.every_setting:
            return timedelta(minutes=float(getattr(settings, self.every_setting)))
        return self.every


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("worker.jobs.sweep_deliveries_job", timedelta(minutes=5), QUEUE_EMAIL),
    PeriodicJob("worker.jobs.sweep_pending_receipts_job", timedelta(minutes=1), QUEUE_SYNC),
    PeriodicJob("worker.jobs.purge_old_events_job", timedelta(days=1), at_start=False),
    # Catches what a connected shop's webhooks missed (one sync job per shop and platform).
    PeriodicJob(
        "worker.jobs.sync_connected_job",
        timedelta(minutes=15),
        QUEUE_SYNC,
        at_start=False,
        every_setting="sync_interval_minutes",
    ),
    # Keeps models fresh without anyone running `shoprec train` (worker/retrain_due.py).
    PeriodicJob(
        "worker.jobs.retrain_if_due_job",
        timedelta(minutes=15),
        QUEUE_DEFAULT,
        at_start=False,
        every_setting="retrain_check_minutes",
    ),
    # Automatic experiments: the split follows revenue per session (worker/reallocation.py).
    PeriodicJob(
        "worker.jobs.reallocate_experiments_job", timedelta(hours=1), QUEUE_DEFAULT, at_start=False
    ),
)


def periodic_job(job: str) -> PeriodicJob | None:
    """The registry entry for a dotted path (None once it was removed from the registry)."""
    return next((p for p in PERIODIC_JOBS if p.job == job), None)


def _shop_id(shop: str) -> str:
    return validate_shop_name(shop).replace(".", "_")  # RQ ids allow no '.'


def slot_of(moment: datetime, every: timedelta) -> int:
    """The time slot `moment` falls in."""
    return math.floor(moment.timestamp() / every.total_seconds())


def chain_job_id(periodic: PeriodicJob, shop: str, slot: int) -> str:
    """The tick's id. After an interval change the new slot numbers lie away from the old
    ones (slot = epoch / interval); should one still meet a kept tick, that scheduling is
    skipped and the chain check (ensure_chains) starts the chain again."""
    return f"every-{periodic.short_name}-{_shop_id(shop)}-{slot}"


def _head_key(periodic: PeriodicJob, shop: str) -> str:
    """Redis key naming the chain's latest scheduled job (so a check reads one job)."""
    return f"shoprec:chain:{periodic.short_name}:{_shop_id(shop)}"


def last_run_key(periodic: PeriodicJob, shop: str) -> str:
    """Redis key holding when the chain's latest tick finished its job (ISO time, UTC)."""
    return f"shoprec:lastrun:{periodic.short_name}:{_shop_id(shop)}"


def reply_text(value: object) -> str:
    """A Redis reply as text: bytes from a client without decode_responses, else as is."""
    return value.decode() if isinstance(value, bytes) else str(value)


def chain_head(connection: redis.Redis, periodic: PeriodicJob, shop: str) -> str | None:
    """Id of the chain's latest scheduled tick, or None when the chain was never started."""
    head = connection.get(_head_key(periodic, shop))
    return reply_text(head) if head else None


def schedule_slot(
    connection: redis.Redis,
    periodic: PeriodicJob,
    shop: str,
    slot: int,
    settings: Settings | None = None,
) -> bool:
    """Schedule the chain's tick for `slot` (at the slot's start); False if it exists."""
    queue = get_queue(periodic.queue, connection)
    every = periodic.interval(settings)
    seconds = every.total_seconds()
    job_id = chain_job_id(periodic, shop, slot)
    at = datetime.fromtimestamp(slot * seconds, UTC)
    try:
        queue.enqueue_at(
            at,
            TICK_JOB,
            periodic.job,
            shop,
            slot,
            seconds,
            job_id=job_id,
            unique=True,
            result_ttl=TICK_RESULT_TTL_S,
            failure_ttl=TICK_RESULT_TTL_S * 24,
            description=f"{periodic.short_name} {shop} (every {every})",
        )
    except DuplicateJobError:
        return False
    connection.set(_head_key(periodic, shop), job_id)
    return True


def _chain_alive(connection: redis.Redis, periodic: PeriodicJob, shop: str) -> bool:
    head = connection.get(_head_key(periodic, shop))
    if not head:
        return False
    try:
        job = Job.fetch(reply_text(head), connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in _LIVE


def ensure_chain(
    connection: redis.Redis,
    periodic: PeriodicJob,
    shop: str,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> bool:
    """Start the shop's chain at the next slot unless it has a waiting or running tick;
    True when one was scheduled."""
    if _chain_alive(connection, periodic, shop):
        return False
    next_slot = slot_of(now or datetime.now(UTC), periodic.interval(settings)) + 1
    return schedule_slot(connection, periodic, shop, next_slot, settings)


def run_once_now(connection: redis.Redis, periodic: PeriodicJob, shop: str) -> bool:
    """Enqueue one run of the job now (a worker's start-up sweep), unless one is waiting."""
    queue = get_queue(periodic.queue, connection)
    job_id = f"start-{periodic.short_name}-{_shop_id(shop)}"
    try:
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        if job.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.DEFERRED):
            return False
        if job.get_status(refresh=False) is not JobStatus.STARTED:
            job.delete()
    except NoSuchJobError:
        pass
    queue.enqueue_call(
        periodic.job,
        args=(shop,),
        job_id=job_id,
        result_ttl=TICK_RESULT_TTL_S,
        description=f"{periodic.short_name} {shop} (worker start-up)",
    )
    return True


def ensure_chains(
    data_dir: Path,
    connection: redis.Redis,
    *,
    at_start: bool = False,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Every shop's chains (and, at a worker's start, one run now of each `at_start` job)."""
    started = ran = 0
    for shop in list_shops(data_dir):
        try:
            validate_shop_name(shop)
        except InvalidShopName:
            logger.warning(
                "folder %r under %s is not a shop name: no periodic jobs", shop, data_dir
            )
            continue
        for periodic in PERIODIC_JOBS:
            started += ensure_chain(connection, periodic, shop, settings=settings)
            if at_start and periodic.at_start:
                ran += run_once_now(connection, periodic, shop)
    if started or ran:
        logger.info("periodic jobs: %d chains started, %d start-up runs queued", started, ran)
    return {"chains_started": started, "startup_runs": ran}


def chain_keeper(data_dir: Path, settings: Settings | None = None) -> Callable[[redis.Redis], None]:
    """A worker-maintenance hook running ensure_chains at most every CHAIN_CHECK_INTERVAL."""
    last = [time.monotonic()]

    def keep(connection: redis.Redis) -> None:
        if time.monotonic() - last[0] >= CHAIN_CHECK_INTERVAL.total_seconds():
            last[0] = time.monotonic()
            ensure_chains(data_dir, connection, settings=settings)

    return keep


def run_tick(
    connection: redis.Redis,
    data_dir: Path,
    job: str,
    shop: str,
    slot: int,
    now: datetime | None = None,
    *,
    slot_seconds: float | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """One tick: schedule the next slot first (a crash in the job keeps the chain), then run
    the job. A job no longer registered, or a shop deleted, ends its chain here. The next slot
    is after both this tick's and the clock's (a late tick does not run twice to catch up).

    slot_seconds: the interval `slot` was counted in (None: ticks scheduled before ticks
    carried it, counted in the built-in interval); another interval than today's counts
    from the clock alone."""
    periodic = periodic_job(job)
    if periodic is None or not shop_exists(data_dir, shop):
        return {"job": job, "shop": shop, "chain": "ended"}
    every = periodic.interval(settings)
    counted_in = periodic.every.total_seconds() if slot_seconds is None else float(slot_seconds)
    clock_slot = slot_of(now or datetime.now(UTC), every)
    current = max(int(slot), clock_slot) if counted_in == every.total_seconds() else clock_slot
    schedule_slot(connection, periodic, shop, current + 1, settings)
    result = import_attribute(periodic.job)(shop)
    connection.set(last_run_key(periodic, shop), datetime.now(UTC).isoformat())
    return {"job": job, "shop": shop, "result": result}
