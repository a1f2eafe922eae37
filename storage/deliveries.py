"""Outbound pushes to email platforms: one `deliveries` row per push, every try recorded.

The UNIQUE idempotency_key is what makes "nothing is sent twice" hold across job retries,
replays and two workers: `create_delivery` returns the existing row for a known key, and a
row already 'sent' is never sent again. Statuses: pending (not sent yet), sent, failed
(retryable failure; a later job retry may still send it), parked (given up: a permanent
4xx or retries exhausted; shown in the admin with its reason). A pending or failed row
being pushed carries a claim (storage.delivery_claims) and shows as 'sending'.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso
from storage.errors import InvalidValue

DELIVERY_STATUSES = ("pending", "sent", "failed", "parked")
ERROR_CHARS = 2000  # first 2 KB of an error body, as STYLE.md asks


@dataclass(frozen=True)
class AttemptRecord:
    """One HTTP try of a delivery (mirrors connectors.http_client.Attempt; storage stays
    free of connector imports)."""

    number: int
    status_code: int | None
    duration_ms: float
    error: str | None
    waited_s: float = 0.0


def create_delivery(db: sqlite_utils.Database, **fields: Any) -> tuple[dict[str, Any], bool]:
    """`create_delivery_in` (same keyword fields) in a transaction of its own; (row, created)."""
    with db.conn:
        return create_delivery_in(db, **fields)


def create_delivery_in(
    db: sqlite_utils.Database,
    *,
    idempotency_key: str,
    provider: str,
    campaign: str,
    customer_id: str | None,
    timer_id: int | None,
    summary: dict[str, Any],
    payload: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """`create_delivery` inside the caller's transaction (campaign_timers.firing)."""
    now = utc_now_iso()
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO deliveries (timer_id, provider, campaign, customer_id, "
        "idempotency_key, status, summary, payload, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
        (
            timer_id,
            provider,
            campaign,
            customer_id,
            idempotency_key,
            json.dumps(summary, sort_keys=True),
            json.dumps(payload, sort_keys=True),
            now,
            now,
        ),
    )
    rows = list(db.query("SELECT * FROM deliveries WHERE idempotency_key = ?", [idempotency_key]))
    return rows[0], cursor.rowcount == 1


def get_delivery(db: sqlite_utils.Database, delivery_id: int) -> dict[str, Any] | None:
    """One delivery by id, or None."""
    rows = list(db.query("SELECT * FROM deliveries WHERE delivery_id = ?", [delivery_id]))
    return rows[0] if rows else None


def _insert_attempt(
    conn: sqlite3.Connection, delivery_id: int, attempt: AttemptRecord, now: str
) -> None:
    conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, number, status_code, duration_ms, error, "
        "waited_s, attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            delivery_id,
            attempt.number,
            attempt.status_code,
            round(attempt.duration_ms, 3),
            attempt.error[:ERROR_CHARS] if attempt.error else None,
            attempt.waited_s,
            now,
        ),
    )
    conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_status_code = ?, updated_at = ? "
        "WHERE delivery_id = ?",
        (attempt.status_code, now, delivery_id),
    )


def record_attempt(db: sqlite_utils.Database, delivery_id: int, attempt: AttemptRecord) -> None:
    """Store one try and bump the delivery's attempt count and last status code."""
    with db.conn:
        _insert_attempt(db.conn, delivery_id, attempt, utc_now_iso())


def set_delivery_status(
    db: sqlite_utils.Database,
    delivery_id: int,
    status: str,
    error: str | None = None,
    attempts: Sequence[AttemptRecord] = (),
) -> None:
    """Move a delivery to `status` (keeping the first 2 KB of the reason), storing the tries
    not yet recorded in the same transaction."""
    if status not in DELIVERY_STATUSES:
        raise InvalidValue(f"status must be one of {list(DELIVERY_STATUSES)}, got {status!r}")
    now = utc_now_iso()
    with db.conn:
        for attempt in attempts:
            _insert_attempt(db.conn, delivery_id, attempt, now)
        db.conn.execute(
            "UPDATE deliveries SET status = ?, error = ?, updated_at = ?, "
            "claimed_at = NULL, claim_token = NULL, "
            # A sent payload (email address, name, block) is not kept: the summary says what
            # was sent. A parked one stays for the admin to inspect and replay.
            "payload = CASE WHEN ? = 'sent' THEN '{}' ELSE payload END WHERE delivery_id = ?",
            (status, error[:ERROR_CHARS] if error else None, now, status, delivery_id),
        )


def list_attempts(db: sqlite_utils.Database, delivery_id: int) -> list[dict[str, Any]]:
    """Every try of a delivery, oldest first."""
    return list(
        db.query(
            "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt_id",
            [delivery_id],
        )
    )


def list_deliveries(
    db: sqlite_utils.Database, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Deliveries (optionally of one status), newest first, without their payloads."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return list(
        db.query(
            "SELECT delivery_id, timer_id, provider, campaign, customer_id, idempotency_key, "
            "status, attempts, last_status_code, error, summary, created_at, updated_at "
            f"FROM deliveries {where} ORDER BY delivery_id DESC LIMIT ?",
            [*params, limit],
        )
    )


def delivery_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """{status: count} of every delivery; a pending or failed one being sent counts as
    'sending' (claimed: see storage.delivery_claims)."""
    rows = db.execute(
        "SELECT CASE WHEN claimed_at IS NOT NULL AND status IN ('pending', 'failed') "
        "THEN 'sending' ELSE status END AS shown, count(*) FROM deliveries GROUP BY shown"
    )
    return {s: n for s, n in rows}


def erase_campaign_data(db: sqlite_utils.Database, customer_ids: Sequence[str]) -> int:
    """Delete a redacted customer's timers and deliveries (attempts go with them); return
    the rows deleted. For storage.redaction: payloads hold the email address."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return 0
    marks = ", ".join("?" for _ in ids)
    with db.conn:
        deleted = db.conn.execute(
            f"DELETE FROM deliveries WHERE customer_id IN ({marks})", ids
        ).rowcount
        deleted += db.conn.execute(
            f"DELETE FROM campaign_timers WHERE customer_id IN ({marks})", ids
        ).rowcount
    return int(deleted)
