"""A store connection per shop and thread for the storefront's uncached requests.

Opening a shop's SQLite file per request (connect, four pragmas, the schema check, close)
cost ~0.8 ms of a ~3 ms personal request on Online Retail (bench/train.py): more than the
engine's blend. The serving path only reads, and a connection outside a transaction sees
every commit of other processes (WAL), so one connection per shop and thread serves the
same answers. It is dropped and reopened when the file's identity changes (inode and
change time: a shop deleted and created again, even on a reused inode; a WAL checkpoint
rewriting the file costs one reopen), and a shop whose file is gone is unknown, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import sqlite_utils

from serving.read_state import shop_exists_once
from storage.db import open_db, open_shop_db, shop_db_path, shop_exists, store_url_for
from storage.errors import UnknownShop


class ShopConnections:
    """Thread-local, long-lived store connections keyed by shop name."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._local = threading.local()

    @contextmanager
    def open(self, shop: str) -> Iterator[sqlite_utils.Database]:
        """The shop's connection for this thread; UnknownShop when the shop has no store.

        Whatever the caller left uncommitted is rolled back on the way out, as closing a
        per-request connection did, so no request can hold a write lock for the next.
        """
        pool: dict[str, tuple[tuple[int, int], sqlite_utils.Database]] = (
            self._local.__dict__.setdefault("pool", {})
        )
        if store_url_for(self._data_dir):
            db = self._shared_store(pool, shop)
            try:
                yield db
            finally:
                if db.conn.in_transaction:
                    db.conn.rollback()
            return
        path = shop_db_path(self._data_dir, shop)
        try:
            stat = path.stat()
        except FileNotFoundError:
            stale = pool.pop(shop, None)  # a deleted shop's file is freed once closed
            if stale is not None:
                stale[1].close()
            raise UnknownShop(f"no shop named {shop!r} under {self._data_dir}") from None
        identity = (stat.st_ino, stat.st_ctime_ns)
        entry = pool.get(shop)
        if entry is None or entry[0] != identity:
            if entry is not None:
                entry[1].close()
            entry = pool[shop] = (identity, open_db(path))
        db = entry[1]
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                db.conn.rollback()

    def _shared_store(
        self, pool: dict[str, tuple[tuple[int, int], sqlite_utils.Database]], shop: str
    ) -> sqlite_utils.Database:
        """The thread's connection to the shop's schema in the shared PostgreSQL store: no
        file to watch, so it is kept while the shop is registered there (a shop deleted
        from the store is unknown at once; its connection is dropped)."""
        if not shop_exists_once(shop, partial(shop_exists, self._data_dir, shop)):
            stale = pool.pop(shop, None)
            if stale is not None:
                stale[1].close()
            raise UnknownShop(f"no shop named {shop!r} in the store")
        entry = pool.get(shop)
        if entry is None:
            entry = pool[shop] = ((0, 0), open_shop_db(self._data_dir, shop, create=False))
        return entry[1]

    def close(self) -> None:
        """Close this thread's connections (tests, shutdown)."""
        pool = self._local.__dict__.pop("pool", {})
        for _, db in pool.values():
            db.close()
