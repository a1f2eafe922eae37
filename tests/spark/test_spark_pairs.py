"""The Spark engine counts pairs exactly as the engine does, on a shop exported as Parquet.

Runs Spark in local mode (`local[2]`); skipped with the reason when pyspark or Java is
missing. The shop goes through the real CLI (`shoprec export`), the local side through the
engine's own training path, and the two tables are compared whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config import load_settings
from engine.association import PLAIN_K, fit_association
from engine.training_data import build_item_space, prepare_interactions
from worker.training import load_training_data

pytestmark = [
    pytest.mark.spark,
    # py4j leaves its gateway sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
SHOP = "demo"


@pytest.fixture(scope="module")
def local_pairs(trained_demo_data: Path) -> tuple[np.ndarray, Any, np.ndarray]:
    """The engine's plain co-purchase table (before coverage re-ranking) and basket counts."""
    data = load_training_data(load_settings({}, data_dir=trained_demo_data), SHOP)
    items = build_item_space(data)
    inter = prepare_interactions(data, items)
    rules = fit_association(inter, set_rules=False, cover_discount=1.0)
    counts = np.asarray(inter.baskets.sum(axis=0)).ravel()
    return items.item_ids, rules, counts


def test_spark_counts_baskets_per_product_as_the_engine_does(
    spark: Any, exported: Path, local_pairs: tuple[np.ndarray, Any, np.ndarray]
) -> None:
    from spark_engine.pairs import item_basket_counts, read_baskets

    item_ids, _, counts = local_pairs
    rows = item_basket_counts(read_baskets(spark, str(exported), SHOP)).collect()
    on_spark = {row["product_id"]: row["baskets"] for row in rows}
    local = {str(pid): int(n) for pid, n in zip(item_ids, counts, strict=True) if n > 0}
    assert on_spark == local and len(local) > 100


def test_spark_top_partners_are_the_engines_plain_co_purchase_table(
    spark: Any, exported: Path, local_pairs: tuple[np.ndarray, Any, np.ndarray]
) -> None:
    from spark_engine.pairs import read_baskets, top_partners

    item_ids, rules, _ = local_pairs
    plain, together = rules.plain, rules.cooccurrence_counts
    local: dict[str, list[tuple[str, int]]] = {}
    for row in range(plain.indices.shape[0]):
        found = [
            (str(item_ids[i]), int(together[row, slot]))
            for slot, i in enumerate(plain.indices[row])
            if i >= 0
        ]
        if found:
            local[str(item_ids[row])] = found
    rows = top_partners(read_baskets(spark, str(exported), SHOP), PLAIN_K).collect()
    on_spark: dict[str, list[tuple[int, str, int]]] = {}
    for row in rows:
        on_spark.setdefault(row["anchor"], []).append(
            (row["rank"], row["partner"], row["together"])
        )
    spark_lists = {a: [(p, t) for _, p, t in sorted(v)] for a, v in on_spark.items()}
    assert sum(len(v) for v in local.values()) > 500  # a table worth comparing
    assert spark_lists == local


def test_the_job_writes_every_pair_table(spark: Any, exported: Path, tmp_path: Path) -> None:
    from spark_engine.pairs import write_tables

    written = write_tables(
        spark, str(exported), SHOP, str(tmp_path / "tables"), k=5, pair_floor=2, rule_floor=3
    )
    assert written["item_baskets"] > 100 and written["top_partners"] > written["item_baskets"]
    back = spark.read.parquet(str(tmp_path / "tables" / "top_partners"))
    assert back.count() == written["top_partners"]
    assert back.agg({"rank": "max"}).collect()[0][0] == 4
    pairs = spark.read.parquet(str(tmp_path / "tables" / "pair_counts"))
    assert written["pair_counts"] > 50  # the pairs seen twice or more
    assert pairs.agg({"together": "min"}).collect()[0][0] == 2
    lines = spark.read.parquet(str(tmp_path / "tables" / "rule_baskets"))
    counts = lines.groupBy("product_id").count()
    assert written["rule_baskets"] > 100 and counts.agg({"count": "min"}).collect()[0][0] >= 3


def test_spark_popularity_masses_are_the_engines(
    spark: Any, exported: Path, trained_demo_data: Path
) -> None:
    from engine.popularity import fit_popularity
    from spark_engine.popularity import decayed_masses

    data = load_training_data(load_settings({}, data_dir=trained_demo_data), SHOP)
    items = build_item_space(data)
    local = fit_popularity(prepare_interactions(data, items), items)
    rows = decayed_masses(spark, str(exported), SHOP, data.now.timestamp()).collect()
    on_spark = {row["product_id"]: row for row in rows}
    assert len(on_spark) > 100
    for index, product in enumerate(items.item_ids):
        row = on_spark.get(str(product))
        for name in ("popular", "recent_mass", "long_run_mass"):
            mine = float(getattr(local, name)[index])
            theirs = float(row[name]) if row is not None else 0.0
            assert theirs == pytest.approx(mine, rel=1e-5, abs=1e-6), (product, name)


def test_spark_content_neighbours_are_the_engines_row_for_row(
    spark: Any, exported: Path, trained_demo_data: Path
) -> None:
    from engine.content import fit_content
    from spark_engine.content import content_neighbours, training_data_from_export

    data = load_training_data(load_settings({}, data_dir=trained_demo_data), SHOP)
    local = fit_content(data, build_item_space(data))
    k = local.neighbours.indices.shape[1]
    from_export = training_data_from_export(str(exported), SHOP, data.now)
    items, indices, scores = content_neighbours(spark, from_export, k, block_rows=64)
    assert np.array_equal(items.item_ids, build_item_space(data).item_ids)
    assert (indices >= 0).sum() > 1000  # a table worth comparing
    assert np.array_equal(indices, local.neighbours.indices)
    np.testing.assert_allclose(scores, local.neighbours.scores, rtol=1e-6)
