"""`shoprec train --engine spark` on the driver: export the shop, run the Spark job
(spark_engine.job), then fit the models from its tables through the local fit path; or,
with `--tables DIR`, fit from the tables a job submitted to a cluster wrote.

What grows with the data is counted by the job: the content neighbours (the square of the
catalog), the popularity masses, EASE's Gram matrix, the co-purchase pairs (each item's
plain top partners, and every pair down to validation's lowest support floor, which the
driver ranks by pair_score without counting them) and the baskets cut to the set rules'
frequent items (the driver counts the itemsets over those). EASE's inversion, the rules'
scoring and coverage ordering, validation's fits on the older orders (which count their
own pairs), the set rules' mining and blending stay on the driver (engine.shop_fit). The
artifacts are then written exactly as local training writes them (worker.training), so
serving does not know which engine trained.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from config import Settings
from engine.association import PLAIN_K, PairCounts, set_rule_floor
from engine.content import NeighbourBlocks
from engine.shop_fit import Precomputed, fit_shop_models
from engine.shop_models import ShopModels
from engine.shop_validation import lowest_floor
from engine.training_data import TrainingData, build_item_space
from spark_engine.job import JOB_RECORD
from storage.db import open_shop_db
from storage.parquet_export import export_shop
from worker.errors import TrainingError


def read_table(tables_dir: Path, name: str) -> pd.DataFrame:
    """One table the job wrote (a folder of Parquet parts), as a pandas frame."""
    folder = tables_dir / name
    if not folder.is_dir():
        raise TrainingError(f"the Spark job wrote no {name} table under {tables_dir}")
    return pd.read_parquet(folder)


class ItemPositions:
    """Product ids of the job's tables as positions in the driver's item space; the id map
    is built once per assembly, not once per table column (a catalog of 300,000 ids)."""

    def __init__(self, item_ids: np.ndarray) -> None:
        self.size = len(item_ids)
        self._position = {str(p): i for i, p in enumerate(item_ids)}

    def of(self, ids: pd.Series) -> np.ndarray:
        """Int64 positions, -1 for an id the driver does not know."""
        return ids.astype(str).map(self._position).fillna(-1).to_numpy(np.int64)

    def pair(self, rows: pd.Series, cols: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two id columns as (rows, cols) positions, and where both are known."""
        r, c = self.of(rows), self.of(cols)
        return r, c, (r >= 0) & (c >= 0)


