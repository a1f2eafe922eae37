"""Campaign timers: one row per (campaign, shopper, window), the lock behind idempotency.

`claim_timer` inserts with INSERT OR IGNORE on the UNIQUE (campaign, customer_id, window_key):
whoever inserts the row owns the timer and enqueues its job; a replayed webhook or a second
worker finds the row and does nothing. `start_firing` flips scheduled -> fired in one UPDATE,
so of two runs of the same timer only one goes on to build and push a block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso
from storage.errors import InvalidValue

TIMER_STATUSES = ("scheduled", "cancelled", "fired", "skipped")


@dataclass(frozen=True)
class TimerClaim:
    """The timer row for a window, and whether this call created it."""

    timer: dict[str, Any]
    created: bool


def claim_timer(
    db: sqlite_utils.Database,
    *,
    campaign: str,
    customer_id: str,
    window_key: str,
    anchor_id: str | None,
    since: str,
    due_at: str,
) -> TimerClaim:
    """Create the (campaign, customer, window) timer unless it exists; return the row."""
    now = utc_now_iso()
    with db.conn:
        cursor = db.conn.execute(
            "INSERT OR IGNORE INTO campaign_timers (campaign, customer_id, window_key, anchor_id, "
            "since, due_at, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)",
            (campaign, customer_id, window_key, anchor_id, since, due_at, now, now),
        )
        created = cursor.rowcount == 1
    timer = find_timer(db, campaign, customer_id, window_key)
    if timer is None:  # pragma: no cover - the row was just inserted or already there
        raise LookupError(f"timer {campaign}/{customer_id}/{window_key} vanished")
    return TimerClaim(timer, created)


def find_timer(
    db: sqlite_utils.Database, campaign: str, customer_id: str, window_key: str
) -> dict[str, Any] | None:
    """The timer of one (campaign, customer, window), or None."""
    rows = list(
        db.query(
            "SELECT * FROM campaign_timers WHERE campaign = ? AND customer_id = ? "
            "AND window_key = ?",
            [campaign, customer_id, window_key],
        )
    )
    return rows[0] if rows else None


def get_timer(db: sqlite_utils.Database, timer_id: int) -> dict[str, Any] | None:
    """One timer by id, or None."""
    rows = list(db.query("SELECT * FROM campaign_timers WHERE timer_id = ?", [timer_id]))
    return rows[0] if rows else None


def set_timer_job(db: sqlite_utils.Database, timer_id: int, rq_job_id: str) -> None:
    """Remember the RQ job that fires the timer (so a cancel can remove it)."""
    with db.conn:
        db.conn.execute(
            "UPDATE campaign_timers SET rq_job_id = ?, updated_at = ? WHERE timer_id = ?",
            (rq_job_id, utc_now_iso(), timer_id),
        )


def pending_timers(
    db: sqlite_utils.Database, customer_id: str, campaigns: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The shopper's still-scheduled timers of the given campaigns."""
    marks = ", ".join("?" for _ in campaigns)
    return list(
        db.query(
            f"SELECT * FROM campaign_timers WHERE customer_id = ? AND status = 'scheduled' "
            f"AND campaign IN ({marks}) ORDER BY timer_id",
            [customer_id, *campaigns],
        )
    )


def finish_timer(
    db: sqlite_utils.Database, timer_id: int, status: str, reason: str | None = None
) -> bool:
    """Move a scheduled timer to cancelled/skipped/fired; False if it was no longer scheduled."""
    if status not in TIMER_STATUSES or status == "scheduled":
        raise InvalidValue(f"status must be one of {list(TIMER_STATUSES[1:])}, got {status!r}")
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE campaign_timers SET status = ?, reason = ?, updated_at = ? "
            "WHERE timer_id = ? AND status = 'scheduled'",
            (status, reason, utc_now_iso(), timer_id),
        )
    return cursor.rowcount == 1


@contextmanager
def firing(db: sqlite_utils.Database, timer_id: int) -> Iterator[dict[str, Any] | None]:
    """Claim a scheduled timer (scheduled -> fired) in one transaction held for the block.

    Yields the claimed row, or None when the timer was not scheduled (already fired, skipped,
    cancelled, or claimed by another run, which waits on the write lock and then finds it
    fired). What the block writes through the `*_in` functions commits with the claim; an
    exception rolls both back, so a failed build leaves the timer scheduled for a retry.
    """
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        cursor = conn.execute(
            "UPDATE campaign_timers SET status = 'fired', updated_at = ? "
            "WHERE timer_id = ? AND status = 'scheduled'",
            (utc_now_iso(), timer_id),
        )
        yield get_timer(db, timer_id) if cursor.rowcount == 1 else None
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def skip_fired_timer_in(db: sqlite_utils.Database, timer_id: int, reason: str) -> None:
    """Inside `firing`: the re-check failed, so the timer is skipped with the reason."""
    db.conn.execute(
        "UPDATE campaign_timers SET status = 'skipped', reason = ?, updated_at = ? "
        "WHERE timer_id = ?",
        (reason, utc_now_iso(), timer_id),
    )


def timer_counts(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    """{campaign: {status: count}} for `shoprec campaigns status`."""
    counts: dict[str, dict[str, int]] = {}
    for campaign, status, n in db.execute(
        "SELECT campaign, status, count(*) FROM campaign_timers GROUP BY campaign, status"
    ):
        counts.setdefault(campaign, {})[status] = n
    return counts


def next_due(db: sqlite_utils.Database, limit: int = 10) -> list[dict[str, Any]]:
    """The earliest still-scheduled timers."""
    return list(
        db.query(
            "SELECT * FROM campaign_timers WHERE status = 'scheduled' ORDER BY due_at LIMIT ?",
            [limit],
        )
    )


def any_scheduled_timer(db: sqlite_utils.Database, customer_ids: list[str]) -> bool:
    """Whether any of these shoppers has a timer still scheduled."""
    if not customer_ids:
        return False
    marks = ", ".join("?" for _ in customer_ids)
    row = db.execute(
        f"SELECT 1 FROM campaign_timers WHERE status = 'scheduled' AND customer_id IN ({marks}) "
        "LIMIT 1",
        customer_ids,
    ).fetchone()
    return row is not None
