"""The retention job: delete raw storefront events older than the shop's retention period.

Run per shop by worker.jobs.purge_old_events_job (from the periodic scheduler) and by
`shoprec privacy purge-events`. Deletion goes in batches (storage.retention), each its own
short write transaction, so the storefront's event beacons are never held up for long; every
run is recorded, with how many events it removed, for the admin's privacy page.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlite_utils

from storage.clock import to_iso, utc_now_iso
from storage.retention import (
    PURGE_BATCH_SIZE,
    EventPurge,
    delete_events_before,
    record_event_purge,
    retention_cutoff,
    retention_months,
)

logger = logging.getLogger(__name__)


def purge_old_events(
    db: sqlite_utils.Database,
    *,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
) -> EventPurge:
    """Delete every event with ts before now minus the shop's retention period; record and
    return the run. An invalid stored period raises RetentionSettingError before anything
    is deleted."""
    months = retention_months(db)
    started = now or datetime.now(UTC)
    cutoff = to_iso(retention_cutoff(started, months))
    removed = 0
    while True:
        batch = delete_events_before(db, cutoff, batch_size)
        removed += batch
        if batch < batch_size:
            break
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
