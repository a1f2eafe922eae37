"""A record of every import run: what was read, stored, rejected and why."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso


def start_import_run(db: sqlite_utils.Database, kind: str, fmt: str, source: str) -> int:
    """Open a run record; return its id."""
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO import_runs (kind, format, source, started_at) VALUES (?, ?, ?, ?)",
            (kind, fmt, source, utc_now_iso()),
        )
    return int(cursor.lastrowid or 0)


def finish_import_run(
    db: sqlite_utils.Database,
    run_id: int,
    *,
    rows_read: int,
    rows_stored: int,
    rows_rejected: int,
    rows_skipped: int,
    summary: dict[str, Any],
) -> None:
    """Close a run record with its counts and a JSON summary."""
    with db.conn:
        db.conn.execute(
            "UPDATE import_runs SET finished_at = ?, rows_read = ?, rows_stored = ?, "
            "rows_rejected = ?, rows_skipped = ?, summary = ? WHERE run_id = ?",
            (
                utc_now_iso(),
                rows_read,
                rows_stored,
                rows_rejected,
                rows_skipped,
                json.dumps(summary),
                run_id,
            ),
        )


def latest_import_runs(db: sqlite_utils.Database, limit: int) -> list[dict[str, Any]]:
    """The newest import runs first, every column (summary as its JSON text)."""
    return list(db.query("SELECT * FROM import_runs ORDER BY run_id DESC LIMIT ?", [int(limit)]))
