"""Importing feeds into a real SQLite store: stored rows, idempotence, run records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import sqlite_utils
from shared_datasets import dataset_path

from connectors.errors import UnknownFeedFormat, UnreadableFeed
from storage.orders import read_purchase_lines
from worker.imports import import_file

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
TABLES = ("products", "customers", "orders", "order_lines", "events")


def _counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_bad_rows_are_reported_and_good_rows_stored(shop_db: sqlite_utils.Database) -> None:
    report = import_file(shop_db, "orders", FIXTURES / "orders_bad_rows.csv")
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (9, 5, 4)
    assert [r.split(":")[0] for r in report.first_rejections] == [
        "line 5",
        "line 6",
        "line 7",
        "line 8",
    ]
    lines = shop_db.execute(
        "SELECT order_id, line_key, customer_id, created_at, quantity, unit_price "
        "FROM order_lines ORDER BY order_id, line_key"
    ).fetchall()
    assert lines == [
        ("1001", "p-café#1", "c1", "2024-03-01T10:00:00", 2, 3.5),
        ("1001", "p2#1", "c1", "2024-03-01T10:00:00", 1, 10.0),
        ("1001", "p2#2", "c1", "2024-03-01T10:00:00", 1, 10.0),
        ("1002", "p1#1", None, "2024-03-02T09:30:00", 1, 4.0),
        ("1007", "p1#1", "c3", "2024-03-07T10:00:00", -1, 4.0),
    ]
    assert shop_db.execute("SELECT count(*) FROM orders").fetchone()[0] == 3
    # The return line is stored but never read as a purchase.
    assert set(read_purchase_lines(shop_db)["order_id"]) == {"1001", "1002"}


def test_reimport_stores_nothing_new(shop_db: sqlite_utils.Database) -> None:
    for name, kind in (
        ("orders_bad_rows.csv", "orders"),
        ("online_retail_2010.csv", "orders"),
        ("shopify_products.csv", "products"),
        ("events.csv", "events"),
    ):
        first = import_file(shop_db, kind, FIXTURES / name)
        assert first.rows_stored > 0, name
        before = _counts(shop_db)
        again = import_file(shop_db, kind, FIXTURES / name)
        assert again.rows_stored == 0 and sum(again.stored_by_table.values()) == 0, name
        assert again.rows_rejected == first.rows_rejected
        assert _counts(shop_db) == before


def test_latin1_and_bom_products_store_the_right_text(shop_db: sqlite_utils.Database) -> None:
    import_file(shop_db, "products", FIXTURES / "products_latin1.csv")
    import_file(shop_db, "products", FIXTURES / "products_utf8_bom.csv")
    titles = dict(shop_db.execute("SELECT product_id, title FROM products").fetchall())
    assert titles == {"P1": "Café crème", "P2": "Thé vert"}
    p1 = shop_db.execute("SELECT category, tags, inventory FROM products WHERE product_id='P1'")
    assert p1.fetchone() == ("Boissons", "hot|coffee", 4)  # the BOM file kept latin-1's category


def test_online_retail_fixture_stores_products_customers_orders(
    shop_db: sqlite_utils.Database,
) -> None:
    report = import_file(shop_db, "orders", FIXTURES / "online_retail_2010.csv")
    assert report.stored_by_table == {"order_lines": 6, "orders": 4, "products": 4, "customers": 3}
    assert report.rows_skipped == 5 and report.rows_rejected == 2
    statuses = dict(shop_db.execute("SELECT order_id, status FROM orders").fetchall())
    assert statuses["C536379"] == "cancelled" and statuses["536365"] == "paid"
    purchases = read_purchase_lines(shop_db)
    assert len(purchases) == 5 and (purchases["quantity"] > 0).all()


def test_run_is_recorded_with_summary(shop_db: sqlite_utils.Database) -> None:
    report = import_file(shop_db, "orders", FIXTURES / "online_retail_2009.csv", "online_retail")
    row = shop_db.execute(
        "SELECT kind, format, rows_read, rows_stored, rows_rejected, rows_skipped, summary, "
        "finished_at FROM import_runs WHERE run_id = ?",
        (report.run_id,),
    ).fetchone()
    assert row[:6] == ("orders", "online_retail", 6, 3, 0, 3)
    summary = json.loads(row[6])
    assert summary["skipped"] == {"non_product": 2, "adjustments": 1}
    assert summary["detected"] is False and row[7] is not None
    assert report.lines()[0] == "format: online_retail (given), encoding: utf-8"


def test_small_batches_give_the_same_result(shop_db: sqlite_utils.Database) -> None:
    cache_size = shop_db.execute("PRAGMA cache_size").fetchone()[0]
    report = import_file(shop_db, "orders", FIXTURES / "online_retail_2010.csv", batch_size=1)
    assert shop_db.execute("PRAGMA cache_size").fetchone()[0] == cache_size  # restored
    assert report.stored_by_table["order_lines"] == 6 and report.stored_by_table["orders"] == 4


def test_progress_gets_every_byte(shop_db: sqlite_utils.Database) -> None:
    seen: list[int] = []
    path = FIXTURES / "online_retail_2010.csv"
    import_file(shop_db, "orders", path, progress=seen.append, batch_size=2)
    assert len(seen) > 1 and sum(seen) == path.stat().st_size


def test_unusable_files_raise_before_any_run(shop_db: sqlite_utils.Database) -> None:
    with pytest.raises(UnreadableFeed):
        import_file(shop_db, "orders", FIXTURES / "absent.csv")
    with pytest.raises(UnknownFeedFormat, match="matches no events format"):
        import_file(shop_db, "events", FIXTURES / "online_retail_2010.csv")
    assert shop_db.execute("SELECT count(*) FROM import_runs").fetchone()[0] == 0


@pytest.mark.slow
def test_online_retail_full_file(shop_db: sqlite_utils.Database) -> None:
    path = dataset_path("online_retail", "online_retail.csv.gz")
    report = import_file(shop_db, "orders", path)
    assert report.rows_read == 541_909 and report.rows_rejected == 0
    assert report.accepted == {"purchases": 527_725, "returns_cancellations": 8_704}
    assert report.skipped == {"non_product": 2_995, "adjustments": 2_485}
    assert report.stored_by_table["order_lines"] == 536_429
    assert report.stored_by_table["orders"] == 23_195
    again = import_file(shop_db, "orders", path)
    assert again.rows_stored == 0 and sum(again.stored_by_table.values()) == 0


def test_a_run_that_fails_midway_is_recorded(
    shop_db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows = "".join(
        f"o{i},c{i % 97},2024-03-01T10:00:00,p{i * 7919 % 10007},1,2.5\n" for i in range(40_000)
    )
    whole = gzip.compress(
        ("order_id,customer_id,created_at,product_id,quantity,unit_price\n" + rows).encode()
    )
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(UnreadableFeed, match="cannot read past line"):
        import_file(shop_db, "orders", path, batch_size=2_000)
    stored = shop_db.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    assert stored >= 2_000
    finished, summary = shop_db.execute("SELECT finished_at, summary FROM import_runs").fetchone()
    assert finished is not None
    assert json.loads(summary)["error"].startswith("import stopped after ")
