"""Schema for automatic experiment allocation: the mode, its floor, and the split's history.

The split in force is never stored per visitor. A visitor's variant is their hash point (a
uniform number in [0, 1), storage.experiments.bucket_of) mapped through the split that was in
force at their first exposure (their first impression in the experiment), so a visitor keeps
their variant when the split moves, and attribution finds the same answer from the events.
Before the first row here, the variants' own weights are the split.
"""

SQL = """
ALTER TABLE experiments ADD COLUMN allocation TEXT NOT NULL DEFAULT 'fixed'
    CHECK (allocation IN ('fixed', 'automatic'));
-- The least share of the variants' traffic (what the holdout leaves) each variant keeps.
ALTER TABLE experiments ADD COLUMN min_share REAL NOT NULL DEFAULT 0.1
    CHECK (min_share >= 0 AND min_share <= 0.5);

CREATE TABLE experiment_allocations (
    experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
    effective_from TEXT NOT NULL,             -- ISO-8601 UTC; a little after it was computed
    shares TEXT NOT NULL,                     -- JSON {"holdout": h, variant: share, ...}, sum 1
    created_at TEXT NOT NULL,
    PRIMARY KEY (experiment_id, effective_from)
) STRICT;
"""
