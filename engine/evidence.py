"""What one request tells the models, as item indexes: built once per request by
ShopModels and read by every source's scoring and by the reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class PairSource(NamedTuple):
    """Whose pairs a request's rules come from: the seeds' own, or lent (borrowed = True) by
    look-alikes or content neighbours, weighted by how alike they are."""

    lenders: np.ndarray
    weights: np.ndarray
    borrowed: bool


@dataclass(frozen=True)
class Evidence:
    """What one request tells the models, as item indexes (int32) and weights (float32).

    seeds: the items item-item models start from (anchors, else session views and history).
    history / history_weights: the customer's known items; session: this session's views.
    lent: the seeds are look-alikes standing in for anchors the models do not know.
    sequence_row: the customer's row in engine.sequence.SequenceModel (-1: unknown).
    pairs: whose pairs the rules use (ShopModels._pair_source), decided once per request;
        None: decided where needed.
    """

    slot: str
    seeds: np.ndarray
    seed_weights: np.ndarray
    history: np.ndarray
    history_weights: np.ndarray
    session: np.ndarray
    lent: bool = False
    pairs: PairSource | None = None
    sequence_row: int = -1  # the customer's row in the sequence model, -1 when unknown
