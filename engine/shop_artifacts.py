"""A shop's fitted models as files: one npz per model and a JSON manifest (engine.artifacts),
written by training into a staging folder and read by every serving process.

Apart from engine.shop_models, which answers requests, so neither grows past one concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.artifacts import load_arrays, load_manifest, save_arrays, save_manifest
from engine.association import AssociationRules
from engine.blend import validate_weights
from engine.collaborative import Collaborative
from engine.content import ContentModel
from engine.popularity import Popularity
from engine.sequence import SequenceModel
from engine.shop_models import ModelSummary, ShopModels
from engine.taste import taste_from_arrays, taste_to_arrays
from engine.training_data import ItemSpace

MODEL_FILES = ("items", "popularity", "collaborative", "rules", "content", "taste")


def save_shop_models(
    models: ShopModels, directory: Path, run: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Write every model's npz and the manifest into directory; file name -> bytes.

    Args:
        run: facts about the training run kept in the manifest (trained_at,
            training_seconds), so any process can report a shop's model age and how long
            its last training took, across restarts.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, arrays in model_arrays(models).items():
        written[f"{name}.npz"] = save_arrays(directory / f"{name}.npz", arrays)
    manifest: dict[str, Any] = {
        "n_items": models.items.n_items,
        "weights": models.weights,
        "learned_weights": models.learned,
        "validation": models.validation,
        "models": [vars(s) for s in models.summaries],
        **(run or {}),
    }
    written["manifest.json"] = save_manifest(directory, manifest)
    return written


def model_arrays(models: ShopModels) -> dict[str, dict[str, np.ndarray]]:
    """Per model file, the arrays it holds (training also sizes each model by them)."""
    i = models.items
    return {
        "items": {
            "item_ids": i.item_ids,
            "titles": i.titles,
            "category_codes": i.category_codes,
            "category_names": i.category_names,
            "prices": i.prices,
        },
        "popularity": models.popularity.to_arrays(),
        "collaborative": models.collaborative.to_arrays(),
        "rules": models.rules.to_arrays(),
        "content": models.content.to_arrays(),
        "taste": taste_to_arrays(models.taste),
        "sequence": models.sequence.to_arrays(),
    }


def load_shop_models(directory: Path) -> ShopModels:
    """Load models saved by save_shop_models; ModelsNotTrained when the directory has none."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    a = {name: load_arrays(directory / f"{name}.npz") for name in MODEL_FILES}
    # Models saved before the sequence model existed have no file for it.
    seq_file = directory / "sequence.npz"
    sequence = (
        SequenceModel.from_arrays(load_arrays(seq_file))
        if seq_file.exists()
        else SequenceModel.empty("not fitted")
    )
    it = a["items"]
    items = ItemSpace(
        it["item_ids"], it["titles"], it["category_codes"], it["category_names"], it["prices"]
    )
    summaries = tuple(ModelSummary(**s) for s in manifest["models"])
    return ShopModels(
        items,
        Popularity.from_arrays(a["popularity"]),
        Collaborative.from_arrays(a["collaborative"]),
        AssociationRules.from_arrays(a["rules"]),
        ContentModel.from_arrays(a["content"]),
        taste_from_arrays(a["taste"]),
        summaries,
        validate_weights(manifest["weights"]),
        # Models saved before validation existed serve the built-in weights.
        learned=validate_weights(manifest.get("learned_weights") or {}),
        validation=manifest.get("validation") or {},
        sequence=sequence,
    )
