"""Schema for admin users: one row per login of a shop, with its failed-login throttle.

A user name may exist in several shops of one installation (same person, several shops); each
shop keeps its own row, so deleting a shop's folder deletes its logins too.
"""

SQL = """
CREATE TABLE admin_users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,              -- werkzeug scrypt hash, never the password
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0, -- consecutive failures since the last success
    locked_until TEXT,                        -- ISO UTC; NULL: not locked
    last_login_at TEXT
) STRICT;
"""
