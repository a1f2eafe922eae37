"""Where each connector's backfill/sync stands, so a crash resumes from the last cursor."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso


def get_sync_state(db: sqlite_utils.Database, resource: str) -> dict[str, Any] | None:
    """The stored state of one resource ('shopify:orders'), or None."""
    rows = list(db.query("SELECT * FROM sync_state WHERE resource = ?", [resource]))
    return rows[0] if rows else None


def save_sync_state(
    db: sqlite_utils.Database,
    resource: str,
    *,
    cursor: str | None = None,
    last_synced_at: str | None = None,
    status: str = "idle",
    error: str | None = None,
) -> None:
    """Record progress of a sync; cursor/last_synced_at left None keep their stored values."""
    with db.conn:
        db.conn.execute(
            "INSERT INTO sync_state (resource, cursor, last_synced_at, status, error, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (resource) DO UPDATE SET "
            "cursor = coalesce(excluded.cursor, sync_state.cursor), "
            "last_synced_at = coalesce(excluded.last_synced_at, sync_state.last_synced_at), "
            "status = excluded.status, error = excluded.error, updated_at = excluded.updated_at",
            (resource, cursor, last_synced_at, status, error, utc_now_iso()),
        )


def list_sync_states(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every resource's sync state."""
    return list(db.query("SELECT * FROM sync_state ORDER BY resource"))


def reset_sync_state(db: sqlite_utils.Database, platform: str) -> int:
    """Forget every cursor and watermark of `platform`, so its next sync is a full backfill
    (what catches records deleted on the platform while their webhook was lost)."""
    with db.conn:
        cursor = db.conn.execute(
            "DELETE FROM sync_state WHERE resource LIKE ? ESCAPE '\\'",
            (platform.replace("_", "\\_").replace("%", "\\%") + ":%",),
        )
    return cursor.rowcount
