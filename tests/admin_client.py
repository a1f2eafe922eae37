"""Test helpers for the admin: an app with a secret key, users, a logged-in client.

Shared by every tests/test_plugin_admin_*.py (DASH and EXPERIMENTS pages alike).
"""

from __future__ import annotations

import dataclasses

from flask import Flask
from flask.testing import FlaskClient

from config import Settings
from plugin import create_app
from storage.admin_users import set_admin_password
from storage.db import open_shop_db

TEST_SECRET = "test-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"


def admin_settings(settings: Settings) -> Settings:
    """The test settings with a secret key set (the admin refuses to run without one)."""
    return dataclasses.replace(settings, secret_key=TEST_SECRET)


def make_admin_app(settings: Settings) -> Flask:
    """The real app on these settings, with a secret key and testing on."""
    return create_app(admin_settings(settings), test_config={"TESTING": True})


def add_admin_user(
    settings: Settings, shop: str, user: str = "owner", password: str = PASSWORD
) -> None:
    """Create (or re-password) a login in `shop`, creating the shop's store if needed."""
    db = open_shop_db(settings.data_dir, shop)
    try:
        set_admin_password(db, user, password)
    finally:
        db.close()


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session (created by visiting the login page)."""
    with client.session_transaction() as sess:
        token = sess.get("csrf")
    if not token:
        client.get("/admin/login")
        with client.session_transaction() as sess:
            token = sess["csrf"]
    return str(token)


def log_in(client: FlaskClient, user: str = "owner", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """POST the login form like a browser (CSRF token included); return the response."""
    return client.post(
        "/admin/login",
        data={"user": user, "password": password, "csrf_token": csrf_of(client)},
    )


def logged_in_client(settings: Settings) -> FlaskClient:
    """A test client of the admin app on `settings`, logged in as the demo shop's owner."""
    add_admin_user(settings, "demo")
    client = make_admin_app(settings).test_client()
    log_in(client)
    return client
