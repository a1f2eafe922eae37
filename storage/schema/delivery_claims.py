"""Schema for claiming a delivery while it is being sent.

claimed_at/claim_token: set when a push starts (one UPDATE, so two workers cannot both send)
and cleared when it ends as sent, failed or parked. A claim still set long after it was taken
means the sender died mid-push: the request may or may not have left, so the re-drive asks
the platform (or relies on its idempotency key) before sending again. steps_done counts the
planned HTTP steps already answered, so a re-drive resumes after them.
"""

SQL = """
ALTER TABLE deliveries ADD COLUMN claimed_at TEXT;
ALTER TABLE deliveries ADD COLUMN claim_token TEXT;
ALTER TABLE deliveries ADD COLUMN steps_done INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_claimed ON deliveries(status, claimed_at);
"""
