"""Schema for the webhook inbox's dedupe key and retry bookkeeping (a rebuild of webhook_receipts).

- dedupe_key replaces the UNIQUE on delivery_id. WooCommerce's delivery id is
  wp_hash(webhook_id . strtotime('now')): every delivery of one webhook within the same second
  shares it, whatever its body, so a UNIQUE delivery_id dropped real orders and stock changes.
  The key is built by storage.receipts.dedupe_key: Shopify 'shopify:<X-Shopify-Webhook-Id>'
  (a retry resends the same id and the original payload), WooCommerce
  'woocommerce:<delivery id>:<body sha256>' (only the same id AND the same body is a repeat).
  Existing rows get the same key from the same rule, so a repeat of a delivery stored before
  the upgrade is still recognised.
- body_sha256: the hex SHA-256 of the body as received (kept when a redaction empties the body).
- tries / next_try_at: how often processing left the receipt pending (an inventory item of a
  product not yet synced) or failed, and when the sweep may dispatch it again, so a receipt that
  waits by design is retried with a backoff instead of in a loop.

SQLite cannot drop a UNIQUE constraint, so the table is rebuilt: copied, dropped and renamed.
`shoprec_sha256(blob)` is registered on the connection by storage.migrations.migrate.
"""

SQL = """
CREATE TABLE webhook_receipts_rebuilt (
    receipt_id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    topic TEXT NOT NULL,
    delivery_id TEXT NOT NULL,                -- the platform's id, as sent (not unique)
    body_sha256 TEXT NOT NULL,                -- hex SHA-256 of the body as received
    dedupe_key TEXT NOT NULL UNIQUE,          -- what makes two deliveries the same one
    headers TEXT NOT NULL,                    -- JSON, secrets removed
    body BLOB NOT NULL,                       -- raw bytes, exactly as signed
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processed', 'rejected')),
    error TEXT,
    processed_at TEXT,
    tries INTEGER NOT NULL DEFAULT 0,         -- processing runs that left it pending or failed
    next_try_at TEXT                          -- ISO UTC; NULL: due now
) STRICT;

INSERT INTO webhook_receipts_rebuilt (
    receipt_id, platform, topic, delivery_id, body_sha256, dedupe_key, headers, body,
    received_at, status, error, processed_at
)
SELECT
    receipt_id, platform, topic, delivery_id, shoprec_sha256(body),
    CASE platform
        WHEN 'woocommerce' THEN 'woocommerce:' || delivery_id || ':' || shoprec_sha256(body)
        ELSE platform || ':' || delivery_id
    END,
    headers, body, received_at, status, error, processed_at
FROM webhook_receipts;

DROP TABLE webhook_receipts;
ALTER TABLE webhook_receipts_rebuilt RENAME TO webhook_receipts;
CREATE INDEX webhook_receipts_status ON webhook_receipts(status, received_at);
CREATE INDEX webhook_receipts_delivery ON webhook_receipts(delivery_id);
"""
