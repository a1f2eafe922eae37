"""Schema for the serving path's reads by shopper: indexes on (who, event type, time).

"What did this session view" (storage.events.session_viewed_products) and "what did this
customer dismiss" filter on one shopper and one event type. With only (session_id, ts) and
(customer_id, ts) to choose from, SQLite's planner took events(type, ts, ...) instead and
walked every view of the shop per request (hundreds of milliseconds on the demo shop once
its sessions had views); an index on both equality columns is the one it picks.
"""

SQL = """
CREATE INDEX events_session_type ON events(session_id, type, ts)
    WHERE session_id IS NOT NULL;
CREATE INDEX events_customer_type ON events(customer_id, type, ts)
    WHERE customer_id IS NOT NULL;
"""
