"""The schema, as numbered migrations applied in order and tracked in PRAGMA user_version.

A migration is never edited once landed: add a new one. Prices are REAL in the shop's
currency; timestamps are ISO-8601 UTC text ("2011-09-01T12:00:00"), which sorts correctly.
"""

from __future__ import annotations

import hashlib

import sqlite_utils

from storage.schema import (
    admin,
    checkouts,
    connections,
    deliveries,
    delivery_claims,
    experiment_allocation,
    experiments,
    inbox,
    privacy,
    recent_pairs,
    session_reads,
    storefront,
)

MIGRATIONS: list[str] = [
    # 1: catalog, customers, orders, events, settings, inbox, sync state
    """
    CREATE TABLE products (
        product_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '',            -- '|'-separated
        vendor TEXT NOT NULL DEFAULT '',
        price REAL NOT NULL,
        compare_at_price REAL,
        inventory INTEGER,                        -- NULL: stock not tracked
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draft', 'archived')),
        margin REAL,                              -- share of price, 0..1; NULL: unknown
        season_tags TEXT NOT NULL DEFAULT '',     -- '|'-separated: summer|winter|christmas...
        available_until TEXT,                     -- ISO date; NULL: no end
        image_url TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        created_at TEXT,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX products_category ON products(category);
    CREATE INDEX products_status_inventory ON products(status, inventory);

    CREATE TABLE customers (
        customer_id TEXT PRIMARY KEY,
        email TEXT,
        first_name TEXT NOT NULL DEFAULT '',
        last_name TEXT NOT NULL DEFAULT '',
        country TEXT NOT NULL DEFAULT '',
        accepts_marketing INTEGER NOT NULL DEFAULT 0,
        created_at TEXT,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX customers_email ON customers(email);

    CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        customer_id TEXT,                         -- NULL: guest order
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'paid',      -- paid | cancelled | refunded
        country TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',          -- csv | uci | shopify | woocommerce | demo
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX orders_customer ON orders(customer_id, created_at);
    CREATE INDEX orders_created ON orders(created_at);

    -- One row per order line. Returns/cancellations are negative quantities and are never
    -- counted as purchases. customer_id and created_at are copied from the order because
    -- training and "bought in the last N days" read lines alone.
    CREATE TABLE order_lines (
        order_id TEXT NOT NULL,
        line_key TEXT NOT NULL,                   -- stable per line: '<product_id>#<n>'
        product_id TEXT NOT NULL,
        customer_id TEXT,
        created_at TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        unit_price REAL NOT NULL,
        PRIMARY KEY (order_id, line_key)
    ) STRICT;
    CREATE INDEX order_lines_product ON order_lines(product_id);
    CREATE INDEX order_lines_customer ON order_lines(customer_id, created_at);
    CREATE INDEX order_lines_created ON order_lines(created_at);

    CREATE TABLE events (
        event_id INTEGER PRIMARY KEY,
        event_key TEXT NOT NULL UNIQUE,           -- content hash (imports) or client id: dedupe
        ts TEXT NOT NULL,
        customer_id TEXT,
        session_id TEXT,
        type TEXT NOT NULL
            CHECK (type IN ('view', 'add_to_cart', 'impression', 'click', 'dismiss')),
        product_id TEXT NOT NULL,
        context TEXT,
        slot TEXT,
        strategy TEXT,
        request_id TEXT,
        position INTEGER
    ) STRICT;
    CREATE INDEX events_product_type ON events(product_id, type);
    CREATE INDEX events_customer ON events(customer_id, ts);
    CREATE INDEX events_session ON events(session_id, ts);
    CREATE INDEX events_ts ON events(ts);

    CREATE TABLE shop_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,                      -- JSON
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE TABLE settings_changes (
        change_id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT NOT NULL DEFAULT ''
    ) STRICT;

    -- Inbound webhooks are written here before anything else happens to them.
    CREATE TABLE webhook_receipts (
        receipt_id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        topic TEXT NOT NULL,
        delivery_id TEXT NOT NULL UNIQUE,
        headers TEXT NOT NULL,                    -- JSON, secrets removed
        body BLOB NOT NULL,                       -- raw bytes, exactly as signed
        received_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'processed', 'rejected')),
        error TEXT,
        processed_at TEXT
    ) STRICT;
    CREATE INDEX webhook_receipts_status ON webhook_receipts(status, received_at);

    CREATE TABLE sync_state (
        resource TEXT PRIMARY KEY,                -- e.g. 'shopify:products'
        cursor TEXT,
        last_synced_at TEXT,
        status TEXT NOT NULL DEFAULT 'idle',
        error TEXT,
        updated_at TEXT NOT NULL
    ) STRICT;

    -- Every CLI/connector import run, for the admin's connection-health page.
    CREATE TABLE import_runs (
        run_id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        format TEXT NOT NULL,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        rows_read INTEGER NOT NULL DEFAULT 0,
        rows_stored INTEGER NOT NULL DEFAULT 0,
        rows_rejected INTEGER NOT NULL DEFAULT 0,
        rows_skipped INTEGER NOT NULL DEFAULT 0,
        summary TEXT NOT NULL DEFAULT '{}'        -- JSON: counts by kind, first rejection reasons
    ) STRICT;
    """,
    # 2: platform connections (OAuth tokens, backfill cursors, inbox processing state)
    connections.SQL,
    # 3: outbound email deliveries and campaign timers
    deliveries.SQL,
    # 4: storefront visitors
    storefront.SQL,
    # 5: admin users and sessions
    admin.SQL,
    # 6: experiments and attribution
    experiments.SQL,
    # data subject requests and event retention runs
    privacy.SQL,
    # the webhook inbox's dedupe key (per platform) and retry bookkeeping
    inbox.SQL,
    # a delivery being sent is claimed (re-driven when its sender died)
    delivery_claims.SQL,
    # indexes for the serving path's reads by session and customer and event type
    session_reads.SQL,
    # a product's order lines after a moment: pairs bought since the last training
    recent_pairs.SQL,
    # completed checkouts reported by the storefront (order id -> visitor), for attribution
    checkouts.SQL,
    # automatic experiment allocation: its mode, floor and the history of its splits
    experiment_allocation.SQL,
]


def schema_version(db: sqlite_utils.Database) -> int:
    """The number of migrations applied to this database."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every migration not yet applied, each in its own transaction; return the version."""
    version = schema_version(db)
    # SQL functions a migration may call to compute a column for existing rows.
    db.conn.create_function("shoprec_sha256", 1, _sha256_hex, deterministic=True)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.conn:
            db.conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return schema_version(db)


def _sha256_hex(value: bytes | str | None) -> str:
    """Hex SHA-256 of a blob or text (text as UTF-8); the hash of b'' for NULL."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")
    return hashlib.sha256(data).hexdigest()
