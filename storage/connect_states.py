"""One-time states of WooCommerce's key exchange, kept in the shop's settings.

WooCommerce's /wc-auth/v1/authorize passes one value of ours through (`user_id`) and posts
it back with the new keys. shoprec makes it a random state, keeps only its SHA-256 with
the store URL it was issued for and an expiry (under a setting name the settings audit
redacts), and takes it back exactly once: the delete that consumes it is conditional on the
stored value, so of two callbacks racing with the same state only one wins. Only the latest
state of a shop is valid: starting a new connect replaces the one before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import sqlite_utils

from storage.clock import utc_now_iso
from storage.shop_settings import REDACTED, get_shop_setting, set_shop_setting

STATE_KEY = "woocommerce_connect_state_hash"
RESULT_KEY = "woocommerce_connect_result"


@dataclass(frozen=True)
class ConnectState:
    """What a valid state was issued for."""

    store_url: str
    expires_at: float


def state_hash(state: str) -> str:
    """The stored form of a state (the state itself is never stored)."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def put_connect_state(
    db: sqlite_utils.Database, state: str, store_url: str, expires_at: float, changed_by: str
) -> None:
    """Keep the shop's one pending state (replacing any earlier one)."""
    value = {"hash": state_hash(state), "store_url": store_url, "expires_at": float(expires_at)}
    set_shop_setting(db, STATE_KEY, value, changed_by)


def take_connect_state(
    db: sqlite_utils.Database, state: str, now: float, changed_by: str
) -> ConnectState | None:
    """The state's store URL and expiry, consumed; None when it is not the pending state,
    was already used, or has expired (an expired state is consumed too)."""
    row = db.execute("SELECT value FROM shop_settings WHERE key = ?", (STATE_KEY,)).fetchone()
    if row is None:
        return None
    stored = json.loads(row[0])
    if not isinstance(stored, dict) or not hmac.compare_digest(
        str(stored.get("hash", "")), state_hash(state)
    ):
        return None
    with db.conn:
        taken = db.conn.execute(
            "DELETE FROM shop_settings WHERE key = ? AND value = ?", (STATE_KEY, row[0])
        ).rowcount
        if taken:
            db.conn.execute(
                "INSERT INTO settings_changes (key, old_value, new_value, changed_at, changed_by) "
                "VALUES (?, ?, 'null', ?, ?)",
                (STATE_KEY, REDACTED, utc_now_iso(), changed_by),
            )
    if not taken or float(stored.get("expires_at", 0)) <= now:
        return None
    return ConnectState(str(stored["store_url"]), float(stored["expires_at"]))


def put_connect_result(
    db: sqlite_utils.Database, state: str, ok: bool, message: str, store_url: str
) -> None:
    """What the callback of `state` did, for the return page the owner lands on next."""
    value = {"hash": state_hash(state), "ok": ok, "message": message, "store_url": store_url}
    set_shop_setting(db, RESULT_KEY, value, "woocommerce key exchange")


def connect_result(db: sqlite_utils.Database, state: str) -> dict[str, object] | None:
    """The callback's outcome for `state`, or None when this state has none."""
    stored = get_shop_setting(db, RESULT_KEY)
    if not isinstance(stored, dict) or not hmac.compare_digest(
        str(stored.get("hash", "")), state_hash(state)
    ):
        return None
    return stored
