"""Schema for data subject requests and the retention of raw storefront events.

privacy_requests: one row per export or erasure of a customer's data, whichever way it came
(Shopify's customers/data_request and customers/redact webhooks, `shoprec privacy ...` for
CSV and WooCommerce shops), so the owner sees them on the admin's privacy page. The row keeps
the customer id and a masked email only: the log of an erasure must not itself hold what was
erased. An export's status turns from 'exported' to 'erased' when the customer is erased
later (its file is deleted then).

event_purges: each run of the retention job (how far back it cut, how many events went).
"""

SQL = """
CREATE TABLE privacy_requests (
    request_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('export', 'erasure')),
    source TEXT NOT NULL,                     -- shopify | cli
    external_id TEXT NOT NULL,                -- Shopify data_request id, receipt or CLI run id
    customer_id TEXT NOT NULL DEFAULT '',
    email_hint TEXT NOT NULL DEFAULT '',      -- masked: 'b…@example.test'
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('exported', 'erased')),
    export_file TEXT,                         -- file name under <shop>/privacy/; NULL once erased
    counts TEXT NOT NULL DEFAULT '{}',        -- JSON: rows exported or erased, by kind
    UNIQUE (source, external_id, kind)
) STRICT;
CREATE INDEX privacy_requests_at ON privacy_requests(requested_at);
CREATE INDEX privacy_requests_customer ON privacy_requests(customer_id);

CREATE TABLE event_purges (
    purge_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    retention_months INTEGER NOT NULL,
    cutoff TEXT NOT NULL,                     -- events with ts before this were deleted
    events_removed INTEGER NOT NULL
) STRICT;
"""
