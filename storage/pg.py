"""A shop's store in PostgreSQL: one schema per shop, behind the interface storage/ uses.

Web hosts that share no disk share the system of record here instead of in SQLite files.
`PgDatabase` offers what storage/ calls on a `sqlite_utils.Database` (`execute`, `query`,
`conn.execute/executemany/executescript`, `with db.conn:` transactions, `total_changes`,
`lastrowid`) with sqlite3's transaction semantics: a write opens a transaction that the
`with` block (or `commit`) ends; reads outside one run in autocommit and hold no locks.
Every statement goes through storage.pg_dialect.translate, the one place the dialects meet.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql as pgsql

from storage.errors import UnknownShop
from storage.pg_dialect import SUPPORT_SQL, translate, translate_script

# Shops known to the store, so listing does not have to read schema names back.
_REGISTRY_SQL = """
CREATE TABLE IF NOT EXISTS public.shoprec_shops (
    shop TEXT PRIMARY KEY,
    schema_name TEXT NOT NULL UNIQUE
)
"""
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def schema_for(shop: str) -> str:
    """The schema holding a shop's tables: reversible for names that fit, hashed beyond.

    Shop names are already validated (a-z, 0-9, '.', '_', '-'); '_' is the escape so
    'a.b', 'a-b' and 'a_b' get different schemas.
    """
    name = "shop_" + shop.replace("_", "_u").replace(".", "_d").replace("-", "_h")
    if len(name) > 63:
        name = name[:46] + "_" + hashlib.sha256(shop.encode()).hexdigest()[:16]
    return name


class PgCursor:
    """The parts of sqlite3.Cursor storage/ reads: rows, rowcount, lastrowid."""

    def __init__(self, cursor: psycopg.Cursor[Any], owner: PgConnection, is_insert: bool):
        self._cursor = cursor
        self._owner = owner
        self._is_insert = is_insert
        self.rowcount = cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        """The identity value the last INSERT drew (SQLite's rowid of the inserted row)."""
        if not self._is_insert or self.rowcount < 1:
            return None
        row = self._owner.raw.execute("SELECT lastval()").fetchone()
        return int(row[0]) if row else None

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """sqlite3.Connection's surface over a psycopg connection (autocommit underneath, with
    explicit BEGIN/COMMIT placed where sqlite3 would place them)."""

    def __init__(self, raw: psycopg.Connection[Any]):
        self.raw = raw
        self.total_changes = 0
        self._depth = 0

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def _begin(self) -> None:
        if not self.in_transaction:
            self.raw.execute("BEGIN")

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        head = sql.lstrip()[:7].upper()
        is_write = head.startswith(_WRITES)
        if is_write:
            self._begin()
        cursor = self.raw.cursor()
        try:
            cursor.execute(translate(sql), _params(params))
        except psycopg.Error:
            if self.in_transaction and self._depth == 0 and not is_write:
                self.raw.execute("ROLLBACK")
            raise
        if is_write and cursor.rowcount > 0:
            self.total_changes += cursor.rowcount
        return PgCursor(cursor, self, head.startswith("INSERT"))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> PgCursor:
        self._begin()
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), [_params(r) for r in rows])
        if cursor.rowcount > 0:
            self.total_changes += cursor.rowcount
        return PgCursor(cursor, self, False)

    def executescript(self, script: str) -> None:
        """Run a migration script; its BEGIN/COMMIT are the caller's `with` block's."""
        self._begin()
        self.raw.execute(translate_script(script).encode())

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        """SQLite needs Python functions registered; the schema defines them (SUPPORT_SQL)."""

    def commit(self) -> None:
        if self.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def __enter__(self) -> PgConnection:
        self._depth += 1
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._depth -= 1
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def close(self) -> None:
        self.rollback()
        self.raw.close()


class PgDatabase:
    """What storage/ uses of sqlite_utils.Database, on one shop's PostgreSQL schema."""

    is_postgres = True

    def __init__(self, raw: psycopg.Connection[Any], shop: str, url: str):
        self.conn = PgConnection(raw)
        self.shop = shop
        self.url = url
        self.folder: Any = None  # the host's local folder for this shop (exports, models)

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        return self.conn.execute(sql, params)

    def executescript(self, script: str) -> None:
        self.conn.executescript(script)

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> Iterator[dict[str, Any]]:
        cursor = self.execute(sql, params)
        names = [d.name for d in cursor.description or ()]
        for row in cursor.fetchall():
            yield dict(zip(names, row, strict=True))

    def close(self) -> None:
        self.conn.close()

    def table_names(self) -> list[str]:
        """The shop's tables (sqlite_utils' table_names, for tests and the admin)."""
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def __getitem__(self, table: str) -> PgTable:
        return PgTable(self, table)


