"""Opening a shop's SQLite file: one file per shop so one shop's rows can never leak into
another's query, and shop/redact deletes a single folder."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlite_utils

from config import Settings
from storage.errors import InvalidShopName, UnknownShop
from storage.migrations import migrate

DB_FILENAME = "shop.db"
# Data dirs whose shops live in PostgreSQL rather than in SQLite files (see bind_store).
_STORES: dict[Path, str] = {}
# Shopify domains (x.myshopify.com) and plain names; no slashes, no leading dot.
_SHOP_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def validate_shop_name(shop: str) -> str:
    """Return the shop name if it is safe as a folder name, else raise InvalidShopName."""
    if not isinstance(shop, str) or not _SHOP_NAME.match(shop) or ".." in shop:
        raise InvalidShopName(
            f"shop must be 1-100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter "
            f"or digit, got {shop!r}"
        )
    return shop


@lru_cache(maxsize=1024)
def shop_dir(data_dir: Path, shop: str) -> Path:
    """Folder holding a shop's database and model artifacts (memoised: a pure function of
    its arguments, asked several times by every storefront request)."""
    return Path(data_dir) / validate_shop_name(shop)


def shop_db_path(data_dir: Path, shop: str) -> Path:
    """Path of a shop's SQLite file."""
    return shop_dir(data_dir, shop) / DB_FILENAME


def models_dir(settings: Settings, shop: str) -> Path:
    """Folder holding a shop's trained model artifacts (beside its SQLite file).

    With a shared models folder set, the shared current version is pulled here first when
    this host does not hold it yet (one small file read when it does).
    """
    local = settings.shop_dir(shop) / "models"
    if settings.shared_models_dir:
        from storage.shared_models import pull_models

        pull_models(Path(settings.shared_models_dir), validate_shop_name(shop), local)
    return local


STORE_URL_ENV = "SHOPREC_STORE_URL"


def bind_store(data_dir: Path, store_url: str) -> None:
    """Keep the shops of `data_dir` in the store at `store_url` (postgresql://...), or in
    SQLite files under it when the URL is empty. Called once per process from Settings
    (`settings.store_url`), so every `open_shop_db(data_dir, ...)` opens the same store;
    the data dir stays the host's local folder (model cache, exports)."""
    _STORES[_resolved(data_dir)] = store_url


@lru_cache(maxsize=64)
def _resolved(data_dir: Path) -> Path:
    """The data dir as an absolute path without links: the key the store is bound under.
    Resolving walks the path with a system call per part, and every storefront request asks
    (shop_exists), so each process resolves a data dir once."""
    return Path(data_dir).resolve()


def store_url_for(data_dir: Path) -> str:
    """The PostgreSQL URL bound to data_dir, or '' for SQLite files.

    A process that never bound its data dir (a worker job, a CLI command: each loads its
    Settings from the same environment) follows SHOPREC_STORE_URL, the setting's variable.
    """
    if _STORES:
        bound = _STORES.get(_resolved(data_dir))
        if bound is not None:
            return bound
    return os.environ.get(STORE_URL_ENV, "")


def shop_exists(data_dir: Path, shop: str) -> bool:
    """Whether the shop has a store (a SQLite file, or a schema in the bound PostgreSQL)."""
    try:
        url = store_url_for(data_dir)
        if url:
            from storage.pg import pg_shop_exists

            return pg_shop_exists(url, validate_shop_name(shop))
        return shop_db_path(data_dir, shop).is_file()
    except InvalidShopName:
        return False


def drop_shop_store(data_dir: Path, shop: str) -> bool:
    """Delete a shop's rows kept outside its folder (its PostgreSQL schema); return whether
    there were any. SQLite stores live in the folder, which the caller deletes."""
    url = store_url_for(data_dir)
    if not url:
        return False
    from storage.pg import pg_drop_shop

    return pg_drop_shop(url, validate_shop_name(shop))


def list_shops(data_dir: Path) -> list[str]:
    """Names of every shop with a store under data_dir, sorted."""
    url = store_url_for(data_dir)
    if url:
        from storage.pg import pg_list_shops

        return pg_list_shops(url)
    root = Path(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{DB_FILENAME}"))


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) a SQLite file with WAL, foreign keys and the current schema.

    WAL lets the web app read while a worker or import writes; busy_timeout makes a writer
    wait for another writer instead of failing at once.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    migrate(db)
    return db


def upgrade_shop(data_dir: Path, shop: str) -> tuple[int, int]:
    """Apply the migrations a shop's store lacks; return its schema version before and after.

    Opening a store migrates it anyway; this is the explicit step an upgrade runs once, before
    the new version serves, so no request waits on a long migration.
    """
    url = store_url_for(data_dir)
    if url:
        from storage.migrations import schema_version
        from storage.pg import open_pg_shop

        pg = open_pg_shop(url, validate_shop_name(shop), create=False, migrate_it=False)
        try:
            before = schema_version(pg)  # type: ignore[arg-type]
        finally:
            pg.close()
        pg = open_pg_shop(url, shop, create=False)
        try:
            return before, schema_version(pg)  # type: ignore[arg-type]
        finally:
            pg.close()
    path = shop_db_path(data_dir, shop)
    if not path.is_file():
        raise UnknownShop(f"no shop named {shop!r} under {data_dir}")
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        before = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    db = open_db(path)
    try:
        after = int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()
    return before, after


def store_folder(db: sqlite_utils.Database) -> Path:
    """The folder of the store `db` is open on (the shop's folder)."""
    if getattr(db, "is_postgres", False):
        return Path(db.folder)  # type: ignore[attr-defined]
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent


def open_shop_db(data_dir: Path, shop: str, create: bool = True) -> sqlite_utils.Database:
    """Open one shop's store; with create=False an absent shop raises UnknownShop."""
    url = store_url_for(data_dir)
    if url:
        from storage.pg import open_pg_shop

        pg = open_pg_shop(url, validate_shop_name(shop), create=create)
        pg.folder = shop_dir(data_dir, shop)
        pg.folder.mkdir(parents=True, exist_ok=True)
        return pg  # type: ignore[return-value]
    path = shop_db_path(data_dir, shop)
    if not create and not path.is_file():
        raise UnknownShop(f"no shop named {shop!r} under {data_dir}")
    return open_db(path)


def data_version(db: sqlite_utils.Database) -> int:
    """SQLite's data_version of this connection: it moves when another connection commits."""
    return int(db.execute("PRAGMA data_version").fetchone()[0])


def database_file(db: sqlite_utils.Database) -> Path | None:
    """The file of the connection's main database (None for an in-memory one; for a
    PostgreSQL store, where the file would be in this host's shop folder)."""
    if getattr(db, "is_postgres", False):
        # No file: the shop's local folder stands in (its cache-generation marker lives there).
        folder = getattr(db, "folder", None)
        return Path(folder) / DB_FILENAME if folder else None
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else None


@contextmanager
def larger_page_cache(db: sqlite_utils.Database, kib: int) -> Iterator[None]:
    """Give the connection a `kib` KiB page cache for the block, then restore its own: bulk
    writes into the indexes then mostly hit memory."""
    cache_size = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {int(cache_size)}")
