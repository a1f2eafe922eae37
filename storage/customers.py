"""Customers: upserts from CSVs and customer feeds, stubs from orders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso
from storage.upserts import insert_new_dicts, upsert_dicts

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "country",
    "accepts_marketing",
    "created_at",
)


def upsert_customers(db: sqlite_utils.Database, customers: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update customers by customer_id; return how many were new or changed."""
    return upsert_dicts(db, "customers", ["customer_id"], customers, "updated_at", utc_now_iso())


def add_missing_customers(db: sqlite_utils.Database, customers: Iterable[Mapping[str, Any]]) -> int:
    """Create the customers not stored yet; known customers are left untouched.

    For customers as an order names them: an order's billing name and email describe that
    order, not the account, so they must never rewrite a known customer's identity.
    """
    return insert_new_dicts(
        db, "customers", ["customer_id"], customers, "updated_at", utc_now_iso()
    )


def get_customer(db: sqlite_utils.Database, customer_id: str) -> dict[str, Any] | None:
    """One customer, or None."""
    rows = list(db.query("SELECT * FROM customers WHERE customer_id = ?", [customer_id]))
    return rows[0] if rows else None


def find_customer_by_email(db: sqlite_utils.Database, email: str) -> dict[str, Any] | None:
    """The customer with this email (case-insensitive), or None; the newest one if several."""
    rows = list(
        db.query(
            "SELECT * FROM customers WHERE lower(email) = lower(?) "
            "ORDER BY created_at DESC LIMIT 1",
            [email.strip()],
        )
    )
    return rows[0] if rows else None
