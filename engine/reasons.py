"""The sentence under each recommended item, from the source that contributed most to it.

Apart from engine.shop_models so the facade stays one concern: this reads the tables a
source served from and names the anchor that earned the item its place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine import explanations as ex
from engine.evidence import Evidence
from engine.neighbours import Neighbours
from engine.slot_specs import slot_has

if TYPE_CHECKING:
    from engine.shop_models import ShopModels


def item_reason(
    models: ShopModels,
    label: str,
    slot: str,
    item: int,
    ev: Evidence,
    bought: bool,
    lookups: dict[str, dict[int, int]],
) -> str:
    """The sentence for one item; lookups caches each table's item -> anchor per request."""
    seeds, hist = ev.seeds, ev.history
    table: Neighbours | None = None
    if label == "rules":
        table = models.pairs_table
        pairs = models.pairs_for(ev)
        if pairs.borrowed:  # lent by look-alikes or similar products
            return ex.borrowed_pair_reason(models.items, item, pairs.lenders, pairs.weights, table)
    elif label == "collaborative":
        view_first = slot_has(slot, "view_led") or not models.collaborative.purchase_trusted
        table = models.collaborative.view if view_first else models.collaborative.purchase
    elif label == "content":
        table = models.content.neighbours
    elif label == "confidence":
        table = models.rules.plain
    if table is not None:
        if label not in lookups:
            lookups[label] = ex.best_anchors(seeds, table.indices, table.scores)
        anchor = lookups[label].get(item, -1)
        together = 0
        if label == "rules":
            r = models.rules
            together = ex.orders_together(r.pair_indices, r.pair_stats, r.n_baskets, anchor, item)
        elif label == "confidence":
            together = _plain_together(models, anchor, item)
        # Plain co-purchase says what the pairs say: "bought together with X in N orders".
        said = "rules" if label == "confidence" else label
        return ex.anchor_sentence(said, slot, models.items, anchor, together)
    if label in ("taste", "sequence"):
        return ex.taste_reason(models.items, item, hist, bought)
    if label == "trending":
        return ex.trend_reason(models.items, item)
    if label == "newness":
        return ex.new_reason(models.items, item, np.concatenate([seeds, hist]))
    return "Popular right now"


def _plain_together(models: ShopModels, anchor: int, item: int) -> int:
    """Orders holding both, from the plain co-purchase table (0 when it does not list it)."""
    counts = models.rules.cooccurrence_counts
    if anchor < 0 or counts is None:
        return 0
    hit = np.flatnonzero(models.rules.plain.indices[anchor] == item)
    return int(counts[anchor, hit[0]]) if hit.size else 0
