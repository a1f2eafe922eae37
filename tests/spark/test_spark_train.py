"""`shoprec train --engine spark`: the shop is exported, every Spark step runs
(spark_engine.job) and the driver fits from its tables; the served lists are the local
engine's, so serving cannot tell which engine trained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import engine.association as association
from config import load_settings
from engine.association import set_rule_floor
from engine.base import CONTEXT_SLOTS, RecommendationRequest
from engine.shop_artifacts import load_shop_models
from storage.db import models_dir
from worker.training import train_shop

SHOP = "demo"


def _trained(data_dir: Path, engine: str) -> Any:
    settings = load_settings({}, data_dir=data_dir)
    train_shop(settings, SHOP, engine=engine)
    folder = models_dir(settings, SHOP)
    return load_shop_models(folder), json.loads((folder / "manifest.json").read_text())


class Watch:
    """What one training counted: the baskets of each pair count (engine.association.
    count_pairs), the set rules' itemsets, and the matrices their itemsets were counted on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pair_baskets: list[int] = []
        self.itemsets: list[pd.DataFrame] = []
        self.itemset_inputs: list[Any] = []
        count_pairs, rule_itemsets = association.count_pairs, association.rule_itemsets
        count_itemsets = association.count_itemsets

        def counting(baskets: Any) -> Any:
            self.pair_baskets.append(baskets.shape[0])
            return count_pairs(baskets)

        def mining(baskets: Any, counted: Any = None) -> pd.DataFrame:
            frame = rule_itemsets(baskets, counted)
            self.itemsets.append(frame)
            return frame

        def cutting(matrix: Any, *args: Any, **kwargs: Any) -> Any:
            self.itemset_inputs.append(matrix)
            return count_itemsets(matrix, *args, **kwargs)

        monkeypatch.setattr(association, "count_pairs", counting)
        monkeypatch.setattr(association, "rule_itemsets", mining)
        monkeypatch.setattr(association, "count_itemsets", cutting)


@pytest.mark.spark
def test_spark_training_serves_what_local_training_serves(
    spark: Any, trained_demo_data: Path, tmp_path: Path
) -> None:
    local_dir, spark_dir = tmp_path / "local", tmp_path / "spark"
    for copy in (local_dir, spark_dir):
        shutil.copytree(trained_demo_data, copy)
    with pytest.MonkeyPatch.context() as patch:
        local_watch = Watch(patch)
        local, local_manifest = _trained(local_dir, "local")
    with pytest.MonkeyPatch.context() as patch:
        spark_watch = Watch(patch)
        on_spark, spark_manifest = _trained(spark_dir, "spark")
    assert (local_manifest["engine"], spark_manifest["engine"]) == ("local", "spark")
    # The co-purchase pairs and the set rules' baskets came from the job's tables: the
    # driver counted pairs only for validation's fit on the older orders, never over all.
    n_baskets = local.rules.n_baskets
    assert n_baskets in local_watch.pair_baskets
    assert spark_watch.pair_baskets == [n for n in local_watch.pair_baskets if n < n_baskets]
    # The same itemsets with the same supports, counted on the driver over baskets the job
    # cut to the frequent items (fewer entries than the full baskets).
    assert len(local_watch.itemsets) == len(spark_watch.itemsets) == 1
    assert len(local_watch.itemsets[0]) > 0
    pd.testing.assert_frame_equal(local_watch.itemsets[0], spark_watch.itemsets[0])
    full, cut = local_watch.itemset_inputs[-1], spark_watch.itemset_inputs[-1]
    assert cut.shape == full.shape and 0 < cut.nnz < full.nnz
    held = np.asarray((cut > 0).sum(axis=0)).ravel()
    assert held[held > 0].min() >= set_rule_floor(n_baskets)
    # The whole rules artifact is the local one: the item-item (plain co-purchase) table
    # and its counts, the scored pair table, the set rules.
    mine, theirs = local.rules.to_arrays(), on_spark.rules.to_arrays()
    assert mine.keys() == theirs.keys() and "cooccurrence_indices" in mine
    for name in mine:
        assert np.array_equal(mine[name], theirs[name]), name
    assert (local.rules.plain.indices >= 0).sum() > 500  # a table worth comparing
    assert np.array_equal(local.content.neighbours.indices, on_spark.content.neighbours.indices)
    assert (local.content.neighbours.indices >= 0).sum() > 1000  # a table worth comparing
    np.testing.assert_allclose(
        local.content.neighbours.scores, on_spark.content.neighbours.scores, rtol=1e-6
    )
    # Popularity and EASE came from the job's tables, not the local counts.
    np.testing.assert_allclose(local.popularity.popular, on_spark.popularity.popular, rtol=1e-5)
    np.testing.assert_allclose(local.popularity.trending, on_spark.popularity.trending, rtol=1e-4)
    assert np.array_equal(local.taste.ease_items, on_spark.taste.ease_items)
    assert local.taste.ease_items.size > 50
    np.testing.assert_allclose(
        local.taste.ease_weights, on_spark.taste.ease_weights, rtol=1e-3, atol=1e-5
    )
    anchors = [str(p) for p in local.item_ids[:: max(1, local.items.n_items // 12)]]
    customers = [
        str(c) for c in local.taste.customer_ids[:: max(1, local.taste.customer_ids.size // 6)]
    ]
    asked, served, slots_seen = 0, 0, set()
    for context, slots in CONTEXT_SLOTS.items():
        for slot in slots:
            for anchor, customer in zip(anchors[:4], customers[:4], strict=True):
                request = RecommendationRequest(
                    context, slot, product_ids=(anchor,), customer_id=customer, limit=8
                )
                mine = [(r.product_id, r.strategy) for r in local.recommend(request)]
                theirs = [(r.product_id, r.strategy) for r in on_spark.recommend(request)]
                assert mine == theirs, (context, slot, anchor, customer)
                asked += 1
                served += len(mine)
                if mine:
                    slots_seen.add(slot)
    assert asked > 40 and served > asked * 4  # most lists are full, not empty
    assert {"frequently_bought_together", "similar", "also_viewed", "trending", "for_you"} <= (
        slots_seen
    )


@pytest.mark.spark
def test_the_job_writes_every_table(spark: Any, exported: Path, tmp_path: Path) -> None:
    from spark_engine.job import TABLES, run_job

    written = run_job(spark, str(exported), SHOP, str(tmp_path / "tables"), k=5)
    assert set(written) == set(TABLES)
    for name in TABLES:
        assert written[name] > 100, name
        assert spark.read.parquet(str(tmp_path / "tables" / name)).count() == written[name]


def test_an_unknown_engine_is_refused(trained_demo_data: Path) -> None:
    from worker.errors import TrainingError

    with pytest.raises(TrainingError, match="engine must be one of local, spark"):
        train_shop(load_settings({}, data_dir=trained_demo_data), SHOP, engine="hadoop")
