"""Saved models load back to the same answers, without pickle."""

from __future__ import annotations

import numpy as np
import pytest
from engine_fixtures import training_data

from engine.base import CONTEXT_SLOTS, RecommendationRequest
from engine.errors import ArtifactError, ModelsNotTrained
from engine.shop_artifacts import load_shop_models, save_shop_models
from engine.shop_fit import fit_shop_models


def test_round_trip_same_recommendations(tmp_path):
    models = fit_shop_models(training_data(), weights={"product": {"content": 1.0}})
    written = save_shop_models(models, tmp_path)
    assert set(written) >= {"manifest.json", "rules.npz", "taste.npz", "content.npz"}
    assert all(size > 0 for size in written.values())
    loaded = load_shop_models(tmp_path)
    assert loaded.weights == {"product": {"content": 1.0}}
    assert [s.name for s in loaded.describe()] == [s.name for s in models.describe()]
    for context, slots in CONTEXT_SLOTS.items():
        for slot in slots:
            request = RecommendationRequest(
                context, slot, product_ids=("K0",), customer_id="c3", limit=5
            )
            assert loaded.recommend(request) == models.recommend(request)


def test_artifacts_need_no_pickle(tmp_path):
    save_shop_models(fit_shop_models(training_data()), tmp_path)
    for path in tmp_path.glob("*.npz"):
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                assert npz[name].dtype != object


def test_missing_models_raise_models_not_trained(tmp_path):
    with pytest.raises(ModelsNotTrained, match="shoprec train"):
        load_shop_models(tmp_path / "nothing")


def test_corrupt_artifact_is_named(tmp_path):
    save_shop_models(fit_shop_models(training_data()), tmp_path)
    (tmp_path / "rules.npz").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="rules.npz"):
        load_shop_models(tmp_path)
