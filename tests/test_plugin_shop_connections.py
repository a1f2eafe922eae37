"""The storefront's long-lived store connections: fresh reads, no stale or leaked state."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from serving.connections import ShopConnections
from storage.catalog import upsert_products
from storage.db import open_shop_db, shop_dir
from storage.errors import UnknownShop


def _titles(connections: ShopConnections, shop: str) -> list[str]:
    with connections.open(shop) as db:
        return [row[0] for row in db.execute("SELECT title FROM products ORDER BY product_id")]


def test_one_connection_per_thread_sees_other_writers_commits(tmp_path: Path) -> None:
    writer = open_shop_db(tmp_path, "shop")
    upsert_products(writer, [{"product_id": "p1", "title": "Mixer", "price": 10.0}])
    connections = ShopConnections(tmp_path)
    with connections.open("shop") as first:
        pass
    assert _titles(connections, "shop") == ["Mixer"]
    upsert_products(writer, [{"product_id": "p2", "title": "Bowl", "price": 5.0}])
    assert _titles(connections, "shop") == ["Mixer", "Bowl"]  # the next read sees the commit
    with connections.open("shop") as again:
        assert again is first  # reused, not reopened
    other: list[object] = []

    def in_thread() -> None:
        with connections.open("shop") as db:
            other.append(db)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert other and other[0] is not first  # sqlite connections are not shared by threads
    writer.close()


def test_a_deleted_shop_is_unknown_and_a_recreated_one_is_read_afresh(tmp_path: Path) -> None:
    writer = open_shop_db(tmp_path, "shop")
    upsert_products(writer, [{"product_id": "p1", "title": "Old", "price": 10.0}])
    writer.close()
    connections = ShopConnections(tmp_path)
    assert _titles(connections, "shop") == ["Old"]
    with connections.open("shop") as old:
        pass
    shutil.rmtree(shop_dir(tmp_path, "shop"))  # shop/redact deletes the folder
    with pytest.raises(UnknownShop):
        _titles(connections, "shop")
    with pytest.raises(sqlite3.ProgrammingError):  # closed, so the deleted file is freed
        old.execute("SELECT 1")
    writer = open_shop_db(tmp_path, "shop")
    upsert_products(writer, [{"product_id": "p9", "title": "New", "price": 1.0}])
    writer.close()
    assert _titles(connections, "shop") == ["New"]


def test_what_a_request_leaves_uncommitted_is_rolled_back(tmp_path: Path) -> None:
    open_shop_db(tmp_path, "shop").close()
    connections = ShopConnections(tmp_path)
    with connections.open("shop") as db:
        db.conn.execute("UPDATE products SET title = 'X'")  # opens a write transaction
        db.conn.execute("CREATE TABLE scratch (x)")
        assert db.conn.in_transaction
    with connections.open("shop") as db:
        assert not db.conn.in_transaction
        assert not db["scratch"].exists()
    # Another writer is not blocked by a lock the request would otherwise have kept.
    writer = open_shop_db(tmp_path, "shop")
    upsert_products(writer, [{"product_id": "p1", "title": "Mixer", "price": 10.0}])
    writer.close()
    assert _titles(connections, "shop") == ["Mixer"]
    connections.close()


def test_an_unknown_shop_is_refused_without_creating_a_store(tmp_path: Path) -> None:
    with pytest.raises(UnknownShop):
        _titles(ShopConnections(tmp_path), "nobody")
    assert not shop_dir(tmp_path, "nobody").exists()
