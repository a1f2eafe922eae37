"""Schema for storefront visitors: the widget's first-party visitor id on every event.

A session id lives as long as a browser tab (sessionStorage); the visitor id is kept in
localStorage, so an anonymous shopper's dismissals and views outlast the session. Events
stored before this migration keep NULL. Rate-limit state lives in Redis, not here.
"""

SQL = """
ALTER TABLE events ADD COLUMN visitor_id TEXT;
-- "what did this visitor dismiss" (storage.events.dismissed_products) reads by visitor.
CREATE INDEX events_visitor ON events(visitor_id, type) WHERE visitor_id IS NOT NULL;
"""
