"""Idempotent bulk upserts: a row is written only when it is new or differs from what is stored.

That is what makes "import the same file twice" change nothing the second time, and lets the
importer report how many rows were actually stored rather than how many were offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlite_utils

from storage.errors import InvalidValue, MissingKeyColumns


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upsert_rows(
    db: sqlite_utils.Database,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    now_column: str | None = None,
    now: str | None = None,
) -> int:
    """Insert or update `rows` (tuples ordered as `columns`, which must include `key`).

    Columns not listed are left as stored on update (a partial feed never blanks a field).
    `now_column`, when given, is set to `now` on insert and on a real change only.
    Returns how many rows were inserted or changed.
    """
    cols = list(columns)
    missing = [k for k in key if k not in cols]
    if missing:
        raise InvalidValue(f"upsert into {table}: key columns {missing} are not among {cols}")
    insert_cols = cols + ([now_column] if now_column else [])
    placeholders = ", ".join("?" for _ in insert_cols)
    value_cols = [c for c in cols if c not in key]
    conflict = ", ".join(_quote(k) for k in key)
    if value_cols:
        sets = [f"{_quote(c)} = excluded.{_quote(c)}" for c in value_cols]
        if now_column:
            sets.append(f"{_quote(now_column)} = excluded.{_quote(now_column)}")
        # Qualified: PostgreSQL refuses a bare column name that excluded also has.
        differs = " OR ".join(
            f"{_quote(table)}.{_quote(c)} IS NOT excluded.{_quote(c)}" for c in value_cols
        )
        action = f"DO UPDATE SET {', '.join(sets)} WHERE {differs}"
    else:
        action = "DO NOTHING"
    sql = (
        f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c in insert_cols)}) "
        f"VALUES ({placeholders}) ON CONFLICT ({conflict}) {action}"
    )
    params: Iterable[Sequence[Any]] = ((tuple(r) + (now,)) for r in rows) if now_column else rows
    conn = db.conn
    before = conn.total_changes
    with conn:
        conn.executemany(sql, params)
    return conn.total_changes - before


def update_rows(
    db: sqlite_utils.Database,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    now_column: str | None = None,
    now: str | None = None,
) -> int:
    """Update existing rows only (partial records cannot be inserted); return rows changed."""
    value_cols = [c for c in columns if c not in key]
    if not value_cols:
        return 0
    sets = [f"{_quote(c)} = ?" for c in value_cols]
    if now_column:
        sets.append(f"{_quote(now_column)} = ?")
    where = " AND ".join(f"{_quote(k)} = ?" for k in key)
    differs = " OR ".join(f"{_quote(c)} IS NOT ?" for c in value_cols)
    sql = f"UPDATE {_quote(table)} SET {', '.join(sets)} WHERE {where} AND ({differs})"
    index = {c: i for i, c in enumerate(columns)}

    def params(row: Sequence[Any]) -> tuple[Any, ...]:
        values = [row[index[c]] for c in value_cols]
        stamp = [now] if now_column else []
        return (*values, *stamp, *(row[index[k]] for k in key), *values)

    conn = db.conn
    before = conn.total_changes
    with conn:
        conn.executemany(sql, (params(r) for r in rows))
    return conn.total_changes - before


def insert_new_dicts(
    db: sqlite_utils.Database,
    table: str,
    key: Sequence[str],
    records: Iterable[Mapping[str, Any]],
    now_column: str | None = None,
    now: str | None = None,
) -> int:
    """Insert the records whose key is not stored yet; a stored row is left exactly as it is.

    For second-hand copies of a record (a customer as an order names it): they may create
    a row nobody else has described, but never overrule the record's own source.
    Returns how many rows were inserted.
    """
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for record in records:
        cols = tuple(record.keys())
        groups.setdefault(cols, []).append(tuple(record[c] for c in cols))
    conn = db.conn
    before = conn.total_changes
    with conn:
        for cols, rows in groups.items():
            missing = [k for k in key if k not in cols]
            if missing:
                raise MissingKeyColumns(
                    f"insert into {table}: key columns {missing} are not among {list(cols)}"
                )
            insert_cols = list(cols) + ([now_column] if now_column else [])
            sql = (
                f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c in insert_cols)}) "
                f"VALUES ({', '.join('?' for _ in insert_cols)}) "
                f"ON CONFLICT ({', '.join(_quote(k) for k in key)}) DO NOTHING"
            )
            stamp = (now,) if now_column else ()
            conn.executemany(sql, (row + stamp for row in rows))
    return conn.total_changes - before


def upsert_dicts(
    db: sqlite_utils.Database,
    table: str,
    key: Sequence[str],
    records: Iterable[Mapping[str, Any]],
    now_column: str | None = None,
    now: str | None = None,
    required: Sequence[str] = (),
) -> int:
    """`upsert_rows` for dict records, grouped by their set of keys.

    A record lacking any `required` column (one a new row could not be created without)
    only updates an existing row.
    """
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for record in records:
        cols = tuple(record.keys())
        groups.setdefault(cols, []).append(tuple(record[c] for c in cols))
    changed = 0
    for cols, rows in groups.items():
        write = update_rows if any(r not in cols for r in required) else upsert_rows
        changed += write(db, table, key, cols, rows, now_column=now_column, now=now)
    return changed
