"""The Spark job's entry point, for `spark-submit` on a cluster or `python -m` locally:

    spark-submit --master yarn spark_engine/job.py --export s3a://bucket/shoprec \\
        --shop myshop --out s3a://bucket/shoprec-tables/myshop

It runs every Spark step of one shop and writes each table as Parquet under --out:
item_baskets, top_partners, pair_counts and rule_baskets (spark_engine.pairs), popularity
(spark_engine.popularity), gram (spark_engine.gram) and content_neighbours
(spark_engine.content), and a one-line JSON record of what it ran on (`job`). The driver of
`shoprec train --engine spark` reads them back (worker.spark_training): the tables of its own
run, or with `--tables DIR` those a separately submitted job wrote.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from engine.content import DEFAULT_K
from engine.training_data import latest_timestamp
from spark_engine.content import content_neighbours, training_data_from_export
from spark_engine.gram import gram_entries
from spark_engine.pairs import write_tables
from spark_engine.popularity import decayed_masses
from spark_engine.session import spark_session

# What the job was run on (shop, the moment decay is measured from, the orders, k), written
# beside its tables: a driver fitting from tables it did not run checks them against its own
# data (worker.spark_training).
JOB_RECORD = "job"
TABLES = (
    "item_baskets",
    "top_partners",
    "pair_counts",
    "rule_baskets",
    "popularity",
    "gram",
    "content_neighbours",
)


def neighbour_rows(item_ids: np.ndarray, indices: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """The content neighbour table as rows (product_id, rank, neighbour, score), padding
    (-1) left out; rank starts at 0."""
    rows, ranks = np.nonzero(indices >= 0)
    ids = np.asarray(item_ids, dtype=str)
    return pd.DataFrame(
        {
            "product_id": ids[rows],
            "rank": ranks.astype(np.int32),
            "neighbour": ids[indices[rows, ranks]],
            "score": scores[rows, ranks].astype(np.float32),
        }
    )


def run_job(
    spark: Any,
    export_dir: str,
    shop: str,
    out_dir: str,
    k: int = 50,
    content_k: int = DEFAULT_K,
    now: datetime | None = None,
    pair_floor: int | None = None,
    rule_floor: int | None = None,
) -> dict[str, int]:
    """Write every table of `shop` under `out_dir`; return the rows written per table.

    now: the moment decayed counts are measured from (default: the newest order or event
    in the export, as training takes it). pair_floor, rule_floor: the least baskets of a
    pair in pair_counts and of a product in rule_baskets (spark_engine.pairs.write_tables
    derives them from the number of orders by default)."""
    data = training_data_from_export(export_dir, shop, now or datetime.now(UTC))
    if now is None:
        latest = latest_timestamp(data)
        if latest is not None:
            data = replace(data, now=latest)
    moment = data.now.timestamp()
    written = write_tables(spark, export_dir, shop, out_dir, k, pair_floor, rule_floor)
    masses = decayed_masses(spark, export_dir, shop, moment)
    masses.write.mode("overwrite").parquet(f"{out_dir}/popularity")
    written["popularity"] = masses.count()
    gram = gram_entries(spark, export_dir, shop, moment)
    gram.write.mode("overwrite").parquet(f"{out_dir}/gram")
    written["gram"] = gram.count()
    items, indices, scores = content_neighbours(spark, data, content_k)
    frame = neighbour_rows(items.item_ids, indices, scores)
    schema = "product_id string, rank int, neighbour string, score float"
    # Plain rows, not a pandas frame: no Arrow conversion, whatever pandas the driver has.
    rows = list(zip(*(frame[c].tolist() for c in frame.columns), strict=True))
    table = spark.createDataFrame(rows, schema)
    table.write.mode("overwrite").parquet(f"{out_dir}/content_neighbours")
    written["content_neighbours"] = len(frame)
    job = {
        "shop": shop,
        "now": data.now.isoformat(),
        "orders": int(data.purchases["order_id"].astype(str).nunique()),
        "k": k,
        "content_k": content_k,
        "tables": written,
    }
    spark.createDataFrame([(json.dumps(job),)], "job string").coalesce(1).write.mode(
        "overwrite"
    ).text(f"{out_dir}/{JOB_RECORD}")
    return written


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run every table of one shop, print the row counts as JSON."""
    parser = argparse.ArgumentParser(description="shoprec training tables on Spark")
    parser.add_argument("--export", required=True, help="the folder `shoprec export` wrote")
    parser.add_argument("--shop", required=True)
    parser.add_argument("--out", required=True, help="where the tables are written")
    parser.add_argument("--k", type=int, default=50, help="co-purchase partners kept per product")
    parser.add_argument("--content-k", type=int, default=DEFAULT_K, help="similar items kept")
    parser.add_argument("--now", default=None, help="ISO time decay is measured from")
    parser.add_argument("--master", default=None, help="default: SHOPREC_SPARK_MASTER")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else None
    spark = spark_session(args.master)
    try:
        written = run_job(spark, args.export, args.shop, args.out, args.k, args.content_k, now)
        print(json.dumps(written))
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
