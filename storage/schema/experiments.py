"""Schema for A/B experiments, assignments and attribution."""

SQL = """
-- reserved: filled in by the experiments work
SELECT 1;
"""
