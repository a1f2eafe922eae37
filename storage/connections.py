"""Platform connections of a shop: credentials, status shown in the admin, uninstall.

Credentials are kept as JSON in the shop's own file (one file per shop, so one shop's token
can never be read by another's query). Nothing here logs them; `connection_summary` is the
only shape meant to leave the process, and it carries no secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso
from storage.errors import InvalidValue

PLATFORMS = ("shopify", "woocommerce")
STATUSES = ("active", "broken", "uninstalled")
# shop_settings key of the secret shoprec gave the shop's WooCommerce webhooks; the inbox
# verifies every delivery of that shop with it.
WOOCOMMERCE_WEBHOOK_SECRET_KEY = "woocommerce.webhook_secret"


@dataclass(frozen=True)
class Connection:
    """One platform connection with its credentials (handle as a secret)."""

    platform: str
    shop_domain: str
    status: str
    status_reason: str | None
    credentials: dict[str, Any] = field(repr=False)
    scope: str
    access_expires_at: str | None
    connected_at: str
    updated_at: str


def _from_row(row: dict[str, Any]) -> Connection:
    return Connection(
        platform=row["platform"],
        shop_domain=row["shop_domain"],
        status=row["status"],
        status_reason=row["status_reason"],
        credentials=json.loads(row["credentials"] or "{}"),
        scope=row["scope"],
        access_expires_at=row["access_expires_at"],
        connected_at=row["connected_at"],
        updated_at=row["updated_at"],
    )


def get_connection(db: sqlite_utils.Database, platform: str) -> Connection | None:
    """The shop's connection to `platform`, or None when never connected."""
    rows = list(db.query("SELECT * FROM connections WHERE platform = ?", [platform]))
    return _from_row(rows[0]) if rows else None


def save_connection(
    db: sqlite_utils.Database,
    platform: str,
    shop_domain: str,
    credentials: dict[str, Any],
    *,
    scope: str = "",
    access_expires_at: str | None = None,
) -> None:
    """Store (or replace after a re-install) a connection as 'active' with fresh credentials."""
    if platform not in PLATFORMS:
        raise InvalidValue(f"platform must be one of {list(PLATFORMS)}, got {platform!r}")
    now = utc_now_iso()
    with db.conn:
        db.conn.execute(
            "INSERT INTO connections (platform, shop_domain, status, status_reason, "
            "credentials, scope, access_expires_at, connected_at, updated_at) "
            "VALUES (?, ?, 'active', NULL, ?, ?, ?, ?, ?) ON CONFLICT (platform) DO UPDATE SET "
            "shop_domain = excluded.shop_domain, status = 'active', status_reason = NULL, "
            "credentials = excluded.credentials, scope = excluded.scope, "
            "access_expires_at = excluded.access_expires_at, updated_at = excluded.updated_at",
            (platform, shop_domain, json.dumps(credentials), scope, access_expires_at, now, now),
        )


def update_credentials(
    db: sqlite_utils.Database,
    platform: str,
    credentials: dict[str, Any],
    access_expires_at: str | None,
) -> None:
    """Replace the credentials after a token refresh (the rotated refresh token included)."""
    with db.conn:
        db.conn.execute(
            "UPDATE connections SET credentials = ?, access_expires_at = ?, "
            "updated_at = ? WHERE platform = ?",
            (json.dumps(credentials), access_expires_at, utc_now_iso(), platform),
        )


def set_connection_status(
    db: sqlite_utils.Database, platform: str, status: str, reason: str | None = None
) -> None:
    """Mark a connection 'broken' (with the reason the admin shows) or 'active' again."""
    if status not in STATUSES:
        raise InvalidValue(f"status must be one of {list(STATUSES)}, got {status!r}")
    with db.conn:
        db.conn.execute(
            "UPDATE connections SET status = ?, status_reason = ?, updated_at = ? "
            "WHERE platform = ?",
            (status, reason, utc_now_iso(), platform),
        )


def set_connection_note(db: sqlite_utils.Database, platform: str, note: str | None) -> None:
    """Keep a health note on a working connection (the admin shows it beside the status).

    For what works now but will likely fail later, e.g. a public URL the store cannot
    reach: the status stays as it is, only the reason column carries the note.
    """
    with db.conn:
        db.conn.execute(
            "UPDATE connections SET status_reason = ?, updated_at = ? WHERE platform = ?",
            (note, utc_now_iso(), platform),
        )


def mark_uninstalled(db: sqlite_utils.Database, platform: str, reason: str) -> bool:
    """The app was removed: drop every credential and stop syncing; return whether it existed."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE connections SET status = 'uninstalled', status_reason = ?, "
            "credentials = '{}', access_expires_at = NULL, updated_at = ? WHERE platform = ?",
            (reason, utc_now_iso(), platform),
        )
    return cursor.rowcount > 0


def connection_summary(connection: Connection) -> dict[str, Any]:
    """What the admin and the CLI may show: everything but the credentials."""
    return {
        "platform": connection.platform,
        "shop_domain": connection.shop_domain,
        "status": connection.status,
        "status_reason": connection.status_reason,
        "scope": connection.scope,
        "connected_at": connection.connected_at,
        "updated_at": connection.updated_at,
    }
