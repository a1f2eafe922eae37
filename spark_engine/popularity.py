"""Popularity on Spark: each product's decayed purchase and view mass, as engine.popularity
counts it, so the trending and best-seller scores of a shop too large for one host come from
the same numbers.

A basket (one order's distinct product) counts 1 and a view or add-to-cart counts
VIEW_WEIGHT, each halved every half-life of days before `now` (the newest order or event
trained on). Three half-lives: best sellers (60 days), trending's recent mass (7) and its
long-run baseline (180).
"""

from __future__ import annotations

from typing import Any

from engine.popularity import (
    LONG_RUN_HALF_LIFE_DAYS,
    POPULAR_HALF_LIFE_DAYS,
    TRENDING_HALF_LIFE_DAYS,
    VIEW_WEIGHT,
)

HALF_LIVES = {
    "popular": POPULAR_HALF_LIFE_DAYS,
    "recent_mass": TRENDING_HALF_LIFE_DAYS,
    "long_run_mass": LONG_RUN_HALF_LIFE_DAYS,
}


def decayed_masses(spark: Any, export_dir: str, shop: str, now_epoch_s: float) -> Any:
    """DataFrame (product_id, popular, recent_mass, long_run_mass)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    def seconds(column: str) -> Any:
        return F.unix_timestamp(F.to_timestamp(F.col(column)))

    lines = spark.read.parquet(f"{export_dir}/purchases").where(F.col("shop") == shop)
    baskets = (
        lines.groupBy("order_id", "product_id")
        .agg(F.min(seconds("created_at")).alias("at"))
        .select("product_id", "at", F.lit(1.0).alias("weight"))
    )
    signals = baskets
    try:
        events = spark.read.parquet(f"{export_dir}/events").where(F.col("shop") == shop)
    except AnalysisException:  # an export without events has no events folder
        events = None
    if events is not None:
        views = events.where(F.col("product_id").isNotNull()).select(
            "product_id", seconds("ts").alias("at"), F.lit(VIEW_WEIGHT).alias("weight")
        )
        signals = signals.unionByName(views)
    age = F.greatest(F.lit(0.0), (F.lit(float(now_epoch_s)) - F.col("at")) / 86400.0)
    sums = [
        F.sum(F.col("weight") * F.pow(F.lit(0.5), age / F.lit(half_life))).alias(name)
        for name, half_life in HALF_LIVES.items()
    ]
    return signals.groupBy("product_id").agg(*sums)
