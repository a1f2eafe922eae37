"""A shop's admin logins: scrypt password hashes set from the CLI, and the failed-login lock.

The lock lives in the shop's store (not in a process) so every web worker sees the same count
and a restart does not reset it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from storage.clock import to_iso, utc_now_iso
from storage.errors import StorageError

MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
_USERNAME_MAX = 64
# Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


class InvalidAdminCredentials(StorageError):
    """A user name or password that cannot be stored (too short, bad characters)."""


@dataclass(frozen=True)
class LoginOutcome:
    """What one shop says about a login attempt.

    status: 'ok', 'wrong' (no such user or wrong password) or 'locked'.
    stamp: for 'ok', a token of the current password hash; a session carrying an older stamp
        is void, so changing the password logs every browser out.
    locked_until: for 'locked', when the lock ends (ISO UTC).
    """

    status: str
    stamp: str = ""
    locked_until: str = ""


def validate_username(username: str) -> str:
    """The user name if printable, 1-64 characters with no spaces; else InvalidAdminCredentials."""
    if not (0 < len(username) <= _USERNAME_MAX) or not username.isprintable() or " " in username:
        raise InvalidAdminCredentials(
            f"user name must be 1-{_USERNAME_MAX} printable characters without spaces, "
            f"got {username!r}"
        )
    return username


def password_stamp(password_hash: str) -> str:
    """A short token of a password hash, stored in sessions instead of the hash itself."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:20]


def set_admin_password(db: sqlite_utils.Database, username: str, password: str) -> bool:
    """Create the user or replace its password (and lift any lock); return True when created."""
    validate_username(username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAdminCredentials(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}"
        )
    hashed = generate_password_hash(password, method="scrypt")
    now = utc_now_iso()
    with db.conn:
        existed = db.conn.execute(
            "SELECT 1 FROM admin_users WHERE username = ?", (username,)
        ).fetchone()
        db.conn.execute(
            "INSERT INTO admin_users (username, password_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
            "password_hash = excluded.password_hash, updated_at = excluded.updated_at, "
            "failed_logins = 0, locked_until = NULL",
            (username, hashed, now, now),
        )
    return existed is None


def remove_admin_user(db: sqlite_utils.Database, username: str) -> bool:
    """Delete a login; return whether it existed. Its open sessions stop working at once."""
    with db.conn:
        cursor = db.conn.execute("DELETE FROM admin_users WHERE username = ?", (username,))
    return cursor.rowcount > 0


def list_admin_users(db: sqlite_utils.Database) -> list[str]:
    """The shop's user names, sorted."""
    return [row[0] for row in db.execute("SELECT username FROM admin_users ORDER BY username")]


def has_admin_user(db: sqlite_utils.Database, username: str) -> bool:
    """Whether the shop has this login (cheap: no hashing)."""
    row = db.execute("SELECT 1 FROM admin_users WHERE username = ?", (username,)).fetchone()
    return row is not None


def current_stamp(db: sqlite_utils.Database, username: str) -> str:
    """The user's password stamp now; '' when the user no longer exists."""
    row = db.execute(
        "SELECT password_hash FROM admin_users WHERE username = ?", (username,)
    ).fetchone()
    return password_stamp(row[0]) if row else ""


def spend_password_check(password: str) -> None:
    """Take as long as one password check, for callers that found no such user."""
    check_password_hash(_DUMMY_HASH, password)


def check_admin_login(
    db: sqlite_utils.Database, username: str, password: str, now: datetime | None = None
) -> LoginOutcome:
    """Check a password, counting failures: after MAX_FAILED_LOGINS in a row the login is locked
    for LOCK_MINUTES, and while locked even the right password is refused (unhashed)."""
    moment = now or datetime.now(UTC)
    now_iso = to_iso(moment)
    row = db.execute(
        "SELECT password_hash, failed_logins, locked_until FROM admin_users WHERE username = ?",
        (username,),
    ).fetchone()
    if row is None:
        spend_password_check(password)
        return LoginOutcome("wrong")
    password_hash, failed, locked_until = row
    if locked_until and locked_until > now_iso:
        return LoginOutcome("locked", locked_until=locked_until)
    if check_password_hash(password_hash, password):
        with db.conn:
            db.conn.execute(
                "UPDATE admin_users SET failed_logins = 0, locked_until = NULL, "
                "last_login_at = ? WHERE username = ?",
                (now_iso, username),
            )
        return LoginOutcome("ok", stamp=password_stamp(password_hash))
    failed += 1
    lock = None
    if failed >= MAX_FAILED_LOGINS:
        lock, failed = to_iso(moment + timedelta(minutes=LOCK_MINUTES)), 0
    with db.conn:
        db.conn.execute(
            "UPDATE admin_users SET failed_logins = ?, locked_until = ? WHERE username = ?",
            (failed, lock, username),
        )
    return LoginOutcome("locked", locked_until=lock) if lock else LoginOutcome("wrong")
