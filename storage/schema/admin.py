"""Schema for admin users, sessions and settings audit."""

SQL = """
-- reserved: filled in by the admin work
SELECT 1;
"""
