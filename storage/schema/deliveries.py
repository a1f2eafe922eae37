"""Schema for outbound email deliveries and campaign timers."""

SQL = """
-- reserved: filled in by the deliveries work
SELECT 1;
"""
