"""Claiming a delivery for one push, and finding the ones nobody will push.

A push claims its delivery first (claimed_at, claim_token: one conditional UPDATE, so two
workers cannot send the same row at once). The claim is cleared when the delivery is set to
sent, failed or parked (storage.deliveries.set_delivery_status). A claim older than the lease
belongs to a sender that died mid-push: the next claim takes it over and is told so
(`Claim.taken_over`), because the step in flight may have reached the platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from storage.clock import to_iso

SENDABLE = ("pending", "failed")


@dataclass(frozen=True)
class Claim:
    """A delivery this process may now send."""

    delivery_id: int
    token: str
    steps_done: int  # planned steps already answered by the platform
    taken_over: bool  # an earlier sender died holding it: the next step may have left


def claim_delivery(
    db: sqlite_utils.Database,
    delivery_id: int,
    token: str,
    lease: timedelta,
    now: datetime | None = None,
    holder_gone: Callable[[str], bool] | None = None,
) -> Claim | None:
    """Claim a pending/failed delivery for `token`; None when it is not sendable or another
    sender's claim is younger than `lease` and `holder_gone` (when given) does not say that
    sender is dead."""
    moment = now or datetime.now(UTC)
    stamp, expired = to_iso(moment), to_iso(moment - lease)
    with db.conn:
        row = db.conn.execute(
            "SELECT status, claimed_at, claim_token, steps_done FROM deliveries "
            "WHERE delivery_id = ?",
            (delivery_id,),
        ).fetchone()
        if row is None or row[0] not in SENDABLE:
            return None
        status, claimed_at, previous, steps_done = row
        if claimed_at is not None and claimed_at > expired:
            if holder_gone is None or not holder_gone(str(previous or "")):
                return None
        cursor = db.conn.execute(
            "UPDATE deliveries SET claimed_at = ?, claim_token = ?, updated_at = ? "
            "WHERE delivery_id = ? AND status = ? AND claim_token IS ?",
            (stamp, token, stamp, delivery_id, status, previous),
        )
        if cursor.rowcount != 1:
            return None
    return Claim(int(delivery_id), token, int(steps_done), previous is not None)


def record_steps_done(
    db: sqlite_utils.Database, delivery_id: int, token: str, steps_done: int
) -> None:
    """Store that the first `steps_done` steps were answered (only while `token` holds it)."""
    with db.conn:
        db.conn.execute(
            "UPDATE deliveries SET steps_done = ? WHERE delivery_id = ? AND claim_token = ?",
            (steps_done, delivery_id, token),
        )


def claimed_deliveries(db: sqlite_utils.Database, limit: int = 500) -> list[dict[str, Any]]:
    """Pending/failed deliveries held by a claim of any age (the sweep asks whether each
    holder is still alive). Oldest first, without payloads."""
    return list(
        db.query(
            "SELECT delivery_id, provider, status, claimed_at, claim_token, steps_done, attempts, "
            "updated_at FROM deliveries WHERE status IN ('pending', 'failed') "
            "AND claim_token IS NOT NULL ORDER BY delivery_id LIMIT ?",
            [limit],
        )
    )


def stuck_deliveries(
    db: sqlite_utils.Database, older_than: timedelta, now: datetime | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Pending/failed deliveries untouched for `older_than`: claimed by a sender that died, or
    never claimed (their job was lost). Oldest first, without payloads."""
    cutoff = to_iso((now or datetime.now(UTC)) - older_than)
    return list(
        db.query(
            "SELECT delivery_id, provider, status, claimed_at, claim_token, steps_done, attempts, "
            "updated_at FROM deliveries WHERE status IN ('pending', 'failed') "
            "AND COALESCE(claimed_at, updated_at) < ? ORDER BY delivery_id LIMIT ?",
            [cutoff, limit],
        )
    )
