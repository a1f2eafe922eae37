"""Fitting every model of a shop: the one entry point `shoprec train` and evaluation use.

Kept apart from engine.shop_models (serving: recommend, save, load) so the request path
does not carry the training code: each model is fitted on the shared item space, timed, and
summarised with whether it can be trusted and why (what `shoprec train` prints).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.association import PairCounts, fit_association
from engine.blend import validate_weights
from engine.collaborative import Collaborative, fit_collaborative
from engine.content import (
    ContentModel,
    ItemFeatures,
    NeighbourBlocks,
    fit_content,
    item_features,
    local_neighbour_blocks,
    start_embedding_content_model,
)
from engine.neighbours import Neighbours
from engine.popularity import NEW_DAYS, fit_popularity, newness_of, popularity_from_masses
from engine.sequence import SequenceModel, fit_sequence
from engine.shop_artifacts import model_arrays
from engine.shop_models import ModelSummary, ShopModels
from engine.shop_validation import Validation, holdout_moment, validate_shop
from engine.taste import fit_taste
from engine.training_data import ItemSpace, TrainingData, build_item_space, prepare_interactions


def _created_at(data: TrainingData, items: Any) -> Any:
    """The catalog's created_at per item of the space (None where unknown)."""
    products = data.products.drop_duplicates("product_id")
    if "created_at" not in products:
        return pd.Series([None] * items.n_items)
    frame = products.set_index(products["product_id"].astype(str))
    return frame["created_at"].reindex(items.item_ids).reset_index(drop=True)


@dataclass(frozen=True)
class Precomputed:
    """Pieces of the full fit counted elsewhere (spark_engine's tables), on the item space.

    masses: (popular, recent_mass, long_run_mass) float64 (n_items,) each, or None.
    gram: CSR float64 (n_items, n_items), X^T W X as engine.taste counts it, or None.
    pairs: the co-purchase pairs (down to validation's lowest support floor), each item's
        plain top partners and the baskets cut to the set rules' frequent items
        (engine.association.PairCounts), or None.
    """

    masses: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    gram: sp.csr_matrix | None = None
    pairs: PairCounts | None = None


def _nbytes(arrays: Mapping[str, np.ndarray]) -> int:
    return int(sum(np.asarray(a).nbytes for a in arrays.values()))


def _timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def _why(models: ShopModels) -> dict[str, str]:
    r, c, t, ct = models.rules, models.collaborative, models.taste, models.content
    return {
        "popularity": f"{r.n_baskets} orders; always usable; "
        f"{int(models.popularity.new_items().sum())} new arrivals (created in the last "
        f"{NEW_DAYS} days) for new_in_favourites",
        "collaborative": f"{c.purchase_users} purchase histories and {c.view_users} sessions with "
        f"2+ items (needs 10 of either)",
        "rules": f"{r.multi_item_baskets} orders with 2+ items (needs 20), pair floor "
        f"{r.min_count}, {r.rule_consequents.size} multi-item rules, "
        f"{r.plain.n_pairs} co-purchased pairs kept without a floor",
        "content": f"{ct.n_described} products with text (needs 2) and "
        f"{ct.neighbours.n_pairs} similar pairs (needs 1)",
        "taste": f"{t.customers_with_pairs} customers with 2+ items (needs 10), EASE over "
        f"{t.ease_items.size} items with product text as side information",
        "sequence": f"{models.sequence.why}; {models.sequence.customer_ids.size} customers scored",
    }


