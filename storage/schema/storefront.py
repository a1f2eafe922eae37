"""Schema for storefront visitors and event rate state."""

SQL = """
-- reserved: filled in by the storefront work
SELECT 1;
"""
