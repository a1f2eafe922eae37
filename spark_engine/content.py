"""Content neighbours on Spark: the one training step measured to gain from a cluster (its
cost grows with the square of the catalog), computed with the engine's own kernel.

The driver reads the export, builds the item space and the TF-IDF rows exactly as training
does (engine.training_data, engine.content.item_features); the matrix goes to the executors
once (a broadcast), each task takes a block of BLOCK_ROWS rows, multiplies it by the whole
matrix and keeps each row's top k (engine.neighbours.top_k_sparse_rows, ties to the lower
index: engine.neighbours.neighbour_block, the same block fit_content runs). So the table is the
engine's, row for row; only where the blocks run differs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.content import BLOCK_ROWS, NeighbourBlocks, fit_content
from engine.neighbours import neighbour_block
from engine.training_data import ItemSpace, TrainingData, build_item_space

_PARTITIONS = ("shop", "month")


def _table(export_dir: str, name: str, shop: str) -> pd.DataFrame:
    folder = Path(export_dir) / name / f"shop={shop}"
    if not folder.is_dir():
        return pd.DataFrame()
    frame = pd.read_parquet(folder)
    return frame.drop(columns=[c for c in _PARTITIONS if c in frame.columns])


def training_data_from_export(export_dir: str, shop: str, now: datetime) -> TrainingData:
    """The shop's TrainingData read back from `shoprec export`'s Parquet (driver side)."""
    events = _table(export_dir, "events", shop)
    if events.empty:
        events = pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"])
    purchases = _table(export_dir, "purchases", shop)
    ordered = purchases.sort_values(["created_at", "order_id"], kind="stable")
    return TrainingData(_table(export_dir, "products", shop), ordered, events, now)


def spark_neighbour_blocks(spark: Any, block_rows: int = BLOCK_ROWS) -> NeighbourBlocks:
    """engine.content's neighbour blocks run on `spark`'s executors: the matrix is broadcast
    once, each task multiplies a block of `block_rows` rows by it and keeps each row's top k
    (engine.neighbours.neighbour_block, the kernel fit_content runs locally)."""

    def blocks(matrix: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = matrix.shape[0]
        indices = np.full((n, k), -1, np.int32)
        scores = np.zeros((n, k), np.float32)
        shared = spark.sparkContext.broadcast((matrix, matrix.T.tocsc()))

        def block(start: int) -> tuple[int, np.ndarray, np.ndarray]:
            rows, transposed = shared.value
            stop = min(start + block_rows, rows.shape[0])
            return start, *neighbour_block(rows, transposed, start, stop, k)

        starts = list(range(0, n, block_rows))
        tasks = spark.sparkContext.parallelize(starts, max(1, min(len(starts), 256)))
        for start, found, values in tasks.map(block).collect():
            stop = start + found.shape[0]
            indices[start:stop], scores[start:stop] = found, values
        shared.unpersist()
        return indices, scores

    return blocks


def content_neighbours(
    spark: Any, data: TrainingData, k: int, block_rows: int = BLOCK_ROWS
) -> tuple[ItemSpace, np.ndarray, np.ndarray]:
    """(item space, indices int32 (n_items, k), scores float32 (n_items, k)): each item's k
    most similar items by cosine of TF-IDF rows, -1 / 0 padded, as engine.content.fit_content."""
    items = build_item_space(data)
    fitted = fit_content(data, items, k, blocks=spark_neighbour_blocks(spark, block_rows))
    return items, fitted.neighbours.indices, fitted.neighbours.scores