def table_neighbour_blocks(table: pd.DataFrame, positions: ItemPositions) -> NeighbourBlocks:
    """engine.content's neighbour blocks answered from the job's content_neighbours table
    (product_id, rank, neighbour, score), laid out on the driver's item space."""

    def blocks(matrix: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = matrix.shape[0]
        if n != positions.size:
            raise TrainingError("the content table's item space is not the driver's")
        indices = np.full((n, k), -1, np.int32)
        scores = np.zeros((n, k), np.float32)
        r, c, known = positions.pair(table["product_id"], table["neighbour"])
        ranks = table["rank"].to_numpy()
        keep = known & (ranks < k)
        if not keep.all():
            raise TrainingError("the content table names products the driver does not know")
        indices[r, ranks] = c.astype(np.int32)
        scores[r, ranks] = table["score"].to_numpy().astype(np.float32)
        return indices, scores

    return blocks


def popularity_masses(
    table: pd.DataFrame, item_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(popular, recent_mass, long_run_mass) float64 on the item space from the job's
    popularity table; products with no order or view weigh 0."""
    frame = table.set_index(table["product_id"].astype(str))
    ids = np.asarray(item_ids, dtype=str)
    columns = ("popular", "recent_mass", "long_run_mass")
    got = [frame[c].reindex(ids).fillna(0.0).to_numpy(np.float64) for c in columns]
    return got[0], got[1], got[2]


def gram_matrix(table: pd.DataFrame, positions: ItemPositions) -> sp.csr_matrix:
    """EASE's Gram matrix (CSR float64 on the item space) from the job's gram table."""
    n = positions.size
    r, c, keep = positions.pair(table["i"], table["j"])
    values = table["value"].to_numpy(np.float64)[keep]
    gram = sp.csr_matrix((values, (r[keep], c[keep])), shape=(n, n))
    gram.sort_indices()
    return gram


def counted_pairs(
    tables_dir: Path, positions: ItemPositions, n_baskets: int, pair_floor: int, rule_floor: int
) -> PairCounts:
    """engine.association.PairCounts on the item space from the job's top_partners,
    pair_counts (written at pair_floor) and rule_baskets (at rule_floor) tables."""
    n = positions.size
    partners = read_table(tables_dir, "top_partners")
    r, c, known = positions.pair(partners["anchor"], partners["partner"])
    ranks = partners["rank"].to_numpy(np.int64)
    if not known.all() or (ranks >= PLAIN_K).any():
        raise TrainingError(
            f"the top_partners table names products the driver does not know or ranks past "
            f"{PLAIN_K}"
        )
    plain_indices = np.full((n, PLAIN_K), -1, np.int32)
    plain_together = np.zeros((n, PLAIN_K), np.float32)
    plain_indices[r, ranks] = c
    plain_together[r, ranks] = partners["together"].to_numpy(np.float32)
    pairs = read_table(tables_dir, "pair_counts")
    anchors, others, known = positions.pair(pairs["anchor"], pairs["partner"])
    if not known.all():
        raise TrainingError("the pair_counts table names products the driver does not know")
    lines = read_table(tables_dir, "rule_baskets")
    orders, order_ids = pd.factorize(lines["order_id"].astype(str), sort=True)
    columns = positions.of(lines["product_id"])
    if (columns < 0).any() or len(order_ids) > n_baskets:
        raise TrainingError("the rule_baskets table is not the driver's orders and products")
    rule_baskets = sp.csr_matrix(
        (np.ones(len(lines), np.float32), (orders, columns)), shape=(n_baskets, n)
    )
    return PairCounts(
        anchors,
        others,
        pairs["together"].to_numpy(np.float64),
        pair_floor,
        plain_indices,
        plain_together,
        rule_baskets,
        rule_floor,
    )


def export_for_spark(settings: Settings, shop: str, out: Path) -> None:
    """`shoprec export` of the shop into `out` (what the job reads)."""
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        export_shop(db, shop, out)
    finally:
        db.close()


def fit_on_spark(
    settings: Settings,
    shop: str,
    data: TrainingData,
    say: Callable[[str], None],
    tables: Path | None = None,
) -> ShopModels:
    """Export -> Spark job (SHOPREC_SPARK_MASTER, in-process driver) -> fit from its tables.

    tables: the folder of a job submitted separately (`spark-submit spark_engine/job.py` on a
    cluster, over `shoprec export`'s files) to fit from instead of running one; its record
    must name this shop's data as the driver read it (check_job_record)."""
    n_baskets = int(data.purchases["order_id"].astype(str).nunique())
    # The floors the driver's fit will check the tables against (engine.association).
    pair_floor, rule_floor = lowest_floor(n_baskets), set_rule_floor(n_baskets)
    if tables is not None:
        check_job_record(tables, shop, data, n_baskets)
        say(f"assembling the models from the Spark tables in {tables}")
        return _fit_from_tables(tables, data, n_baskets, pair_floor, rule_floor)
    from spark_engine.errors import SparkUnavailable
    from spark_engine.job import run_job
    from spark_engine.session import spark_session

    say("starting Spark")
    try:
        from pyspark.sql import SparkSession

        ours = SparkSession.getActiveSession() is None  # a session we did not start stays up
        spark = spark_session(app_name="shoprec-train")
    except ImportError:
        raise TrainingError(
            "the Spark engine needs pyspark: pip install 'shoprec[spark]' (and Java 17)"
        ) from None
    except SparkUnavailable as exc:
        raise TrainingError(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="shoprec-spark-") as work:
        export_dir, tables_dir = Path(work) / "export", Path(work) / "tables"
        try:
            say("exporting the shop as Parquet")
            export_for_spark(settings, shop, export_dir)
            say("running the Spark steps (pairs, content neighbours, popularity, Gram)")
            run_job(
                spark,
                str(export_dir),
                shop,
                str(tables_dir),
                k=PLAIN_K,
                now=data.now,
                pair_floor=pair_floor,
                rule_floor=rule_floor,
            )
        finally:
            if ours:
                spark.stop()
        say("assembling the models from the Spark tables")
        return _fit_from_tables(tables_dir, data, n_baskets, pair_floor, rule_floor)


def _fit_from_tables(
    tables_dir: Path, data: TrainingData, n_baskets: int, pair_floor: int, rule_floor: int
) -> ShopModels:
    """The local fit path with the job's tables for the steps that ran on Spark."""
    items = build_item_space(data)
    positions = ItemPositions(items.item_ids)
    table = read_table(tables_dir, "content_neighbours")
    pieces = Precomputed(
        masses=popularity_masses(read_table(tables_dir, "popularity"), items.item_ids),
        gram=gram_matrix(read_table(tables_dir, "gram"), positions),
        pairs=counted_pairs(tables_dir, positions, n_baskets, pair_floor, rule_floor),
    )
    blocks = table_neighbour_blocks(table, positions)
    return fit_shop_models(data, content_blocks=blocks, precomputed=pieces)


def check_job_record(tables_dir: Path, shop: str, data: TrainingData, n_baskets: int) -> None:
    """Refuse tables made from other data than the driver's: another shop, another moment
    decay was measured from, other orders (the shop changed since its export), or another
    number of co-purchase partners. The fit checks the support floors itself."""
    folder = tables_dir / JOB_RECORD
    parts = sorted(folder.glob("part-*")) if folder.is_dir() else []
    lines = [line for part in parts for line in part.read_text().splitlines() if line.strip()]
    if len(lines) != 1:
        raise TrainingError(
            f"{tables_dir} holds no record of the Spark job ({JOB_RECORD}/): run "
            "spark_engine/job.py of this version to write the tables"
        )
    try:
        job = json.loads(lines[0])
        now = datetime.fromisoformat(job["now"])
        facts = (job["shop"], int(job["orders"]), int(job["k"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(
            f"the Spark job's record in {tables_dir} cannot be read: {exc}"
        ) from exc
    if facts[0] != shop:
        raise TrainingError(f"the tables in {tables_dir} are shop {facts[0]!r}'s, not {shop!r}")
    if facts[2] != PLAIN_K:
        raise TrainingError(
            f"the job kept {facts[2]} partners per product; run it with --k {PLAIN_K}"
        )
    if now != data.now or facts[1] != n_baskets:
        raise TrainingError(
            f"the tables in {tables_dir} were made from {facts[1]:,} orders up to "
            f"{now.isoformat()}; the shop now has {n_baskets:,} up to {data.now.isoformat()}: "
            "export the shop and run the job again (or train without --tables)"
        )
