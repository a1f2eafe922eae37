"""The log of data subject requests: exports and erasures of one customer's data.

Written by worker.privacy for every request, whichever way it came, and read by the admin's
privacy page. Only a masked email is kept (`email_hint`): after an erasure, the log says that
someone was erased and when, not who they were beyond their platform id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso

KINDS = ("export", "erasure")
SOURCES = ("shopify", "cli")


@dataclass(frozen=True)
class PrivacyRequest:
    """One row of the log, as the admin page and the CLI show it."""

    request_id: int
    kind: str
    source: str
    external_id: str
    customer_id: str
    email_hint: str
    requested_at: str
    status: str
    export_file: str | None
    counts: dict[str, int]


def mask_email(email: str | None) -> str:
    """'buyer@example.test' -> 'b…@example.test': enough to tell requests apart, not to write."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else f"{local[:1]}…"


def _row(row: Mapping[str, Any]) -> PrivacyRequest:
    fields = dict(row)
    fields["counts"] = json.loads(fields.get("counts") or "{}")
    return PrivacyRequest(**fields)


def record_privacy_request(
    db: sqlite_utils.Database,
    *,
    kind: str,
    source: str,
    external_id: str,
    customer_id: str | None,
    email: str | None,
    status: str,
    counts: Mapping[str, int],
    export_file: str | None = None,
) -> int:
    """Record one request, or update its row when the same request runs again (a replayed
    webhook): an export takes the new file and counts (the file was rewritten), an erasure
    adds the new counts to the first run's (both runs removed rows). Return its id."""
    key = (source, external_id, kind)
    with db.conn:
        row = db.conn.execute(
            "SELECT request_id, counts FROM privacy_requests "
            "WHERE source = ? AND external_id = ? AND kind = ?",
            key,
        ).fetchone()
        if row is None:
            cursor = db.conn.execute(
                "INSERT INTO privacy_requests (kind, source, external_id, customer_id, "
                "email_hint, requested_at, status, export_file, counts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    source,
                    external_id,
                    customer_id or "",
                    mask_email(email),
                    utc_now_iso(),
                    status,
                    export_file,
                    json.dumps(dict(counts), sort_keys=True),
                ),
            )
            return int(cursor.lastrowid or 0)
        merged = dict(counts)
        if kind == "erasure":
            earlier: dict[str, int] = json.loads(row[1] or "{}")
            merged = {k: earlier.get(k, 0) + merged.get(k, 0) for k in {*earlier, *merged}}
        db.conn.execute(
            "UPDATE privacy_requests SET status = ?, export_file = ?, counts = ? "
            "WHERE request_id = ?",
            (status, export_file, json.dumps(merged, sort_keys=True), row[0]),
        )
        return int(row[0])


def list_privacy_requests(
    db: sqlite_utils.Database, kind: str, limit: int = 100
) -> list[PrivacyRequest]:
    """The latest requests of one kind, newest first."""
    rows = db.query(
        "SELECT * FROM privacy_requests WHERE kind = ? ORDER BY requested_at DESC, "
        "request_id DESC LIMIT ?",
        [kind, int(limit)],
    )
    return [_row(r) for r in rows]


def get_privacy_request(db: sqlite_utils.Database, request_id: int) -> PrivacyRequest | None:
    """One request by its id, or None."""
    if not 0 < request_id < 2**63:  # SQLite integers are 64-bit; a URL's may not be
        return None
    rows = list(db.query("SELECT * FROM privacy_requests WHERE request_id = ?", [request_id]))
    return _row(rows[0]) if rows else None


def exports_of_customers(
    db: sqlite_utils.Database, customer_ids: list[str]
) -> list[PrivacyRequest]:
    """Exports of these customers whose file is still on disk, for an erasure to delete."""
    if not customer_ids:
        return []
    rows = db.query(
        "SELECT * FROM privacy_requests WHERE kind = 'export' AND export_file IS NOT NULL "
        f"AND customer_id IN ({', '.join('?' for _ in customer_ids)})",
        customer_ids,
    )
    return [_row(r) for r in rows]


def mark_export_erased(db: sqlite_utils.Database, request_id: int) -> None:
    """The export's file was deleted by an erasure: no download any more."""
    with db.conn:
        db.conn.execute(
            "UPDATE privacy_requests SET status = 'erased', export_file = NULL "
            "WHERE request_id = ?",
            (request_id,),
        )
