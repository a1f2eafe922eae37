"""`shoprec train --engine spark`: the same models as the local engine, trained with the
content neighbours on Spark, so serving cannot tell which engine trained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config import load_settings
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


def test_spark_training_serves_what_local_training_serves(
    spark: Any, trained_demo_data: Path, tmp_path: Path
) -> None:
    local_dir, spark_dir = tmp_path / "local", tmp_path / "spark"
    for copy in (local_dir, spark_dir):
        shutil.copytree(trained_demo_data, copy)
    local, local_manifest = _trained(local_dir, "local")
    on_spark, spark_manifest = _trained(spark_dir, "spark")
    assert (local_manifest["engine"], spark_manifest["engine"]) == ("local", "spark")
    assert np.array_equal(local.content.neighbours.indices, on_spark.content.neighbours.indices)
    assert (local.content.neighbours.indices >= 0).sum() > 1000  # a table worth comparing
    np.testing.assert_allclose(
        local.content.neighbours.scores, on_spark.content.neighbours.scores, rtol=1e-6
    )
    anchors = [str(p) for p in local.item_ids[:: max(1, local.items.n_items // 12)]]
    asked = 0
    for context, slots in CONTEXT_SLOTS.items():
        for slot in slots:
            for anchor in anchors[:4]:
                request = RecommendationRequest(context, slot, product_ids=(anchor,), limit=8)
                mine = [(r.product_id, r.strategy) for r in local.recommend(request)]
                theirs = [(r.product_id, r.strategy) for r in on_spark.recommend(request)]
                assert mine == theirs, (context, slot, anchor)
                asked += 1
    assert asked > 40


def test_an_unknown_engine_is_refused(trained_demo_data: Path) -> None:
    from worker.errors import TrainingError

    with pytest.raises(TrainingError, match="engine must be one of local, spark"):
        train_shop(load_settings({}, data_dir=trained_demo_data), SHOP, engine="hadoop")
