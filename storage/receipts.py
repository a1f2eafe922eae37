"""The webhook inbox: every signed delivery is stored before it is processed, and kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.clock import to_iso, utc_now_iso


def dedupe_key(platform: str, delivery_id: str, body_sha256: str) -> str:
    """What makes two deliveries the same delivery, per platform (the UNIQUE column).

    - Shopify: the same X-Shopify-Webhook-Id. A retry resends the same id with the original
      payload (PLATFORMS.md 1), so the id alone is the delivery.
    - WooCommerce: the same X-WC-Webhook-Delivery-ID AND the same body. WooCommerce sets the id
      to wp_hash(webhook_id . strtotime('now')): whole seconds, so every delivery of one
      webhook within the same second carries the same id whatever its body (two orders in a
      second; one order with two stock-managed products gives two product.updated deliveries
      under one id). Dropping those as duplicates lost 35 of 63 real deliveries, and
      WooCommerce never redelivers. A different body under a repeated id is a new delivery.
    storage/schema/inbox.py computes the same key for rows stored before this rule.
    """
    if platform == "woocommerce":
        return f"woocommerce:{delivery_id}:{body_sha256}"
    return f"{platform}:{delivery_id}"


def store_receipt(
    db: sqlite_utils.Database,
    platform: str,
    topic: str,
    delivery_id: str,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[int, bool]:
    """Write a delivery to the inbox; return (receipt_id, is_new). A repeat of the same
    delivery (dedupe_key) is a no-op that returns the stored receipt's id."""
    body_sha256 = hashlib.sha256(body).hexdigest()
    key = dedupe_key(platform, delivery_id, body_sha256)
    with db.conn:
        cursor = db.conn.execute(
            "INSERT OR IGNORE INTO webhook_receipts (platform, topic, delivery_id, body_sha256, "
            "dedupe_key, headers, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                platform,
                topic,
                delivery_id,
                body_sha256,
                key,
                json.dumps(dict(headers)),
                body,
                utc_now_iso(),
            ),
        )
        is_new = cursor.rowcount == 1
        row = db.conn.execute(
            "SELECT receipt_id FROM webhook_receipts WHERE dedupe_key = ?", (key,)
        ).fetchone()
    return int(row[0]), is_new


def mark_receipt(
    db: sqlite_utils.Database, receipt_id: int, status: str, error: str | None = None
) -> None:
    """Record the outcome of processing: 'processed', or 'rejected' with the precise reason."""
    with db.conn:
        db.conn.execute(
            "UPDATE webhook_receipts SET status = ?, error = ?, processed_at = ?, "
            "next_try_at = NULL, claimed_by = NULL WHERE receipt_id = ?",
            (status, error, utc_now_iso(), receipt_id),
        )


def defer_receipt(
    db: sqlite_utils.Database, receipt_id: int, note: str, next_try_at: datetime
) -> None:
    """Leave a receipt 'pending' with why (`note`), count the try, and set when the sweep may
    dispatch it again: a receipt that waits by design is retried with a backoff, not a loop."""
    with db.conn:
        db.conn.execute(
            "UPDATE webhook_receipts SET status = 'pending', error = ?, tries = tries + 1, "
            "next_try_at = ?, claimed_by = NULL WHERE receipt_id = ?",
            (note, to_iso(next_try_at), receipt_id),
        )


def get_receipt(db: sqlite_utils.Database, receipt_id: int) -> dict[str, Any] | None:
    """One receipt with its raw body, or None."""
    rows = list(db.query("SELECT * FROM webhook_receipts WHERE receipt_id = ?", [receipt_id]))
    return rows[0] if rows else None


def list_receipts(
    db: sqlite_utils.Database, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest receipts first, optionally of one status, without bodies."""
    sql = (
        "SELECT receipt_id, platform, topic, delivery_id, received_at, status, error "
        "FROM webhook_receipts"
    )
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    return list(db.query(sql + " ORDER BY receipt_id DESC LIMIT ?", [*params, limit]))


def receipt_status(db: sqlite_utils.Database, receipt_id: int) -> str | None:
    """A receipt's status ('pending', 'processed', 'rejected'), or None when it is gone."""
    row = db.execute(
        "SELECT status FROM webhook_receipts WHERE receipt_id = ?", [receipt_id]
    ).fetchone()
    return str(row[0]) if row else None


def due_pending_receipt_ids(
    db: sqlite_utils.Database,
    *,
    received_before: datetime | None = None,
    now: datetime | None = None,
    limit: int = 10_000,
    released: Sequence[str] = (),
) -> list[int]:
    """Pending receipts, oldest first, that are due: received before `received_before` (all
    when None) and with no next try set, one at or before `now` (any when None), or claimed
    by one of the `released` claim tokens (their holder is gone)."""
    sql = "SELECT receipt_id FROM webhook_receipts WHERE status = 'pending'"
    params: list[Any] = []
    if received_before is not None:
        sql += " AND received_at < ?"
        params.append(to_iso(received_before))
    if now is not None:
        sql += f" AND (next_try_at IS NULL OR next_try_at <= ?{_released_sql(released)})"
        params.extend([to_iso(now), *released])
    rows = db.execute(sql + " ORDER BY receipt_id LIMIT ?", [*params, limit]).fetchall()
    return [int(row[0]) for row in rows]


def claim_due_receipts(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    received_before: datetime | None = None,
    claimed_by: str | None = None,
    released: Sequence[str] = (),
) -> list[int]:
    """Take up to `limit` due pending receipts, oldest first, for one batch: their next try
    moves to `lease_until`, so a concurrent batch (another worker's drain, the sweep) skips
    them and each is applied once. A batch that dies leaves them pending; they fall due
    again when the lease ends, for the sweep. One statement, so two claims never overlap."""
    due = (
        f"status = 'pending' AND (next_try_at IS NULL OR next_try_at <= ?{_released_sql(released)})"
    )
    params: list[Any] = [to_iso(lease_until), claimed_by, to_iso(now), *released]
    if received_before is not None:
        due += " AND received_at < ?"
        params.append(to_iso(received_before))
    with db.conn:
        rows = db.conn.execute(
            "UPDATE webhook_receipts SET next_try_at = ?, claimed_by = ? WHERE receipt_id IN ("
            f"SELECT receipt_id FROM webhook_receipts WHERE {due} ORDER BY receipt_id LIMIT ?"
            ") RETURNING receipt_id",
            [*params, limit],
        ).fetchall()
    return sorted(int(row[0]) for row in rows)


def _released_sql(released: Sequence[str]) -> str:
    """The OR-clause that makes receipts claimed by any of `released` due."""
    if not released:
        return ""
    return f" OR claimed_by IN ({', '.join('?' for _ in released)})"


def receipt_claim_holders(db: sqlite_utils.Database, now: datetime) -> list[str]:
    """The claim tokens holding pending receipts whose claim has not run out at `now`."""
    rows = db.execute(
        "SELECT DISTINCT claimed_by FROM webhook_receipts WHERE status = 'pending' "
        "AND claimed_by IS NOT NULL AND next_try_at > ?",
        [to_iso(now)],
    ).fetchall()
    return [str(row[0]) for row in rows]


def receipt_status_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Receipts per status (pending, processed, rejected...), for the health page."""
    return {
        str(s): int(n)
        for s, n in db.execute("SELECT status, count(*) FROM webhook_receipts GROUP BY status")
    }
