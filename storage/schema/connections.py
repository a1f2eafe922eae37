"""Schema for platform connections, sync cursors and inbox processing state."""

SQL = """
-- reserved: filled in by the connections work
SELECT 1;
"""