class PgTable:
    """The few sqlite_utils.Table reads used on a store: row count and index names."""

    def __init__(self, db: PgDatabase, name: str):
        self.db = db
        self.name = name

    @property
    def count(self) -> int:
        query = pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(self.name))
        row = self.db.conn.raw.execute(query).fetchone()
        return int(row[0]) if row else 0

    @property
    def indexes(self) -> list[Any]:
        from types import SimpleNamespace

        rows = self.db.conn.raw.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s",
            (self.name,),
        ).fetchall()
        return [SimpleNamespace(name=r[0]) for r in rows]


def _params(params: Any) -> Any:
    """sqlite3 takes any sequence or mapping; psycopg wants a tuple/list or a dict, and bytes
    for BYTEA (memoryview is what sqlite3 hands back, so it comes round again)."""
    if isinstance(params, Mapping):
        return {k: _value(v) for k, v in params.items()}
    return tuple(_value(v) for v in params)


def _value(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def open_pg_shop(url: str, shop: str, create: bool = True, migrate_it: bool = True) -> PgDatabase:
    """Open a shop's schema (creating and migrating it when `create`), search_path set to it."""
    from storage.migrations import migrate

    schema = schema_for(shop)
    raw = _connect(url)
    try:
        raw.execute(_REGISTRY_SQL)
        known = raw.execute(
            "SELECT 1 FROM public.shoprec_shops WHERE shop = %s", (shop,)
        ).fetchone()
        if not known:
            if not create:
                raise UnknownShop(f"no shop named {shop!r} in the store")
            with raw.transaction():
                raw.execute(
                    pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema))
                )
                raw.execute(
                    "INSERT INTO public.shoprec_shops (shop, schema_name) VALUES (%s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (shop, schema),
                )
        raw.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            raw.execute(SUPPORT_SQL)
    except BaseException:
        raw.close()
        raise
    db = PgDatabase(raw, shop, url)
    if migrate_it:
        migrate(db)  # type: ignore[arg-type]
    return db


# Per store URL, one connection shop lookups are asked on (under a lock): every storefront
# request asks whether its shop exists, and a new connection per question costs more than
# the answer. Closed when the process exits.
_REGISTRY_CONNECTIONS: dict[str, psycopg.Connection[Any]] = {}
_REGISTRY_LOCK = threading.Lock()


def pg_shop_exists(url: str, shop: str) -> bool:
    """Whether the shop is registered in the store (asked fresh each time: a shop deleted
    on another host is unknown here at once)."""
    with _REGISTRY_LOCK:
        for attempt in (1, 2):  # a connection the server dropped is replaced once
            raw = _REGISTRY_CONNECTIONS.get(url)
            if raw is None or raw.closed:
                raw = _REGISTRY_CONNECTIONS[url] = _connect(url)
                raw.execute(_REGISTRY_SQL)
            try:
                row = raw.execute(
                    "SELECT 1 FROM public.shoprec_shops WHERE shop = %s", (shop,)
                ).fetchone()
            except psycopg.OperationalError:
                _REGISTRY_CONNECTIONS.pop(url, None)
                raw.close()
                if attempt == 2:
                    raise
                continue
            return row is not None
    return False


@atexit.register
def _close_registry_connections() -> None:
    with _REGISTRY_LOCK:
        for raw in _REGISTRY_CONNECTIONS.values():
            raw.close()
        _REGISTRY_CONNECTIONS.clear()


def pg_list_shops(url: str) -> list[str]:
    with _connect(url) as raw:
        raw.execute(_REGISTRY_SQL)
        return [r[0] for r in raw.execute("SELECT shop FROM public.shoprec_shops ORDER BY shop")]


def pg_drop_shop(url: str, shop: str) -> bool:
    """Delete every row of a shop: its schema goes (shop/redact's "delete the shop's data")."""
    with _connect(url) as raw, raw.transaction():
        raw.execute(_REGISTRY_SQL)
        row = raw.execute(
            "DELETE FROM public.shoprec_shops WHERE shop = %s RETURNING schema_name", (shop,)
        ).fetchone()
        if not row:
            return False
        raw.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(row[0])))
        return True
