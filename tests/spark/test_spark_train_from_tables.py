"""`shoprec train --engine spark --tables DIR`: the driver fits from the tables a separately
submitted job wrote (as `spark-submit spark_engine/job.py` on a cluster would, with its own
defaults) and serves what local training serves; tables made from other data are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config import load_settings
from engine.base import RecommendationRequest
from engine.shop_artifacts import load_shop_models
from storage.db import models_dir

SHOP = "demo"
ROOT = Path(__file__).resolve().parents[2]


def _train_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin.cli", "--data-dir", str(data_dir), "--shop", SHOP,
         "train", "--engine", "spark", *args],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.spark
def test_training_from_a_submitted_jobs_tables(
    spark: Any, exported: Path, trained_demo_data: Path, tmp_path: Path
) -> None:
    from spark_engine.job import run_job

    tables = tmp_path / "tables"
    # What spark_engine/job.py's main runs, with its defaults (its own moment, floors and k),
    # in the tests' shared session (main would stop it).
    run_job(spark, str(exported), SHOP, str(tables))
    record = json.loads((next((tables / "job").glob("part-*"))).read_text())
    assert record["shop"] == SHOP and record["k"] == 50 and record["orders"] > 100
    spark_dir = tmp_path / "spark"
    shutil.copytree(trained_demo_data, spark_dir)
    done = _train_cli(spark_dir, "--tables", str(tables))
    assert done.returncode == 0, done.stderr
    assert "starting Spark" not in done.stdout  # no job of its own
    # The fixture's shop was trained locally on the same data.
    local = load_shop_models(models_dir(load_settings({}, data_dir=trained_demo_data), SHOP))
    folder = models_dir(load_settings({}, data_dir=spark_dir), SHOP)
    from_tables = load_shop_models(folder)
    assert json.loads((folder / "manifest.json").read_text())["engine"] == "spark"
    mine, theirs = local.rules.to_arrays(), from_tables.rules.to_arrays()
    for name in mine:
        assert np.array_equal(mine[name], theirs[name]), name
    assert np.array_equal(local.content.neighbours.indices, from_tables.content.neighbours.indices)
    anchors = [str(p) for p in local.item_ids[:: max(1, local.items.n_items // 10)]]
    for anchor in anchors:
        for slot in ("frequently_bought_together", "similar", "also_viewed"):
            request = RecommendationRequest("product", slot, product_ids=(anchor,), limit=8)
            assert [r.product_id for r in local.recommend(request)] == [
                r.product_id for r in from_tables.recommend(request)
            ], (slot, anchor)

    # An order after the export: the tables no longer describe the shop.
    order = tmp_path / "late.csv"
    order.write_text(
        "order_id,customer_id,created_at,product_id,quantity,unit_price\n"
        f"late-1,,2031-01-01T00:00:00+00:00,{anchors[0]},1,9.5\n"
    )
    imported = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "--data-dir", str(spark_dir), "--shop", SHOP,
         "import", "orders", str(order)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    stale = _train_cli(spark_dir, "--tables", str(tables))
    assert stale.returncode != 0
    assert "export the shop and run the job again" in stale.stderr
    # And tables are for the spark engine only.
    wrong = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "--data-dir", str(spark_dir), "--shop", SHOP,
         "train", "--tables", str(tables)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert wrong.returncode != 0 and "spark engine only" in wrong.stderr
