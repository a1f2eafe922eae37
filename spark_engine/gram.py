"""The Gram matrix EASE needs, on Spark: G = X^T W X over the shop's customers, as
engine.taste.fit_taste builds it before adding the side-information term, the L2 ridge and
inverting on the driver.

X is binary (customer x product): 1 where a known customer bought the product (a paid
purchase line) or viewed it or added it to the cart. W weights each customer by
0.5^(days since their latest order / CUSTOMER_HALF_LIFE_DAYS), divided by the mean over
customers with an order (engine.taste.customer_recency): customers who only viewed weigh 0,
unless no customer has an order, when every customer weighs 1. G[i, j] is therefore the
summed weight of the customers holding both i and j, a self-join of each customer's
products, summed. Only the (i, j, value) entries that are non-zero leave Spark.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from engine.taste import CUSTOMER_HALF_LIFE_DAYS, DEFAULT_MAX_ITEMS


def _seconds(column: str) -> Any:
    from pyspark.sql import functions as F

    return F.to_timestamp(F.col(column)).cast("double")


def customer_products(spark: Any, export_dir: str, shop: str) -> Any:
    """DataFrame (customer_id, product_id), distinct: X's non-zero entries."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    lines = spark.read.parquet(f"{export_dir}/purchases").where(F.col("shop") == shop)
    rows = lines.where(F.col("customer_id").isNotNull()).select("customer_id", "product_id")
    try:
        events = spark.read.parquet(f"{export_dir}/events").where(F.col("shop") == shop)
    except AnalysisException:  # an export without events has no events folder
        events = None
    if events is not None:
        seen = events.where(F.col("customer_id").isNotNull() & F.col("product_id").isNotNull())
        rows = rows.unionByName(seen.select("customer_id", "product_id"))
    return rows.distinct()


def customer_weights(spark: Any, export_dir: str, shop: str, now_epoch_s: float) -> Any:
    """DataFrame (customer_id, weight) of the customers with an order (the others weigh 0),
    or None when no customer has an order (then every customer weighs 1)."""
    from pyspark.sql import functions as F

    lines = spark.read.parquet(f"{export_dir}/purchases").where(F.col("shop") == shop)
    age = F.greatest(F.lit(0.0), (F.lit(float(now_epoch_s)) - _seconds("created_at")) / 86400.0)
    latest = (
        lines.where(F.col("customer_id").isNotNull())
        .groupBy("customer_id")
        .agg(F.min(age).alias("age"))
        .select("customer_id", F.pow(F.lit(0.5), F.col("age") / CUSTOMER_HALF_LIFE_DAYS).alias("w"))
        .where(F.col("w") > 0)
        .cache()
    )
    mean = latest.agg(F.avg("w")).collect()[0][0]
    if mean is None:
        return None
    return latest.select("customer_id", (F.col("w") / F.lit(float(mean))).alias("weight"))


def gram_entries(spark: Any, export_dir: str, shop: str, now_epoch_s: float) -> Any:
    """DataFrame (i, j, value): product ids i, j and G[i, j] (both orders, and i == j)."""
    from pyspark.sql import functions as F

    rows = customer_products(spark, export_dir, shop)
    weights = customer_weights(spark, export_dir, shop, now_epoch_s)
    if weights is None:
        weighted = rows.withColumn("weight", F.lit(1.0))
    else:
        weighted = rows.join(weights, "customer_id")
    left = weighted.select("customer_id", F.col("product_id").alias("i"), "weight")
    right = rows.select("customer_id", F.col("product_id").alias("j"))
    return left.join(right, "customer_id").groupBy("i", "j").agg(F.sum("weight").alias("value"))


def ease_products(rows: Any, max_items: int = DEFAULT_MAX_ITEMS) -> list[str]:
    """The product ids EASE fits on, sorted: the max_items reached by most customers (ties
    to the lower product id), from customer_products' rows."""
    from pyspark.sql import functions as F

    reach = rows.groupBy("product_id").agg(F.count("*").alias("customers"))
    top = reach.orderBy(F.col("customers").desc(), F.col("product_id")).limit(max_items)
    return sorted(str(row["product_id"]) for row in top.collect())


def collect_gram(entries: Any, item_ids: np.ndarray) -> sp.csr_matrix:
    """CSR float64 (n, n) on the driver, rows and columns in `item_ids`' order (the engine's
    item space, sorted product ids); entries outside it are dropped."""
    order = np.argsort(item_ids)
    ordered = np.asarray(item_ids, dtype=str)[order]
    got = entries.collect()  # rows, not toPandas: fewer moving parts than Arrow on the driver
    n = len(item_ids)
    if not got or n == 0:
        return sp.csr_matrix((n, n), dtype=np.float64)

    def index(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.minimum(np.searchsorted(ordered, keys), n - 1)
        return order[pos], ordered[pos] == keys

    rows, row_ok = index(np.asarray([str(r["i"]) for r in got], dtype=str))
    cols, col_ok = index(np.asarray([str(r["j"]) for r in got], dtype=str))
    keep = row_ok & col_ok
    values = np.asarray([float(r["value"]) for r in got], dtype=np.float64)[keep]
    gram = sp.csr_matrix((values, (rows[keep], cols[keep])), shape=(n, n))
    gram.sort_indices()
    return gram
