"""A shop's training data as Parquet, for engines that run beyond one host (spark_engine).

The same three tables training reads (storage.catalog.read_products_frame,
storage.orders.read_purchase_lines, storage.events.read_events_frame), written under
`<out>/<table>/shop=<shop>/` with purchase lines and events partitioned by month
(`month=YYYY-MM`), so a cluster reads one shop, or one shop's recent months, without the rest.
A second export of the same shop replaces the first (its folders are written afresh).
pyarrow (the `spark` extra) writes the files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlite_utils

from storage.catalog import read_products_frame
from storage.errors import ExportError
from storage.events import read_events_frame
from storage.orders import read_purchase_lines

TABLES = ("products", "purchases", "events")


@dataclass(frozen=True)
class ExportCounts:
    """Rows written per table, and the months the partitioned tables span."""

    products: int
    purchases: int
    events: int
    months: tuple[str, ...]


def export_shop(db: sqlite_utils.Database, shop: str, out: Path) -> ExportCounts:
    """Write the shop's products, purchase lines and events under `out` (see module doc)."""
    try:
        import pyarrow  # noqa: F401  (pandas writes Parquet through it)
    except ImportError:
        raise ExportError(
            "writing Parquet needs pyarrow: pip install 'shoprec[spark]' (or pyarrow)"
        ) from None
    products = read_products_frame(db)
    purchases = read_purchase_lines(db)
    events = read_events_frame(db)
    purchases["month"] = purchases["created_at"].str.slice(0, 7)
    events["month"] = events["ts"].str.slice(0, 7)
    for table in TABLES:
        shutil.rmtree(out / table / f"shop={shop}", ignore_errors=True)
    _write(products.assign(shop=shop), out / "products", ["shop"])
    _write(purchases.assign(shop=shop), out / "purchases", ["shop", "month"])
    _write(events.assign(shop=shop), out / "events", ["shop", "month"])
    months = sorted(set(purchases["month"]) | set(events["month"]))
    return ExportCounts(len(products), len(purchases), len(events), tuple(months))


def _write(frame: pd.DataFrame, folder: Path, partitions: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder, partition_cols=partitions, index=False)
