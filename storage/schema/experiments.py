"""Schema for A/B experiments, and the indexes attribution and the overview read through.

Assignments are not stored: a visitor's variant is a hash of (experiment id, visitor id)
over the split frozen when the experiment starts (storage.experiments.assign_variant), so the
serving path writes nothing and attribution recomputes the same answer from the events.
Attributed revenue is not stored either: it is a query over events and order lines
(storage.attribution), so a late order webhook or a return is counted the next time it runs.
"""

SQL = """
CREATE TABLE experiments (
    experiment_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    context TEXT NOT NULL
        CHECK (context IN ('all', 'product', 'cart', 'home', 'email', 'post_purchase')),
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'stopped')),
    variants TEXT NOT NULL,                   -- JSON [{"name", "weight", "profile"}], control first
    holdout_share REAL NOT NULL DEFAULT 0 CHECK (holdout_share >= 0 AND holdout_share <= 0.5),
    min_detectable_effect REAL NOT NULL DEFAULT 0.1,  -- relative lift the sample is sized for
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    started_at TEXT,
    stopped_at TEXT,
    winner TEXT,                              -- a variant name, set when promoted
    promoted_at TEXT,
    promoted_by TEXT
) STRICT;
-- The serving path asks "what runs for this context" on every (uncached) request.
CREATE INDEX experiments_status_context ON experiments(status, context);
-- A context runs at most one experiment at a time (the code also refuses 'all' overlaps).
CREATE UNIQUE INDEX experiments_one_running ON experiments(context) WHERE status = 'running';

-- Overview and experiment results: impressions and clicks per day, context, slot and
-- strategy over a date range, read from the index alone.
CREATE INDEX events_type_ts ON events(type, ts, context, slot, strategy);
-- Attribution and holdout lift: which customers a visitor id was seen as (index only).
CREATE INDEX events_visitor_customer ON events(visitor_id, customer_id)
    WHERE visitor_id IS NOT NULL AND customer_id IS NOT NULL;
-- Attribution: "did this customer buy this product within the window after the click".
CREATE INDEX order_lines_customer_product ON order_lines(customer_id, product_id, created_at);
"""
