"""The platform's own updated_at of each record applied, so a stale update never wins.

Shopify and WooCommerce deliver webhooks out of order, retry them for hours, and a sync page
may be older than a webhook already applied. Each mapped record carries the platform's
updated_at; `fresh_records` keeps only those newer than (or as new as) what was applied, and
`remember_versions` records them once written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlite_utils

from storage.errors import InvalidValue

KINDS = ("product", "order", "customer")


def stored_versions(
    db: sqlite_utils.Database, kind: str, record_ids: Iterable[str]
) -> dict[str, str]:
    """record_id -> platform updated_at for the ids already seen."""
    ids = list(dict.fromkeys(record_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"SELECT record_id, platform_updated_at FROM record_versions "
            f"WHERE kind = ? AND record_id IN ({marks})",
            [kind, *chunk],
        )
        found.update({r[0]: r[1] for r in rows})
    return found


def is_stale(db: sqlite_utils.Database, kind: str, record_id: str, updated_at: str | None) -> bool:
    """Whether a record stamped `updated_at` is older than the version already applied.

    A record without a platform timestamp is never called stale (nothing to compare).
    """
    if not updated_at:
        return False
    known = stored_versions(db, kind, [record_id]).get(record_id)
    return known is not None and updated_at < known


def remember_versions(db: sqlite_utils.Database, kind: str, versions: Mapping[str, str]) -> None:
    """Record the platform updated_at of records just applied (never moving one backwards)."""
    if kind not in KINDS:
        raise InvalidValue(f"kind must be one of {list(KINDS)}, got {kind!r}")
    with db.conn:
        db.conn.executemany(
            "INSERT INTO record_versions (kind, record_id, platform_updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, record_id) DO UPDATE SET "
            "platform_updated_at = "
            "max(record_versions.platform_updated_at, excluded.platform_updated_at)",
            [(kind, rid, ts) for rid, ts in versions.items() if ts],
        )
