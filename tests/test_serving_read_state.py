"""One request, one state of the store: the memoised reads inside one_store_state share one
`PRAGMA data_version` per reader and shop, and a write is seen by the next block."""

from __future__ import annotations

import sqlite_utils

import serving.cache as serving_cache
from config import Settings
from serving.cache import ShopReaders
from serving.read_state import one_store_state, shop_exists_once
from storage.catalog import upsert_products


def _titles(db: sqlite_utils.Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT title FROM products ORDER BY product_id")]


def test_reads_in_one_block_share_a_state_and_the_next_block_sees_a_write(
    settings: Settings, shop_db: sqlite_utils.Database, monkeypatch
) -> None:
    upsert_products(shop_db, [{"product_id": "a", "title": "Old", "price": 1.0}])
    pragmas: list[int] = []
    real = serving_cache.data_version

    def counted(db: sqlite_utils.Database) -> int:
        pragmas.append(1)
        return real(db)

    monkeypatch.setattr(serving_cache, "data_version", counted)
    readers = ShopReaders(settings.data_dir, ttl_s=60)
    other = ShopReaders(settings.data_dir, ttl_s=60)  # its own connection, its own version
    with one_store_state():
        assert readers.read("demo", "titles", _titles) == ["Old"]
        upsert_products(shop_db, [{"product_id": "a", "title": "New", "price": 1.0}])
        assert readers.read("demo", "titles", _titles) == ["Old"]  # the block's state
        assert readers.read("demo", "count", lambda db: db["products"].count) == 1
        with one_store_state():  # nested: the outer block's state
            assert readers.read("demo", "titles", _titles) == ["Old"]
        assert other.read("demo", "titles", _titles) == ["New"]
    assert len(pragmas) == 2  # one per reader connection, not one per read
    with one_store_state():
        assert readers.read("demo", "titles", _titles) == ["New"]  # the write, next block
    assert readers.read("demo", "titles", _titles) == ["New"]  # outside a block: per read
    assert len(pragmas) == 4
    readers.close()
    other.close()


def test_whether_a_shop_exists_is_asked_once_a_block() -> None:
    asked: list[str] = []

    def ask() -> bool:
        asked.append("demo")
        return len(asked) == 1  # deleted after the first answer

    with one_store_state():
        assert shop_exists_once("demo", ask) and shop_exists_once("demo", ask)
    assert asked == ["demo"]
    with one_store_state():
        assert not shop_exists_once("demo", ask)  # the next block asks again
    assert not shop_exists_once("demo", ask) and len(asked) == 3  # outside: every call
