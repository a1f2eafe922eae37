"""The Gram matrix EASE inverts, counted on Spark from the Parquet export, is the engine's
own (engine.taste.fit_taste before the side term and ridge), entry for entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from config import load_settings
from engine.taste import customer_history, customer_recency, fit_taste
from engine.training_data import build_item_space, prepare_interactions
from worker.training import load_training_data

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
SHOP = "demo"


def test_spark_gram_is_the_matrix_ease_inverts(
    spark: Any, exported: Path, trained_demo_data: Path
) -> None:
    from spark_engine.gram import collect_gram, customer_products, ease_products, gram_entries

    data = load_training_data(load_settings({}, data_dir=trained_demo_data), SHOP)
    items = build_item_space(data)
    inter = prepare_interactions(data, items)
    binary = customer_history(inter)
    binary.data[:] = 1.0
    recency = sp.diags(customer_recency(inter))
    local = (binary.T @ recency @ binary).tocsr()

    entries = gram_entries(spark, str(exported), SHOP, data.now.timestamp())
    on_spark = collect_gram(entries, items.item_ids)
    assert local.nnz > 1000  # a matrix worth comparing
    assert not np.allclose(local.data, np.round(local.data))  # recency weights, not counts
    assert ((on_spark != 0) != (local != 0)).nnz == 0  # the same non-zero entries
    np.testing.assert_allclose(on_spark.toarray(), local.toarray(), rtol=1e-6, atol=1e-9)

    # EASE's own item set (the items reached by most customers) and its gram over them.
    taste = fit_taste(inter, max_items=60)
    active = taste.ease_items
    chosen = ease_products(customer_products(spark, str(exported), SHOP), max_items=60)
    assert chosen == [str(p) for p in items.item_ids[active]] and len(chosen) == 60
    x = binary[:, active]
    engine_gram = (x.T @ recency @ x).toarray()
    np.testing.assert_allclose(
        on_spark[active][:, active].toarray(), engine_gram, rtol=1e-6, atol=1e-9
    )
