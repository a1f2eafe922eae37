"""The webhook inbox: every signed delivery is stored before it is processed, and kept."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso


def store_receipt(
    db: sqlite_utils.Database,
    platform: str,
    topic: str,
    delivery_id: str,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[int, bool]:
    """Write a delivery to the inbox; return (receipt_id, is_new). A repeat delivery is a no-op."""
    with db.conn:
        cursor = db.conn.execute(
            "INSERT OR IGNORE INTO webhook_receipts "
            "(platform, topic, delivery_id, headers, body, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (platform, topic, delivery_id, json.dumps(dict(headers)), body, utc_now_iso()),
        )
        is_new = cursor.rowcount == 1
        row = db.conn.execute(
            "SELECT receipt_id FROM webhook_receipts WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
    return int(row[0]), is_new


def mark_receipt(
    db: sqlite_utils.Database, receipt_id: int, status: str, error: str | None = None
) -> None:
    """Record the outcome of processing: 'processed', or 'rejected' with the precise reason."""
    with db.conn:
        db.conn.execute(
            "UPDATE webhook_receipts SET status = ?, error = ?, processed_at = ? "
            "WHERE receipt_id = ?",
            (status, error, utc_now_iso(), receipt_id),
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
