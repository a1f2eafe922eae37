"""The shop's data in SQLite (one file per shop) via sqlite-utils."""
