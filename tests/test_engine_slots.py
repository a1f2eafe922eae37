"""Slot semantics: each slot on a synthetic shop whose right answer is known."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engine.base import RecommendationRequest
from engine.evidence import Evidence
from engine.shop_fit import fit_shop_models
from engine.shop_models import BORROWED_TRUST
from engine.slots import similar_boost, whole_cart_factor
from engine.training_data import TrainingData

NOW = datetime(2025, 6, 1, tzinfo=UTC)
# id: (title, category, price, days since created)
PRODUCTS = {
    "A": ("Stand Mixer", "Kitchen > Baking", 100.0, 400),
    "B": ("Mixing Bowl", "Kitchen > Baking", 30.0, 400),
    "C": ("Baking Tray", "Kitchen > Baking", 20.0, 400),
    "D": ("Chef Knife", "Kitchen > Knives", 95.0, 400),
    "E": ("Knife Sharpener", "Kitchen > Knives", 12.0, 400),
    "G0": ("Garden Hose", "Garden", 40.0, 400),
    "G1": ("Hose Reel", "Garden", 35.0, 400),
    "G2": ("Garden Gloves", "Garden", 15.0, 400),
    "N1": ("New Garden Trowel", "Garden", 18.0, 10),
    "N2": ("New Piping Bags", "Kitchen > Baking", 9.0, 12),
    "F0": ("Filler Candle", "Home", 5.0, 400),
    "F1": ("Filler Vase", "Home", 25.0, 400),
    "F2": ("Filler Frame", "Home", 14.0, 400),
    "F3": ("Filler Cushion", "Home", 22.0, 400),
}


def _catalog() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "product_id": pid,
                "title": title,
                "description": "",
                "category": category,
                "tags": "",
                "vendor": "",
                "price": price,
                "status": "active",
                "created_at": (NOW - timedelta(days=age)).isoformat(),
            }
            for pid, (title, category, price, age) in PRODUCTS.items()
        ]
    )


def _orders() -> list[tuple[str, str | None, list[str], int]]:
    """(order, customer, items, days ago)."""
    rows: list[tuple[str, str | None, list[str], int]] = []
    for i in range(30):  # A and D bought together very often (strong pair, D is dear)
        rows.append((f"ad{i}", None, ["A", "D", "E"] if i < 10 else ["A", "D"], 50 + i))
    for i in range(12):  # C goes with A and with B: the whole cart's complement
        rows.append((f"ac{i}", None, ["A", "C"], 40 + i))
        rows.append((f"bc{i}", None, ["B", "C"], 40 + i))
    for i in range(20):  # garden line: G0 with G1
        rows.append((f"g{i}", None, ["G0", "G1"], 30 + i))
    for i in range(15):  # filler orders so pairs are significant against chance
        rows.append((f"f{i}", None, [f"F{i % 4}", f"F{(i + 1) % 4}"], 20 + i))
    for i in range(8):  # garden gloves trend this week
        rows.append((f"t{i}", None, ["G2"], 1 + i % 3))
    for i in range(20):  # ... but a cushion trends more overall
        rows.append((f"m{i}", None, ["F3"], 1 + i % 3))
    # c1: older order in baking, LAST order in the garden.
    rows.append(("c1a", "c1", ["A", "B"], 90))
    rows.append(("c1b", "c1", ["G0"], 5))
    # c2: a garden shopper.
    for i in range(3):
        rows.append((f"c2{i}", "c2", ["G0", "G1"], 60 + i))
    for i in range(10):  # other customers so taste has histories to learn from
        rows.append((f"o{i}", f"x{i}", ["G0", "G1", "G2"] if i % 2 else ["A", "B", "C"], 70))
    return rows


def _data() -> TrainingData:
    lines = [
        {
            "order_id": order,
            "customer_id": customer,
            "product_id": pid,
            "quantity": 1,
            "unit_price": PRODUCTS[pid][2],
            "created_at": (NOW - timedelta(days=days)).isoformat(),
        }
        for order, customer, items, days in _orders()
        for pid in items
    ]
    events = pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"])
    return TrainingData(_catalog(), pd.DataFrame(lines), events, NOW)


@pytest.fixture(scope="module")
def models():
    return fit_shop_models(_data())


def _ask(models, context, slot, **kw):
    return models.recommend(RecommendationRequest(context, slot, limit=kw.pop("limit", 4), **kw))


def test_trending_follows_the_shoppers_categories(models):
    overall = _ask(models, "home", "trending", limit=3)
    assert overall[0].product_id == "F3"  # the shop's chart: the cushion
    mine = _ask(models, "home", "trending", customer_id="c2", limit=3)
    assert mine[0].product_id == "G2"  # a garden shopper: the trending garden item
    assert mine[0].reason == "Trending in Garden this week"


def test_new_in_favourites_shows_only_new_items_in_their_categories(models):
    recs = _ask(models, "email", "new_in_favourites", customer_id="c2", limit=2)
    assert [r.product_id for r in recs] == ["N1", "N2"]
    assert recs[0].reason == "New in Garden, a category you shop often"


def test_because_you_bought_uses_the_last_order(models):
    recs = _ask(models, "email", "because_you_bought", customer_id="c1", limit=2)
    assert recs[0].product_id == "G1"  # complement of G0 (last order), not of A/B
    assert "Garden Hose" in recs[0].reason


def test_complete_the_look_prefers_the_whole_carts_complement(models):
    single = _ask(models, "product", "frequently_bought_together", product_ids=("A",), limit=1)
    assert single[0].product_id == "D"  # A alone: its strongest pair
    cart = _ask(models, "cart", "complete_the_look", product_ids=("A", "B"), limit=1)
    assert cart[0].product_id == "C"  # goes with both A and B


def test_dont_forget_suggests_cheap_accessories(models):
    recs = _ask(models, "cart", "dont_forget", product_ids=("A",), limit=2)
    ids = [r.product_id for r in recs]
    assert "D" not in ids  # co-bought most, but a 95.0 knife is no accessory to a 100.0 mixer
    assert ids[0] in ("C", "E")


def test_similar_boosts_same_then_adjacent_category(models):
    space = models.items
    anchor = np.flatnonzero(space.item_ids == "A")
    boost = dict(zip(space.item_ids, similar_boost(space, anchor), strict=True))
    assert boost["B"] == 2.0 and boost["D"] == 1.5 and boost["G0"] == 1.0


def test_whole_cart_factor_counts_anchors_listing_an_item():
    table = np.asarray([[2, 3], [2, -1], [0, 1], [0, 1]], np.int32)
    factor = whole_cart_factor(table, np.asarray([0, 1]), 4)
    assert factor.tolist() == [0.0, 0.0, 1.0, 0.5]


def test_a_product_without_pairs_leans_on_content_and_borrowed_pairs(models):
    # N2 was never sold: co-purchase knows nothing of it, so its weight moves to content (same
    # baking line) and trending; rules keep half of theirs, lent by the products N2 resembles.
    plan = models._request_trust(  # the per-request trust the blend is planned with
        _evidence(models, "N2")
    )
    assert plan["rules"] == BORROWED_TRUST and plan["collaborative"] == 0.0
    recs = _ask(models, "product", "frequently_bought_together", product_ids=("N2",), limit=4)
    assert {r.strategy for r in recs} <= {"content", "trending", "rules"}
    assert recs[0].strategy == "content" and recs[0].product_id in ("A", "B", "C")
    # The chef knife is bought with the stand mixer and the sharpener, never with N2 itself:
    # it comes from borrowed pairs, and its reason names the look-alike that lent it.
    knife = next(r for r in recs if r.product_id == "D")
    assert knife.strategy == "rules" and knife.scores["rules"] > 0
    assert knife.reason.startswith("Often bought with ")
    assert knife.reason.endswith(", a similar product")


def test_a_product_nothing_resembles_hands_rules_over_entirely():
    # No word and no price band in common with anything that sold: nothing to borrow from.
    data = _data()
    lonely = {"product_id": "Z", "title": "Zzyzx", "category": "", "price": None}
    data = replace(data, products=pd.concat([data.products, pd.DataFrame([lonely])]))
    fitted = fit_shop_models(data)
    assert fitted._request_trust(_evidence(fitted, "Z"))["rules"] == 0.0


def test_train_summary_counts_new_arrivals(models):
    why = {m.name: m.why for m in models.describe()}
    assert "2 new arrivals" in why["popularity"]


def _evidence(models, pid):
    item = np.flatnonzero(models.items.item_ids == pid).astype(np.int32)
    empty = np.zeros(0, np.int32)
    return Evidence("frequently_bought_together", item, np.ones(1, np.float32), empty, empty, empty)


def test_for_you_tilts_taste_toward_what_sells_now(models):
    # c2 shops the garden line; taste alone scores G2 (gloves) from the x-customers' baskets,
    # and G2 trends this week: momentum lifts it, an item with no recent sales keeps its score.
    momentum = dict(zip(models.item_ids, models.popularity.momentum, strict=True))
    top = models.item_ids[int(np.argmax(models.popularity.trending))]
    assert momentum[top] == pytest.approx(2.0)
    assert momentum["A"] < 1.1  # last sold 40+ days ago: next to no momentum
    assert momentum["G2"] > 1.5
    row = models.taste.customer_row("c2")
    items, weights = models.taste.history_of(row)
    ev = Evidence("for_you", items, weights, items, weights, np.zeros(0, np.int32))
    tilted = models._score_taste(ev)
    plain = models.taste.score(items, weights, models.items)
    g2 = int(np.flatnonzero(models.item_ids == "G2")[0])
    assert plain[g2] > 0 and tilted[g2] == pytest.approx(plain[g2] * momentum["G2"])


def test_category_shares_weigh_the_shoppers_history_and_session(models):
    # c2 bought only from the garden line; a session view of a kitchen item adds a little.
    assert models.category_shares("c2") == {"Garden": pytest.approx(1.0)}
    mixed = models.category_shares("c2", ("A",))
    assert set(mixed) == {"Garden", "Kitchen > Baking"}
    assert mixed["Garden"] > mixed["Kitchen > Baking"] > 0
    assert sum(mixed.values()) == pytest.approx(1.0)
    assert models.category_shares("nobody") == {}


def test_lookalikes_are_same_category_products_sharing_title_words(models):
    # A new "Stand Mixer Pro" in baking: the stand mixer first (shared words), then the rest
    # of baking by popularity; nothing outside the category.
    found = models.lookalikes("Stand Mixer Pro", "Kitchen > Baking", k=3)
    assert found[0] == "A"
    assert {
        models.items.category_names[models.items.category_codes[i]]
        for i in np.flatnonzero(np.isin(models.item_ids, found))
    } == {"Kitchen > Baking"}
    # An unknown category: only products whose titles share a word.
    assert models.lookalikes("Garden Hose Deluxe", "Hoses", k=5)[0] == "G0"
    # ... every one of which shares "garden" or "hose"; the candle and the mixer share none.
    assert set(models.lookalikes("Garden Hose Deluxe", "Hoses", k=5)) == {"G0", "G1", "G2", "N1"}
    assert models.lookalikes("Zzyzx", "Nowhere") == ()


def test_a_product_newer_than_the_models_borrows_from_its_lookalikes(models):
    # "X1" was created after training: no index anywhere. Its look-alike A (stand mixer)
    # lends its pairs (D, the chef knife, above all), with a reason that says so.
    assert not models.knows_any(("X1",))
    lent = models.lookalikes("Stand Mixer Pro", "Kitchen > Baking", k=1)
    recs = _ask(
        models,
        "product",
        "frequently_bought_together",
        product_ids=("X1",),
        lookalike_ids=lent,
        limit=4,
    )
    knife = next(r for r in recs if r.product_id == "D")
    assert knife.strategy == "rules" and recs.index(knife) <= 1
    assert knife.reason == "Often bought with Stand Mixer, a similar product"
    assert "A" not in {r.product_id for r in recs[:1]}  # the look-alike itself does not lead
    # Without look-alikes the same request has only best sellers and trends to go on.
    plain = _ask(models, "product", "frequently_bought_together", product_ids=("X1",), limit=4)
    assert {r.strategy for r in plain} <= {"popularity", "trending"}


def test_a_pool_is_shared_between_shoppers_only_where_their_history_cannot_move_it(models):
    """A known anchor, no history-reading source in the slot's mix, a slot that keeps owned
    products, and no filter that the pool's length decides: then the serving cache may
    compute the pool once for every session and customer."""
    anchor = str(models.item_ids[0])

    def shared(context: str, slot: str, **kw) -> bool:
        request = RecommendationRequest(context, slot, session_product_ids=(anchor,), **kw)
        return models.pool_is_shared(request)

    page = {"product_ids": (anchor,)}
    assert shared("product", "frequently_bought_together", **page)
    assert shared("cart", "complete_the_look", **page)
    assert not shared("cart", "dont_forget", **page)  # its filter depends on the pool's length
    assert shared("product", "frequently_bought_together", **page, customer_id="c1")
    assert not shared("product", "frequently_bought_together", customer_id="c1")  # no page
    assert not shared("email", "new_in_favourites", customer_id="c1", **page)  # owned dropped
    assert not shared("product", "frequently_bought_together", product_ids=("no-such-product",))
    assert not shared("home", "for_you")
    assert models.pool_is_shared(RecommendationRequest("home", "for_you"))  # nobody: shared
    tasteful = models.with_weights(
        {"product/similar": {"taste": 0.5, "content": 0.5}}, adaptive=models.adaptive
    )
    assert not tasteful.pool_is_shared(
        RecommendationRequest(
            "product", "similar", product_ids=(anchor,), session_product_ids=(anchor,)
        )
    )
    for source in ("sequence", "newness"):  # they read the history, in scores or reasons
        reading = models.with_weights(
            {"product/similar": {source: 0.5, "content": 0.5}}, adaptive=models.adaptive
        )
        asked = RecommendationRequest("product", "similar", product_ids=(anchor,))
        assert not reading.pool_is_shared(replace(asked, customer_id="c1"))
        assert reading.pool_is_shared(asked)
