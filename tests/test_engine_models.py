"""Known answers for each model: rules, item-item, content, taste, popularity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from engine_fixtures import ANCHOR_A, NOW, POPULAR_P, REAL_B, catalog, training_data

from engine.association import auto_min_count, fit_association, pair_score, signed_llr
from engine.base import RecommendationRequest
from engine.collaborative import item_cosine
from engine.content import fit_content
from engine.popularity import fit_popularity
from engine.shop_fit import fit_shop_models
from engine.taste import fit_taste
from engine.training_data import TrainingData, build_item_space, prepare_interactions


@pytest.fixture(scope="module")
def prepared():
    data = training_data()
    items = build_item_space(data)
    return data, items, prepare_interactions(data, items)


def _pos(items, product_id: str) -> int:
    return int(np.searchsorted(items.item_ids, product_id))


def test_designed_pair_has_lift_and_beats_popular_by_accident(prepared):
    _, items, inter = prepared
    rules = fit_association(inter)
    a, b, p = (_pos(items, x) for x in (ANCHOR_A, REAL_B, POPULAR_P))
    baskets = inter.baskets.toarray()
    n, n_a, n_b, n_p = baskets.shape[0], *baskets[:, [a, b, p]].sum(axis=0)
    c_ab, c_ap = (baskets[:, a] * baskets[:, b]).sum(), (baskets[:, a] * baskets[:, p]).sum()
    assert c_ap > c_ab  # the best-seller meets A more often: confidence alone would pick it
    assert c_ab * n / (n_a * n_b) > 1.5  # lift of the designed pair
    sig_b, sig_p = signed_llr(
        np.array([c_ab, c_ap]), np.array([n_a, n_a]), np.array([n_b, n_p]), float(n)
    )
    assert sig_b > 3 > sig_p
    row = list(rules.pair_indices[a])
    assert row[0] == b  # ranked first on significance-weighted confidence
    assert p not in row[:1]
    stats = rules.pair_stats[a, 0]  # support, confidence, lift, significance kept for owners
    np.testing.assert_allclose(
        stats, [c_ab / n, c_ab / n_a, c_ab * n / (n_a * n_b), sig_b], rtol=1e-4
    )
    assert rules.trusted


def test_signed_llr_sign_and_order():
    independent = signed_llr(np.array([25.0]), np.array([50.0]), np.array([50.0]), 100.0)
    together = signed_llr(np.array([40.0]), np.array([50.0]), np.array([50.0]), 100.0)
    apart = signed_llr(np.array([5.0]), np.array([50.0]), np.array([50.0]), 100.0)
    assert abs(independent[0]) < 1e-3 and together[0] > 5 and apart[0] < -5


def test_pair_score_is_confidence_shrunk_by_significance_not_lift():
    conf = np.array([0.4, 0.4, 0.4, 0.2])
    lift = np.array([1.5, 20.0, 1.5, 1.5])
    sig = np.array([12.0, 12.0, 0.2, 12.0])
    score = pair_score(conf, lift, sig)
    assert score[0] == pytest.approx(score[1])  # lift alone does not reorder pairs
    # clearly significant: keeps its confidence
    assert score[0] == pytest.approx(0.4, rel=1e-3)
    assert score[2] < 0.5 * score[0]  # same confidence, but chance explains it (z 0.2): shrunk
    assert score[3] < score[0]  # among significant pairs, confidence decides
    assert pair_score(np.array([0.9]), np.array([0.5]), np.array([-4.0]))[0] == 0.0


def test_min_count_scales_with_shop_size():
    assert auto_min_count(40) == 1
    assert 1 < auto_min_count(20_000) <= auto_min_count(1_000_000) <= 5


def test_multi_item_rules_fire_for_a_cart_only():
    # {x, y} -> z holds in 30 baskets; x and y alone each meet many others.
    lines = []
    for n in range(30):
        lines += [(f"s{n}", p) for p in ("K0", "K2", "K3")]
    for n in range(40):
        lines += [(f"a{n}", "K0"), (f"a{n}", f"G{n % 6}")]
        lines += [(f"b{n}", "K2"), (f"b{n}", f"B{n % 6}")]
    frame = pd.DataFrame(
        [
            {
                "order_id": o,
                "customer_id": None,
                "product_id": p,
                "quantity": 1,
                "unit_price": 1.0,
                "created_at": NOW.isoformat(),
            }
            for o, p in lines
        ]
    )
    data = TrainingData(
        catalog(),
        frame,
        pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"]),
        NOW,
    )
    items = build_item_space(data)
    rules = fit_association(prepare_interactions(data, items))
    x, y, z = (_pos(items, p) for p in ("K0", "K2", "K3"))
    fired = (rules.rule_antecedents == sorted([x, y])).all(axis=1) & (rules.rule_consequents == z)
    assert fired.sum() == 1
    assert rules.rule_stats[fired][0, 1] == pytest.approx(1.0)  # confidence {K0, K2} -> K3
    both = rules.score_for(np.array([x, y]), items.n_items)
    alone = rules.score_for(np.array([x]), items.n_items) + rules.score_for(
        np.array([y]), items.n_items
    )
    assert both[z] > alone[z]


def test_item_cosine_matches_brute_force():
    rng = np.random.default_rng(3)
    dense = (rng.random((40, 12)) < 0.3) * rng.integers(1, 4, (40, 12))
    matrix = sp.csr_matrix(dense.astype(np.float32))
    shrink, k = 2.0, 4
    table = item_cosine(matrix, shrink=shrink, k=k)
    co = dense.T @ dense
    norms = np.sqrt(np.diag(co))
    reference = co / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(reference, 0)
    for item in range(12):
        expected = np.sort(reference[item][reference[item] > 0])[::-1][:k]
        got = table.scores[item][table.indices[item] >= 0]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        for idx, score in zip(*table.row(item), strict=True):
            assert reference[item, idx] == pytest.approx(score, rel=1e-5)


def test_content_neighbours_share_category(prepared):
    data, items, _ = prepared
    model = fit_content(data, items)
    cats = catalog().set_index("product_id")["category"]
    for item in range(items.n_items):
        first = model.neighbours.indices[item, 0]
        assert cats[items.item_ids[first]] == cats[items.item_ids[item]]


def test_taste_recovers_blocks(prepared):
    _, items, inter = prepared
    taste = fit_taste(inter, lam=5.0)
    assert taste.trusted
    for customer, prefix in (("c1", "G"), ("c2", "B"), ("c0", "K")):
        hist, weights = taste.history_of(taste.customer_row(customer))
        scores = taste.score(hist, weights, items)
        scores[hist] = 0
        scores[_pos(items, POPULAR_P)] = 0
        best = items.item_ids[np.argsort(-scores)[:1]]
        assert all(str(b).startswith(prefix) for b in best), (customer, best)


def test_popularity_and_trending(prepared):
    _, items, inter = prepared
    pop = fit_popularity(inter, items)
    assert items.item_ids[np.argmax(pop.popular)] == POPULAR_P
    assert pop.rank[_pos(items, POPULAR_P)] == 1
    # K1 sold only in the last 15 days: rising, so it out-trends older sellers of its size.
    assert pop.trending[_pos(items, REAL_B)] > np.median(pop.trending)


def test_reasons_are_shopper_readable():
    data = training_data()
    models = fit_shop_models(data)
    fbt = models.recommend(
        RecommendationRequest(
            "product", "frequently_bought_together", product_ids=(ANCHOR_A,), limit=3
        )
    )
    assert fbt[0].product_id == REAL_B
    # The count is the orders that held both, as the order lines say.
    lines = data.purchases.groupby("order_id")["product_id"].agg(set)
    both = sum(1 for items in lines if {ANCHOR_A, REAL_B} <= items)
    assert both >= 2
    assert fbt[0].reason == f"Bought together with Stand Mixer Pro in {both} orders"
    similar = models.recommend(
        RecommendationRequest("product", "similar", product_ids=("G0",), limit=2)
    )
    assert similar[0].reason == "Similar to Garden Hose Green"
    mine = models.recommend(RecommendationRequest("home", "for_you", customer_id="c1", limit=3))
    assert any(r.reason.startswith("Because you bought") for r in mine)
    trending = models.recommend(RecommendationRequest("home", "trending", limit=1))
    assert trending[0].reason.startswith("Trending in ")


def test_best_anchors_agrees_with_best_anchor_per_item_ties_included():
    from engine.explanations import best_anchor, best_anchors

    rng = np.random.default_rng(3)
    indices = rng.integers(-1, 40, size=(40, 12)).astype(np.int32)
    # Coarse scores so ties between anchors happen often.
    scores = rng.integers(0, 4, size=(40, 12)).astype(np.float32)
    for _ in range(20):
        anchors = rng.choice(40, size=rng.integers(1, 8), replace=False).astype(np.int32)
        lookup = best_anchors(anchors, indices, scores)
        for item in range(40):
            assert lookup.get(item, -1) == best_anchor(item, anchors, indices, scores)
    assert best_anchors(np.zeros(0, np.int32), indices, scores) == {}


def test_pair_lists_cover_the_items_baskets_rather_than_repeat_one():
    from engine.pair_coverage import coverage_order

    # A is bought in 5 baskets with the B-set (three colours of one bag, always together)
    # and in 4 baskets with C. By confidence the list is B1, B2, B3, C: a list of two misses
    # every C basket. Covering A's baskets puts C second: two items then hit all nine.
    rows = [[0, 1, 2, 3]] * 5 + [[0, 4]] * 4 + [[1, 2, 3]] * 3
    baskets = sp.csr_matrix(
        (
            np.ones(sum(map(len, rows))),
            ([r for r, row in enumerate(rows) for _ in row], [c for row in rows for c in row]),
        ),
        shape=(len(rows), 5),
    )
    indices = np.full((5, 6), -1, np.int32)
    indices[0, :4] = [1, 2, 3, 4]
    stats = np.zeros((5, 6, 4), np.float32)
    stats[0, :4, 1] = [5 / 9, 5 / 9, 5 / 9, 4 / 9]  # confidence moves with its pair
    ordered, moved = coverage_order(baskets, indices, stats, candidates=30, picks=10)
    assert ordered[0, :4].tolist() == [1, 4, 2, 3]
    assert moved[0, :4, 1].tolist() == pytest.approx([5 / 9, 4 / 9, 5 / 9, 5 / 9])
    assert (ordered[1:] == indices[1:]).all()  # fewer than 3 pairs: left as they were
    assert indices[0, :4].tolist() == [1, 2, 3, 4]  # the input is not modified


def test_fitted_fbt_scores_stay_descending_so_the_blend_keeps_the_coverage_order(prepared):
    _, _, inter = prepared
    rules = fit_association(inter)
    both = (rules.pair_indices[:, 1:] >= 0) & (rules.pair_indices[:, :-1] >= 0)
    assert both.any()
    assert (np.diff(rules.pair_score, axis=1)[both] <= 0).all()


def test_for_you_leaves_out_everything_the_shopper_bought_without_being_told(tmp_path):
    from engine.shop_artifacts import load_shop_models, save_shop_models

    data = training_data()
    models = fit_shop_models(data)
    bought = set(data.purchases.loc[data.purchases["customer_id"] == "c1", "product_id"])
    assert len(bought) >= 2
    save_shop_models(models, tmp_path)
    for served in (models, load_shop_models(tmp_path)):
        for context in ("home", "email"):
            request = RecommendationRequest(context, "for_you", customer_id="c1", limit=12)
            shown = {r.product_id for r in served.recommend(request)}
            assert shown and not shown & bought
    # A list that is not a discovery list keeps them (a complement may be re-bought).
    fbt = models.recommend(
        RecommendationRequest(
            "product", "frequently_bought_together", product_ids=(ANCHOR_A,), customer_id="c1"
        )
    )
    assert {r.product_id for r in fbt} & bought


def test_soft_cover_keeps_a_strong_second_complement_and_spreads_the_rest():
    from engine.pair_coverage import soft_cover_order

    # A (0) sells with milk (1) in 6 of its 8 baskets, with bread (2) in 5 (4 of them with
    # milk too), and once each with two rarities (3, 4). Plain confidence: 1, 2, ... Soft
    # cover at 0.5 keeps bread second (its 4 shared baskets still count half), then puts 4
    # (a basket nothing covers yet) before 3 (a bread basket); the first score stays milk's
    # confidence and the scores fall.
    rows = [[0, 1, 2]] * 4 + [[0, 1]] * 2 + [[0, 2, 3]] + [[0, 4]]
    baskets = sp.csr_matrix(
        (
            np.ones(sum(map(len, rows))),
            ([r for r, row in enumerate(rows) for _ in row], [c for row in rows for c in row]),
        ),
        shape=(len(rows), 5),
    )
    indices = np.full((5, 6), -1, np.int32)
    indices[0, :4] = [1, 2, 3, 4]
    scores = np.zeros((5, 6), np.float32)
    scores[0, :4] = [6 / 8, 5 / 8, 1 / 8, 1 / 8]
    together = np.zeros((5, 6), np.float32)
    together[0, :4] = [6, 5, 1, 1]
    same = soft_cover_order(baskets, indices, scores, together, 1.0)
    assert same[0] is indices  # 1.0: plain confidence, untouched
    ordered, gains, counts = soft_cover_order(baskets, indices, scores, together, 0.5)
    assert ordered[0, :4].tolist() == [1, 2, 4, 3]
    assert gains[0, 0] == pytest.approx(6 / 8)
    assert gains[0, 1] == pytest.approx((4 * 0.5 + 1) / 8)
    assert (np.diff(gains[0, :4]) <= 0).all()
    assert counts[0, :4].tolist() == [6, 5, 1, 1]  # the counts move with their pair
    assert indices[0, :4].tolist() == [1, 2, 3, 4]  # the input is not modified


def test_soft_cover_reorders_by_baskets_not_by_pair_counts():
    from engine.pair_coverage import soft_cover_order

    # A's baskets: 5 with the B-set (1, 2, 3 always together), 4 with C (4). At 0.3 a
    # second B adds 5 x 0.3 = 1.5 baskets, C adds 4: C comes second.
    rows = [[0, 1, 2, 3]] * 5 + [[0, 4]] * 4
    baskets = sp.csr_matrix(
        (
            np.ones(sum(map(len, rows))),
            ([r for r, row in enumerate(rows) for _ in row], [c for row in rows for c in row]),
        ),
        shape=(len(rows), 5),
    )
    indices = np.full((5, 6), -1, np.int32)
    indices[0, :4] = [1, 2, 3, 4]
    scores = np.zeros((5, 6), np.float32)
    scores[0, :4] = [5 / 9, 5 / 9, 5 / 9, 4 / 9]
    together = np.asarray(scores * 9)
    ordered, gains, _ = soft_cover_order(baskets, indices, scores, together, 0.3)
    assert ordered[0, :4].tolist() == [1, 4, 2, 3]
    assert gains[0, :2].tolist() == pytest.approx([5 / 9, 4 / 9])
