"""The retention job: delete raw storefront events older than the shop's retention period.

Run per shop by worker.jobs.purge_old_events_job (from the periodic scheduler) and by
`shoprec privacy purge-events`. Deletion goes in batches (storage.retention), each its own
short write transaction, and rests between batches as long as the batch took, so a beacon
waiting on SQLite's busy handler finds the lock free at its next retry (1M events, half
purged: beacon inserts p99 64 ms with the rest, 114 ms without; bench/retention_purge.py).
Every run is recorded, with how many events it removed, for the admin's privacy page.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import sqlite_utils

from storage.checkouts import delete_checkouts_before
from storage.clock import to_iso, utc_now_iso
from storage.retention import (
    PURGE_BATCH_SIZE,
    EventPurge,
    delete_events_before,
    oldest_event_ts,
    record_event_purge,
    retention_cutoff,
    retention_months,
)

logger = logging.getLogger(__name__)

# A job's time budget: RQ kills a job after its timeout (180 s by default) and a killed run
# is not recorded, so the job stops well before and the next run goes on from there.
PURGE_JOB_BUDGET_S = 120.0


def purge_old_events(
    db: sqlite_utils.Database,
    *,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
    rest_share: float = 1.0,
    max_seconds: float | None = None,
) -> EventPurge:
    """Delete every event with ts before now minus the shop's retention period; record and
    return the run. An invalid stored period raises RetentionSettingError before anything
    is deleted. `rest_share`: the rest after each full batch, as a share of its duration.
    `max_seconds`: stop after the batch that passes this budget (a job stays inside its RQ
    timeout); what is left goes at the next run, and `events_left_before` tells."""
    months = retention_months(db)
    clock = time.monotonic()
    started = now or datetime.now(UTC)
    cutoff = to_iso(retention_cutoff(started, months))
    removed = 0
    while True:
        batch_started = time.monotonic()
        batch = delete_events_before(db, cutoff, batch_size)
        removed += batch
        if batch < batch_size:
            break
        if max_seconds is not None and time.monotonic() - clock > max_seconds:
            logger.info("event purge stopped after %.0f s; the next run continues", max_seconds)
            break
        time.sleep((time.monotonic() - batch_started) * rest_share)
    # Checkout links (order -> visitor) are as old as the events they complete; few per day.
    while delete_checkouts_before(db, cutoff, batch_size) == batch_size:
        pass
    purge = EventPurge(
        started_at=to_iso(started),
        finished_at=utc_now_iso() if now is None else to_iso(started),
        retention_months=months,
        cutoff=cutoff,
        events_removed=removed,
    )
    record_event_purge(db, purge)
    logger.info("events before %s purged: %d (%d months kept)", cutoff, removed, months)
    return purge


def events_left_before(db: sqlite_utils.Database, cutoff: str) -> bool:
    """Whether events older than `cutoff` remain (a run stopped by its time budget)."""
    oldest = oldest_event_ts(db)
    return oldest is not None and oldest < cutoff
