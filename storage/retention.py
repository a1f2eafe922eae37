"""How long raw storefront events are kept, and the deletion of older ones in small batches.

Events (views, add-to-carts, impressions, clicks, dismissals) are the most personal rows the
store holds about an anonymous shopper and they grow without bound, so each shop keeps them for
a period (the shop setting `event_retention_months`, 13 by default: a year plus a month, so a
year-on-year comparison still has its month). Older ones are deleted by worker.retention in
batches of primary keys, each its own short transaction, so storefront beacons and the admin
wait at most one batch for the write lock. Orders and order lines are not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils
from dateutil.relativedelta import relativedelta

from storage.errors import RetentionSettingError
from storage.shop_settings import get_shop_setting

RETENTION_SETTING = "event_retention_months"
DEFAULT_RETENTION_MONTHS = 13
RETENTION_MONTHS_RANGE = (1, 120)
PURGE_BATCH_SIZE = 1000  # ~50 ms per write transaction on a 1M-event store (bench)


@dataclass(frozen=True)
class EventPurge:
    """One run of the retention job."""

    started_at: str
    finished_at: str
    retention_months: int
    cutoff: str
    events_removed: int


def check_retention_months(value: Any) -> int:
    """A retention period in whole months within RETENTION_MONTHS_RANGE, else
    RetentionSettingError naming the key, the rule and the value."""
    low, high = RETENTION_MONTHS_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RetentionSettingError(
            f"{RETENTION_SETTING} must be whole months from {low} to {high}, got {value!r}"
        )
    return value


def retention_months(db: sqlite_utils.Database) -> int:
    """The shop's period (unset: the default). A stored invalid value raises: deleting events
    on a guess would lose data the owner meant to keep, so the job fails loudly instead."""
    value = get_shop_setting(db, RETENTION_SETTING, None)
    return DEFAULT_RETENTION_MONTHS if value is None else check_retention_months(value)


def retention_cutoff(now: datetime, months: int) -> datetime:
    """The instant `months` calendar months before `now` (31 March - 1 month = 28/29 Feb)."""
    return now - relativedelta(months=months)


def delete_events_before(db: sqlite_utils.Database, cutoff: str, limit: int) -> int:
    """Delete at most `limit` events with ts < cutoff (oldest first, through events_ts), in one
    short transaction; return how many went."""
    with db.conn:
        return db.conn.execute(
            "DELETE FROM events WHERE event_id IN "
            "(SELECT event_id FROM events WHERE ts < ? ORDER BY ts LIMIT ?)",
            (cutoff, int(limit)),
        ).rowcount


def oldest_event_ts(db: sqlite_utils.Database) -> str | None:
    """The timestamp of the oldest event kept (None: no events)."""
    row = db.execute("SELECT min(ts) FROM events").fetchone()
    return row[0] if row else None


def record_event_purge(db: sqlite_utils.Database, purge: EventPurge) -> None:
    """Store one run of the retention job."""
    with db.conn:
        db.conn.execute(
            "INSERT INTO event_purges (started_at, finished_at, retention_months, cutoff, "
            "events_removed) VALUES (?, ?, ?, ?, ?)",
            (
                purge.started_at,
                purge.finished_at,
                purge.retention_months,
                purge.cutoff,
                purge.events_removed,
            ),
        )


def last_event_purge(db: sqlite_utils.Database) -> EventPurge | None:
    """The latest run of the retention job, or None when it never ran."""
    row = db.execute(
        "SELECT started_at, finished_at, retention_months, cutoff, events_removed "
        "FROM event_purges ORDER BY purge_id DESC LIMIT 1"
    ).fetchone()
    return EventPurge(*row) if row else None
