"""Per-shop settings (blend weights, rules, campaign delays) as JSON, every change audited."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso

# Settings that hold credentials (e.g. "woocommerce.webhook_secret"): stored, never copied
# into the audit trail, whose rows the admin shows.
SECRET_SUFFIXES = ("secret", "token", "password", "_hash")
REDACTED = '"(secret)"'


def is_secret_setting(key: str) -> bool:
    """Whether a setting's value is a credential that no page or audit row may show."""
    return key.lower().endswith(SECRET_SUFFIXES)


def get_shop_setting(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    """A setting's value, or `default` when never set."""
    row = db.execute("SELECT value FROM shop_settings WHERE key = ?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def all_shop_settings(db: sqlite_utils.Database) -> dict[str, Any]:
    """Every stored setting of the shop."""
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM shop_settings")}


def set_shop_setting(db: sqlite_utils.Database, key: str, value: Any, changed_by: str = "") -> bool:
    """Store a setting and record who changed what, when; return whether the value changed."""
    new = json.dumps(value, sort_keys=True)
    now = utc_now_iso()
    with db.conn:
        row = db.conn.execute("SELECT value FROM shop_settings WHERE key = ?", (key,)).fetchone()
        old = row[0] if row else None
        if old == new:
            return False
        db.conn.execute(
            "INSERT INTO shop_settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (key, new, now, changed_by),
        )
        if is_secret_setting(key):
            old, new = (None if old is None else REDACTED), REDACTED
        db.conn.execute(
            "INSERT INTO settings_changes (key, old_value, new_value, changed_at, changed_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, old, new, now, changed_by),
        )
    return True


def settings_stamp(db: sqlite_utils.Database) -> int:
    """The id of the shop's latest settings change (0 when never changed).

    Serving puts it in every cache key, so a change of "rules" or "weights" shows on the
    very next request whoever wrote it (admin, CLI, experiments), without those callers
    having to know about the serving cache. One index lookup: change_id is the rowid.
    """
    row = db.execute("SELECT max(change_id) FROM settings_changes").fetchone()
    return int(row[0] or 0)


def settings_history(db: sqlite_utils.Database, limit: int) -> list[tuple[Any, ...]]:
    """The newest settings changes: (key, old value, new value, changed_at, changed_by)."""
    return [
        tuple(row)
        for row in db.execute(
            "SELECT key, old_value, new_value, changed_at, changed_by FROM settings_changes "
            "ORDER BY change_id DESC LIMIT ?",
            (int(limit),),
        )
    ]


def has_shop_setting(db: sqlite_utils.Database, key: str) -> bool:
    """Whether the shop has a stored value for `key` (even a cleared one)."""
    return db.execute("SELECT 1 FROM shop_settings WHERE key = ?", (key,)).fetchone() is not None
