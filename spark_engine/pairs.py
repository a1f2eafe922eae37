"""Pair co-occurrence on Spark: how many baskets hold each item, and each item's top-k
co-purchased items, as the engine counts them (engine.association).

A basket is one order's distinct products among its paid purchase lines (what
storage.orders.read_purchase_lines gives training). A pair's count is the number of
baskets holding both. Each anchor keeps its `k` partners with the most baskets together,
ties to the lower product id: the engine's item indexes follow sorted product ids, so this
is the same order as its plain co-purchase table before coverage re-ranking.
"""

from __future__ import annotations

from typing import Any

from spark_engine.errors import SparkEngineError


def read_baskets(spark: Any, export_dir: str, shop: str) -> Any:
    """DataFrame (order_id, product_id), one row per distinct product of each order."""
    from pyspark.sql import functions as F

    lines = spark.read.parquet(f"{export_dir}/purchases").where(F.col("shop") == shop)
    if not lines.columns:
        raise SparkEngineError(f"no exported purchases of shop {shop!r} under {export_dir}")
    return lines.select("order_id", "product_id").distinct()


def item_basket_counts(baskets: Any) -> Any:
    """DataFrame (product_id, baskets): how many baskets hold each product."""
    return baskets.groupBy("product_id").count().withColumnRenamed("count", "baskets")


def top_partners(baskets: Any, k: int) -> Any:
    """DataFrame (anchor, partner, together, rank): each anchor's k partners by baskets
    together (descending), ties to the lower product id; rank starts at 0."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    left = baskets.select("order_id", F.col("product_id").alias("anchor"))
    right = baskets.select("order_id", F.col("product_id").alias("partner"))
    pairs = (
        left.join(right, "order_id")
        .where(F.col("anchor") != F.col("partner"))
        .groupBy("anchor", "partner")
        .agg(F.count("*").alias("together"))
    )
    order = Window.partitionBy("anchor").orderBy(F.col("together").desc(), F.col("partner"))
    ranked = pairs.withColumn("rank", F.row_number().over(order) - 1)
    return ranked.where(F.col("rank") < k)


def write_tables(spark: Any, export_dir: str, shop: str, out_dir: str, k: int) -> dict[str, int]:
    """Compute both tables for `shop` and write them as Parquet under `out_dir`; return the
    rows written per table (the job `spark-submit` runs)."""
    baskets = read_baskets(spark, export_dir, shop).cache()
    counts = item_basket_counts(baskets)
    partners = top_partners(baskets, k)
    counts.write.mode("overwrite").parquet(f"{out_dir}/item_baskets")
    partners.write.mode("overwrite").parquet(f"{out_dir}/top_partners")
    return {"item_baskets": counts.count(), "top_partners": partners.count()}
