"""Pair co-occurrence on Spark: how many baskets hold each item, each item's top-k
co-purchased items, the pairs a full fit ranks, and the baskets set rules are counted over,
as the engine counts them (engine.association).

A basket is one order's distinct products among its paid purchase lines (what
storage.orders.read_purchase_lines gives training). A pair's count is the number of
baskets holding both. Each anchor keeps its `k` partners with the most baskets together,
ties to the lower product id: the engine's item indexes follow sorted product ids, so this
is the same order as its plain co-purchase table before coverage re-ranking.
"""

from __future__ import annotations

from typing import Any

from engine.association import set_rule_floor
from engine.shop_validation import lowest_floor
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


def pairs_together(baskets: Any) -> Any:
    """DataFrame (anchor, partner, together): every ordered pair of distinct products some
    basket holds, with the number of baskets holding both."""
    from pyspark.sql import functions as F

    left = baskets.select("order_id", F.col("product_id").alias("anchor"))
    right = baskets.select("order_id", F.col("product_id").alias("partner"))
    return (
        left.join(right, "order_id")
        .where(F.col("anchor") != F.col("partner"))
        .groupBy("anchor", "partner")
        .agg(F.count("*").alias("together"))
    )


def top_partners(baskets: Any, k: int, pairs: Any = None) -> Any:
    """DataFrame (anchor, partner, together, rank): each anchor's k partners by baskets
    together (descending), ties to the lower product id; rank starts at 0.
    pairs: pairs_together(baskets) when already at hand."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    pairs = pairs_together(baskets) if pairs is None else pairs
    order = Window.partitionBy("anchor").orderBy(F.col("together").desc(), F.col("partner"))
    ranked = pairs.withColumn("rank", F.row_number().over(order) - 1)
    return ranked.where(F.col("rank") < k)


def frequent_baskets(baskets: Any, floor: int) -> Any:
    """DataFrame (order_id, product_id): the baskets cut to the products held by at least
    `floor` baskets (what the set rules' itemsets are counted over on the driver)."""
    frequent = item_basket_counts(baskets).where(f"baskets >= {int(floor)}")
    return baskets.join(frequent.select("product_id"), "product_id", "left_semi").select(
        "order_id", "product_id"
    )


def write_tables(
    spark: Any,
    export_dir: str,
    shop: str,
    out_dir: str,
    k: int,
    pair_floor: int | None = None,
    rule_floor: int | None = None,
) -> dict[str, int]:
    """Compute the pair tables for `shop` and write them as Parquet under `out_dir`; return
    the rows written per table (the job `spark-submit` runs).

    item_baskets (product_id, baskets); top_partners (anchor, partner, together, rank);
    pair_counts (anchor, partner, together): the pairs held by at least pair_floor baskets
    (default: the lowest support floor validation may choose, engine.shop_validation);
    rule_baskets (order_id, product_id): frequent_baskets at rule_floor (default: the set
    rules' floor, engine.association.set_rule_floor)."""
    from pyspark.sql import functions as F

    baskets = read_baskets(spark, export_dir, shop).cache()
    n_baskets = baskets.select("order_id").distinct().count()
    pair_floor = lowest_floor(n_baskets) if pair_floor is None else pair_floor
    rule_floor = set_rule_floor(n_baskets) if rule_floor is None else rule_floor
    pairs = pairs_together(baskets).cache()
    tables = {
        "item_baskets": item_basket_counts(baskets),
        "top_partners": top_partners(baskets, k, pairs),
        "pair_counts": pairs.where(F.col("together") >= pair_floor),
        "rule_baskets": frequent_baskets(baskets, rule_floor),
    }
    written = {}
    for name, table in tables.items():
        table.write.mode("overwrite").parquet(f"{out_dir}/{name}")
        written[name] = spark.read.parquet(f"{out_dir}/{name}").count()
    pairs.unpersist()
    baskets.unpersist()
    return written
