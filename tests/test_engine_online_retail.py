"""Floors on real data: UCI Online Retail, split 2011-09-01, K=10 (slow: ~1.5 min).

The data goes the way a shop's does: shoprec's importer into a SQLite store, then the
training loader that `shoprec train` and `shoprec evaluate` use.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shared_datasets import dataset_path

from config import Settings
from engine.evaluation import evaluate_split
from storage.db import open_shop_db
from worker.imports import import_file
from worker.training import load_training_data


@pytest.mark.slow
def test_online_retail_floors(settings: Settings) -> None:
    db = open_shop_db(settings.data_dir, "retail")
    import_file(db, "orders", dataset_path("online_retail", "online_retail.csv.gz"))
    db.close()
    data = load_training_data(settings, "retail")
    results = evaluate_split(data, datetime(2011, 9, 1, tzinfo=UTC), k=10)
    nxt, fbt = results["next_purchase"], results["fbt"]
    # Measured 2026-12-04: for_you NDCG popularity 0.055, taste (EASE x momentum) 0.130,
    # hybrid 0.131 (coverage 0.35); FBT HR rules 0.786, hybrid 0.802 (coverage 0.725). Floors
    # sit a little under the measurements so a regression fails, noise does not; the
    # targets (NDCG >= 0.13 at coverage >= 0.30, HR >= 0.80 at coverage >= 0.50) are the
    # coverage floors here and the docs' figures.
    assert nxt["popularity"]["ndcg"] > 0.045
    assert nxt["taste"]["ndcg"] > 0.125
    assert nxt["hybrid"]["ndcg"] > 0.129
    assert nxt["hybrid"]["coverage"] >= 0.30
    assert fbt["rules"]["hr"] > 0.76
    assert fbt["hybrid"]["hr"] > 0.798
    assert fbt["hybrid"]["coverage"] >= 0.50
