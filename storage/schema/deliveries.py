"""Schema for campaign timers and outbound email deliveries.

campaign_timers: one row per (campaign, shopper, window). The UNIQUE constraint is the lock
that makes scheduling idempotent: a replayed webhook or a second worker inserts nothing, so it
enqueues nothing. deliveries: one row per push to an email platform, UNIQUE on its idempotency
key so a block is never sent twice; delivery_attempts keeps every HTTP try (Saleor-style).
"""

SQL = """
CREATE TABLE campaign_timers (
    timer_id INTEGER PRIMARY KEY,
    campaign TEXT NOT NULL CHECK (campaign IN ('post_purchase', 'browse', 'win_back')),
    customer_id TEXT NOT NULL,                -- the email is read at fire time (redaction)
    window_key TEXT NOT NULL,                 -- 'order:<id>', 'views:<bucket>', 'after:<id>'
    anchor_id TEXT,                           -- the order (or first view's product) behind it
    since TEXT NOT NULL,                      -- when the triggering activity happened
    due_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'cancelled', 'fired', 'skipped')),
    reason TEXT,                              -- why cancelled or skipped
    rq_job_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (campaign, customer_id, window_key)
) STRICT;
CREATE INDEX campaign_timers_customer ON campaign_timers(customer_id, campaign, status);
CREATE INDEX campaign_timers_status_due ON campaign_timers(status, due_at);

CREATE TABLE deliveries (
    delivery_id INTEGER PRIMARY KEY,
    timer_id INTEGER REFERENCES campaign_timers(timer_id) ON DELETE SET NULL,
    provider TEXT NOT NULL,                   -- klaviyo | mailchimp | mailchimp_transactional
    campaign TEXT NOT NULL,
    customer_id TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'failed', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    error TEXT,
    summary TEXT NOT NULL DEFAULT '{}',       -- JSON: item ids, block hash and size
    payload TEXT NOT NULL DEFAULT '{}',       -- JSON: what the push sends (no secrets)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX deliveries_status ON deliveries(status, updated_at);
CREATE INDEX deliveries_customer ON deliveries(customer_id, campaign);

CREATE TABLE delivery_attempts (
    attempt_id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(delivery_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    status_code INTEGER,                      -- NULL: no HTTP answer (timeout, refused)
    duration_ms REAL NOT NULL,
    error TEXT,
    waited_s REAL NOT NULL DEFAULT 0,
    attempted_at TEXT NOT NULL
) STRICT;
CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, attempt_id);
"""
