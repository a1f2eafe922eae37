"""Catalog facts and models are kept per cache generation, and a moved generation rereads."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from serving.model_cache import ModelCache
from serving.rule_inputs import FactsCache
from storage.catalog import upsert_products


def test_facts_stay_while_the_generation_stands_and_follow_it_when_it_moves(
    shop_db: sqlite_utils.Database,
) -> None:
    upsert_products(shop_db, [{"product_id": "a", "title": "A", "price": 10.0, "category": "x"}])
    now = [0.0]
    cache = FactsCache(ttl_s=30.0, clock=lambda: now[0])
    assert cache.facts(shop_db, "demo", "g1", ["a", "gone"])["a"].category == "x"
    upsert_products(shop_db, [{"product_id": "a", "title": "A", "price": 10.0, "category": "y"}])
    assert cache.facts(shop_db, "demo", "g1", ["a"])["a"].category == "x"  # same generation
    assert cache.facts(shop_db, "demo", "g2", ["a"])["a"].category == "y"  # a catalog write
    upsert_products(shop_db, [{"product_id": "a", "title": "A", "price": 10.0, "category": "z"}])
    now[0] = 31.0  # a write that moved no generation is seen after the TTL
    assert cache.facts(shop_db, "demo", "g2", ["a"])["a"].category == "z"
    assert "gone" not in cache.facts(shop_db, "demo", "g2", ["gone"])
    # Without a generation (no serving cache) every call reads the store.
    upsert_products(shop_db, [{"product_id": "a", "title": "A", "price": 10.0, "category": "w"}])
    assert cache.facts(shop_db, "demo", "", ["a"])["a"].category == "w"


def test_models_are_relisted_only_when_the_stamp_moves(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    loads: list[Path] = []

    def loader(directory: Path) -> str:
        loads.append(directory)
        return f"models {len(loads)}"

    cache = ModelCache(lambda shop: folder, loader)
    assert cache.get("demo", "g1") == "models 1"
    (folder / "extra.npz").write_text("new file")  # a folder change under the same stamp
    assert cache.get("demo", "g1") == "models 1"  # not re-listed
    assert cache.get("demo", "g2") == "models 2"  # the generation moved: re-listed, reloaded
    assert cache.get("demo") == "models 2"  # no stamp: listed, unchanged


def test_product_pages_and_other_lists_share_the_facts_and_the_model_listing(
    trained_settings, monkeypatch
) -> None:
    """Frequently-bought-together lists are keyed by the newest order line as well; that
    key must not reach the catalog facts or the model folder, or every other slot asked
    between two product pages would re-read them."""
    from plugin import create_app
    from serving import model_cache, rule_inputs

    reads = {"facts": 0, "listings": 0}
    real_facts, real_listing = rule_inputs.get_product_facts, model_cache.folder_signature

    def counted_facts(*args, **kwargs):
        reads["facts"] += 1
        return real_facts(*args, **kwargs)

    def counted_listing(*args, **kwargs):
        reads["listings"] += 1
        return real_listing(*args, **kwargs)

    monkeypatch.setattr(rule_inputs, "get_product_facts", counted_facts)
    monkeypatch.setattr(model_cache, "folder_signature", counted_listing)
    client = create_app(trained_settings, {"TESTING": True}).test_client()
    asks = [
        "context=product&product_id=p001&session_id=s1",
        "context=home&slot=for_you&session_id=s1",
        "context=product&product_id=p001&slot=similar&session_id=s1",
    ]
    for query in asks * 2:  # warm: every product of these lists has been read once
        assert client.get(f"/api/v1/recommendations?shop=demo&{query}").status_code == 200
    reads.update(facts=0, listings=0)
    for query in asks * 5:
        assert client.get(f"/api/v1/recommendations?shop=demo&{query}").status_code == 200
    assert reads == {"facts": 0, "listings": 0}
