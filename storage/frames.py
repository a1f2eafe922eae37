"""Reading a query into a DataFrame on either store backend.

pandas reads a sqlite3 connection itself; a PostgreSQL store's rows are built into the same
frame (from_records with coerce_float, what read_sql_query does) from the adapter's cursor,
so the statement still goes through the one dialect translation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import sqlite_utils


def read_frame(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The rows of `sql` as a DataFrame, columns named as the query names them."""
    if not getattr(db, "is_postgres", False):
        return pd.read_sql_query(sql, db.conn, params=params)
    cursor: Any = db.execute(sql, params or ())  # type: ignore[arg-type]
    columns = [d[0] for d in cursor.description or ()]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)