def fit_shop_models(
    data: TrainingData,
    weights: Mapping[str, Mapping[str, float]] | None = None,
    validate: bool = True,
    fit_all: bool = False,
    content_blocks: NeighbourBlocks = local_neighbour_blocks,
    precomputed: Precomputed | None = None,
) -> ShopModels:
    """Fit every model on a shop's data; weights: owner overrides per context or context/slot.

    validate: first choose the shop's blend weights and support floor on its newest orders
    (engine.shop_validation); False keeps the built-in weights and the automatic floor.
    fit_all: fit the sequence model even where validation gave it no weight (evaluation,
    which scores it alone); by default it is fitted only where some mix serves it.
    content_blocks: where the content neighbours are computed (this process, or a Spark
    cluster: spark_engine.content.spark_neighbour_blocks); the same table either way.
    precomputed: the pieces a Spark job counted over the whole data (popularity masses,
    EASE's Gram matrix, the co-purchase pairs and the baskets set rules count), laid out on
    this data's item space; None counts them here. Validation's fits on older orders always
    run here (they count their own pairs).
    """
    checked = validate_weights(weights)
    start = time.perf_counter()
    items = build_item_space(data)
    inter = prepare_interactions(data, items)
    prep = time.perf_counter() - start
    # Sentence embeddings (optional) encode in a child process while the rest fits.
    finish_embeddings = (
        start_embedding_content_model(data, items)
        if validate and holdout_moment(data) is not None  # only a validated shop can choose
        else None
    )
    features, t_features = _timed(lambda: item_features(data, items))
    content, t_content = _timed(
        lambda: fit_content(data, items, features=features, blocks=content_blocks)
    )
    newness = newness_of(_created_at(data, items), data.now)
    popularity, t_pop = _timed(
        lambda: (
            fit_popularity(inter, items, newness)
            if precomputed is None or precomputed.masses is None
            else popularity_from_masses(*precomputed.masses, newness)
        )
    )
    collaborative, t_col = _timed(lambda: fit_collaborative(inter))
    contents: dict[str, ContentModel] = {"tfidf": content}

    def all_contents() -> Mapping[str, ContentModel]:
        """TF-IDF, and the embeddings once they are done (waited for on first need)."""
        nonlocal finish_embeddings
        if finish_embeddings is not None:
            embedded = finish_embeddings()
            finish_embeddings = None
            if embedded is not None:
                contents["embeddings"] = embedded
        return contents

    validation, t_valid = _timed(
        lambda: (
            validate_shop(
                data,
                lambda prefix, floor: _fit_prefix(prefix, floor, items, features, content),
                all_contents,
            )
            if validate
            else Validation(report={"status": "not validated"})
        )
    )
    content = all_contents()[validation.content_model]
    if validation.personal_content_model != validation.content_model:
        personal = contents[validation.personal_content_model]
        content = replace(content, personal=personal.neighbours)
    rules, t_rules = _timed(
        lambda: fit_association(
            inter,
            min_count=validation.rules_floor,
            cover_discount=validation.cover_discount,
            counted=precomputed.pairs if precomputed is not None else None,
        )
    )
    gram = precomputed.gram if precomputed is not None else None
    taste, t_taste = _timed(lambda: fit_taste(inter, side=features.matrix, gram=gram))
    # The sequence model serves only where validation gave it weight (or the owner did,
    # or nothing was validated): elsewhere its training time buys nothing.
    wanted = (
        fit_all
        or not validate
        or any(
            mix.get("sequence", 0) > 0 for mix in (*validation.learned.values(), *checked.values())
        )
    )
    sequence, t_seq = _timed(
        lambda: (
            fit_sequence(data, items)
            if wanted
            else SequenceModel.empty(_sequence_unused(validation.report))
        )
    )
    report = {**validation.report, "seconds": round(t_valid, 2)}
    models = ShopModels(
        items,
        popularity,
        collaborative,
        rules,
        content,
        taste,
        (),
        checked,
        learned=validation.learned,
        validation=report,
        sequence=sequence,
    )
    arrays = model_arrays(models)
    trusted = models.trusted()
    why = _why(models)
    names = {"tfidf": "TF-IDF", "embeddings": "sentence embeddings"}
    why["content"] += f", by {names[validation.content_model]}"
    if validation.personal_content_model != validation.content_model:
        why["content"] += f" ({names[validation.personal_content_model]} for for_you)"
    seconds = {
        "popularity": t_pop + prep,
        "collaborative": t_col,
        "rules": t_rules,
        "content": t_features + t_content,
        "taste": t_taste,
        "sequence": t_seq,
    }
    summaries = tuple(
        ModelSummary(
            name,
            trusted[name],
            why[name],
            round(seconds[name], 3),
            _nbytes(arrays[name]) + (_nbytes(arrays["items"]) if name == "popularity" else 0),
        )
        for name in ("popularity", "collaborative", "rules", "content", "taste", "sequence")
    )
    return replace(models, summaries=summaries)


def _sequence_unused(report: Mapping[str, Any]) -> str:
    """Why the full sequence model was not fitted: what for_you validation said of it."""
    said = (report.get("home/for_you") or {}).get("sequence") or {}
    return f"not fitted: {said.get('why', 'validation gave it no weight')}"


def _fit_prefix(
    prefix: TrainingData,
    floor: int,
    items: ItemSpace,
    features: ItemFeatures,
    content: ContentModel,
) -> ShopModels:
    """The models validation scores, fitted on the older orders over the full item space.

    Content reads only the catalog, so the full fit's is shared; rules are mined at the
    lowest support floor tried (validation derives the higher ones from it) without the set
    rules no one-product request fires; item-item (no slot validation searches) is empty.
    The sequence model (optional) is fitted too: for_you validation weighs it when trusted.
    """
    inter = prepare_interactions(prefix, items)
    newness = newness_of(_created_at(prefix, items), prefix.now)
    empty = Neighbours.empty(items.n_items)
    return ShopModels(
        items,
        fit_popularity(inter, items, newness),
        Collaborative(empty, empty, 0, 0),
        fit_association(inter, min_count=floor, set_rules=False),
        content,
        fit_taste(inter, side=features.matrix),
        (),
        sequence=fit_sequence(prefix, items),
    )
