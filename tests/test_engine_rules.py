"""The business-rules layer on synthetic pools: each rule has a test that fails if it breaks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from engine.base import Recommendation
from engine.diversity import calibrated_caps, expected_counts, price_bands, select_diverse
from engine.rule_context import ItemFacts, RuleContext, facts_from_row, request_seed
from engine.rule_fill import breaks_diversity
from engine.rule_settings import Block, Pin, Promotion, RuleSettings, Window, rule_settings_for
from engine.rules import apply_business_rules, share_slots
from engine.seasons import in_season

JUNE = date(2026, 6, 15)
DECEMBER = date(2026, 12, 10)
# Everything off but what a test turns on, so each test sees one rule at work.
PLAIN = RuleSettings(
    margin_weight=0.0,
    diversity=False,
    exploration=0.0,
    min_items=0,
)


def rec(pid: str, score: float) -> Recommendation:
    return Recommendation(pid, score, "collaborative", "Customers also bought")


def pool(n: int, categories: int = 1, prices: bool = False) -> tuple[list[Recommendation], dict]:
    """n candidates p00.. scored n..1, category c<i % categories>, created older down the list."""
    recs = [rec(f"p{i:02d}", float(n - i)) for i in range(n)]
    items = {
        r.product_id: ItemFacts(
            category=f"c{i % categories}",
            price=float(10 + 10 * (i % 3)) if prices else 20.0,
            created_at=f"2026-01-{1 + (i % 28):02d}",
        )
        for i, r in enumerate(recs)
    }
    return recs, items


def ctx(today: date = JUNE, **kwargs: object) -> RuleContext:
    return RuleContext(context="home", slot="for_you", today=today, **kwargs)  # type: ignore[arg-type]


def ids(recs: list[Recommendation]) -> list[str]:
    return [r.product_id for r in recs]


def test_christmas_item_absent_in_june_present_in_december() -> None:
    recs, items = pool(10)
    items["p00"] = replace(items["p00"], season_tags=("christmas",))
    assert "p00" not in ids(apply_business_rules(recs, items, ctx(JUNE), PLAIN, 6))
    assert ids(apply_business_rules(recs, items, ctx(DECEMBER), PLAIN, 6))[0] == "p00"
    off = replace(PLAIN, seasonal_exclusion=False)
    assert ids(apply_business_rules(recs, items, ctx(JUNE), off, 6))[0] == "p00"


def test_south_hemisphere_flips_summer_and_winter() -> None:
    assert in_season(("summer",), JUNE, "north", 0) and not in_season(("summer",), JUNE, "south", 0)
    assert in_season(("winter",), JUNE, "south", 0) and not in_season(("winter",), JUNE, "north", 0)
    assert in_season(("summer",), date(2027, 1, 10), "south", 0)
    # Christmas is December everywhere.
    assert in_season(("christmas",), DECEMBER, "south", 0)
    assert not in_season(("christmas",), JUNE, "south", 0)
    # The lead shows a season's products before it starts; untagged products always show.
    assert in_season(("summer",), date(2026, 5, 10), "north", 30)
    assert not in_season(("summer",), date(2026, 5, 10), "north", 0)
    assert in_season((), JUNE, "north", 0) and in_season(("organic",), JUNE, "north", 0)
    recs, items = pool(10)
    items["p00"] = replace(items["p00"], season_tags=("summer",))
    south = replace(PLAIN, hemisphere="south")
    assert "p00" not in ids(apply_business_rules(recs, items, ctx(JUNE), south, 6))
    assert "p00" in ids(apply_business_rules(recs, items, ctx(JUNE), PLAIN, 6))


def test_blocked_product_and_category_during_their_dates_only() -> None:
    recs, items = pool(10, categories=2)
    window = Window(date(2026, 6, 1), date(2026, 6, 30))
    settings = replace(
        PLAIN,
        blocked_products=(Block("p00", window),),
        blocked_categories=(Block("c1", window),),
    )
    during = ids(apply_business_rules(recs, items, ctx(JUNE), settings, 6))
    assert "p00" not in during and all(items[p].category == "c0" for p in during)
    after = ids(apply_business_rules(recs, items, ctx(date(2026, 7, 1)), settings, 6))
    assert after[0] == "p00" and any(items[p].category == "c1" for p in after)
    forever = replace(PLAIN, blocked_products=(Block("p00"),))
    assert "p00" not in ids(apply_business_rules(recs, items, ctx(DECEMBER), forever, 6))


def test_request_excludes_anchors_and_unknown_products_are_never_shown() -> None:
    recs, items = pool(10)
    del items["p03"]  # deleted from the catalog since training
    got = ids(
        apply_business_rules(
            recs, items, ctx(exclude_ids=frozenset({"p00"}), anchor_ids=("p01",)), PLAIN, 8
        )
    )
    assert got == ["p02", "p04", "p05", "p06", "p07", "p08", "p09"]


def test_category_of_a_recent_purchase_is_pushed_down_for_its_days() -> None:
    recs, items = pool(8, categories=2)  # c0 at p00, p02, ...; c1 at p01, p03, ...
    bought = ctx(bought_categories={"c0": date(2026, 6, 10)})  # 5 days before JUNE
    got = ids(apply_business_rules(recs, items, bought, PLAIN, 8))
    # c0 scores are cut to 0.3x: 8 -> 2.4 still beats c1's last (1), not its first three.
    assert [items[p].category for p in got[:3]] == ["c1"] * 3 and got.index("p00") == 3
    late = ctx(date(2026, 6, 24), bought_categories={"c0": date(2026, 6, 10)})  # 14 days on
    assert ids(apply_business_rules(recs, items, late, PLAIN, 8))[0] == "p00"


def test_session_viewed_items_move_down() -> None:
    recs, items = pool(6)
    recs = [rec(r.product_id, s) for r, s in zip(recs, [10, 9.5, 9, 8, 7, 6], strict=True)]
    got = ids(apply_business_rules(recs, items, ctx(session_viewed=frozenset({"p00"})), PLAIN, 6))
    assert got.index("p00") > 0
    assert ids(apply_business_rules(recs, items, ctx(), PLAIN, 6))[0] == "p00"


def test_margin_boost_lifts_a_high_margin_item() -> None:
    recs, items = pool(3)
    items["p01"] = replace(items["p01"], margin=0.9)
    assert ids(apply_business_rules(recs, items, ctx(), PLAIN, 3))[0] == "p00"
    boosted = replace(PLAIN, margin_weight=1.0)  # 2 * 1.9 > 3
    assert ids(apply_business_rules(recs, items, ctx(), boosted, 3))[0] == "p01"


def test_diversity_caps_categories_and_spreads_them() -> None:
    recs, items = pool(30, categories=5)
    # The five best are all c0: without diversity the top is one category.
    items.update({f"p{i:02d}": replace(items[f"p{i:02d}"], category="c0") for i in range(5)})
    settings = RuleSettings(exploration=0.0, margin_weight=0.0, min_items=0)
    got = ids(apply_business_rules(recs, items, ctx(), settings, 6))
    cats = [items[p].category for p in got]
    assert len(got) == 6 and max(cats.count(c) for c in cats) <= 2 and len(set(cats)) >= 3
    assert got[0] == "p00"  # the best item still leads
    plain = ids(apply_business_rules(recs, items, ctx(), PLAIN, 6))
    assert [items[p].category for p in plain[:5]] == ["c0"] * 5


def test_category_cap_and_spread_hold_against_steep_scores() -> None:
    ranked = [(f"a{i}", 100.0 - i) for i in range(5)] + [(f"b{i}", 50.0 - i) for i in range(5)]
    ranked += [(f"c{i}", 1.0 - i / 10) for i in range(5)]
    cats = {pid: pid[0] for pid, _ in ranked} | {"a9": "a"}
    capped = select_diverse(ranked, cats, {}, 6, cap=2)
    assert capped == ["a0", "a1", "b0", "b1", "c0", "c1"]
    spread = select_diverse(ranked, cats, {}, 6, cap=3, min_categories=3)
    assert {cats[p] for p in spread} == {"a", "b", "c"} and spread[:2] == ["a0", "a1"]
    # Pinned or explored items count towards the cap but never push the best item down.
    assert select_diverse(ranked, cats, {}, 3, fixed=("a9",), cap=2)[:2] == ["a0", "b0"]


def test_calibrated_caps_follow_the_shoppers_own_category_shares() -> None:
    assert calibrated_caps(10, 4, {"baking": 0.7, "garden": 0.2, "": 0.1}) == {
        "baking": 7,  # 70% of their history: 7 of 10
        "garden": 4,  # under the usual cap: the usual cap
    }
    assert calibrated_caps(6, 2, {}) == {}


def test_the_soft_penalty_spares_a_categorys_calibrated_share() -> None:
    # Baking scores just above garden; a 0.85 penalty per baking item already picked would
    # interleave them. A shopper whose history is 60% baking expects 3 of 5 baking first.
    ranked = [("a0", 1.0), ("a1", 0.98), ("a2", 0.96), ("a3", 0.94)]
    ranked += [("b0", 0.9), ("b1", 0.89), ("c0", 0.5)]
    cats = {pid: pid[0] for pid, _ in ranked}
    plain = select_diverse(ranked, cats, {}, 5, cap=4, min_categories=1, penalty=0.85)
    assert plain[:3] == ["a0", "b0", "a1"]
    expected = expected_counts(5, {"a": 0.6, "b": 0.4})
    assert expected == {"a": 3, "b": 2}
    calibrated = select_diverse(
        ranked, cats, {}, 5, cap=4, min_categories=1, penalty=0.85, expected=expected
    )
    # Within the share, score order; past it (the fourth baking item), the penalty applies.
    assert calibrated == ["a0", "a1", "a2", "b0", "b1"]


def test_a_baking_shopper_sees_mostly_baking_on_personal_lists_only() -> None:
    recs, items = pool(30, categories=5)
    # The eight best are baking (c0), as is 80% of the shopper's history.
    items.update({f"p{i:02d}": replace(items[f"p{i:02d}"], category="c0") for i in range(8)})
    shares = {"c0": 0.8, "c1": 0.2}
    for_you = replace(rule_settings_for(None, "home", "for_you"), exploration=0.0)
    assert for_you.calibrate_categories
    got = ids(apply_business_rules(recs, items, ctx(taste_shares=shares), for_you, 10))
    cats = [items[p].category for p in got]
    # Calibrated: up to 8 of 10 allowed; the soft penalty and the spread over 3 categories
    # still send some slots elsewhere, but past the usual cap of 4.
    assert got[:4] == ["p00", "p01", "p02", "p03"]
    assert 4 < cats.count("c0") <= 8 and len(set(cats)) >= 3
    # The same shopper on a non-personal list, or with calibration off: the usual cap of 4.
    also_viewed = replace(rule_settings_for(None, "product", "also_viewed"), exploration=0.0)
    off = replace(for_you, calibrate_categories=False)
    for settings in (also_viewed, off):
        capped = apply_business_rules(recs, items, ctx(taste_shares=shares), settings, 10)
        assert [items[p].category for p in ids(capped)].count("c0") == 4
    # An anonymous shopper (no shares) gets the usual cap on for_you too.
    anonymous = ids(apply_business_rules(recs, items, ctx(), for_you, 10))
    assert [items[p].category for p in anonymous].count("c0") == 4


def test_a_pool_of_two_categories_gets_best_sellers_of_others() -> None:
    # A pool in two categories only; the catalog has more: the spread rule (3 categories)
    # and the cap (2 of 6 per category) take the best sellers of other categories rather
    # than relax, and each says what it is.
    recs, items = pool(20, categories=2)
    items["b1"] = ItemFacts(category="garden", price=20.0)
    items["b2"] = ItemFacts(category="c0", price=20.0)  # a category the pool already has
    items["b3"] = ItemFacts(category="bath", price=20.0)
    settings = RuleSettings(exploration=0.0, margin_weight=0.0, min_items=0)
    got = apply_business_rules(recs, items, ctx(), settings, 6, fallback=["b2", "b1", "b3"])
    cats = [items[r.product_id].category for r in got]
    assert sorted(cats) == ["bath", "c0", "c0", "c1", "c1", "garden"]
    spread = next(r for r in got if r.product_id == "b1")
    assert spread.reason == "Best seller in garden" and spread.strategy == "popular_fallback"
    assert got[0].product_id == "p00"  # the pool's best still leads
    # A list of 8 (cap 3 per category): 3 + 3 from the pool, two best sellers for the rest.
    eight = apply_business_rules(recs, items, ctx(), settings, 8, fallback=["b2", "b1", "b3"])
    assert sorted(items[r.product_id].category for r in eight) == sorted(
        ["c0"] * 3 + ["c1"] * 3 + ["garden", "bath"]
    )
    # Without best sellers to draw on, the pool's two categories are all there is.
    alone = apply_business_rules(recs, items, ctx(), settings, 6)
    assert len({items[r.product_id].category for r in alone}) == 2
    # A pool that already spans three categories takes no best seller.
    wide, wide_items = pool(20, categories=3)
    wide_items["b1"] = items["b1"]
    shown = ids(apply_business_rules(wide, wide_items, ctx(), settings, 6, fallback=["b1"]))
    assert "b1" not in shown


def test_a_pool_of_three_categories_too_thin_for_the_cap_gets_best_sellers() -> None:
    # Three categories, but two of them one item each: the cap (2 of 6) can fill only 4
    # slots from the pool. Best sellers under their cap fill the rest rather than a third
    # and fourth c0; a best seller of a category already at its cap does not help.
    recs, items = pool(12, categories=1)
    recs += [rec("t1", 0.5), rec("g1", 0.4)]
    items |= {"t1": ItemFacts(category="tableware"), "g1": ItemFacts(category="garden")}
    items |= {"b0": ItemFacts(category="c0"), "b1": ItemFacts(category="bath")}
    items |= {"b2": ItemFacts(category="garden"), "b3": ItemFacts(category="linen")}
    settings = RuleSettings(exploration=0.0, margin_weight=0.0, min_items=0)
    best_sellers = ["b0", "b1", "b2", "b3"]
    got = apply_business_rules(recs, items, ctx(), settings, 6, fallback=best_sellers)
    assert ids(got)[:2] == ["p00", "p01"]
    assert sorted(ids(got)[2:]) == ["b1", "b2", "g1", "t1"]
    assert not breaks_diversity(got, items, ctx(), settings, 6)
    # Without best sellers the selection has to relax the cap, and says so.
    alone = apply_business_rules(recs, items, ctx(), settings, 6)
    assert [items[r.product_id].category for r in alone].count("c0") == 4
    assert breaks_diversity(alone, items, ctx(), settings, 6)
    # The cap leaves room for every pool item it can: no best seller is taken then.
    wide, wide_items = pool(12, categories=3)
    wide_items |= {"b1": items["b1"]}
    assert "b1" not in ids(apply_business_rules(wide, wide_items, ctx(), settings, 6, ["b1"]))


def test_fbt_keeps_strong_same_category_complements() -> None:
    recs, items = pool(20, categories=4)
    # The six best complements share the anchor's category (a mixer's bowl, hook, whisk...).
    items.update({f"p{i:02d}": replace(items[f"p{i:02d}"], category="c0") for i in range(6)})
    fbt = replace(
        rule_settings_for(None, "product", "frequently_bought_together"),
        exploration=0.0,
        margin_weight=0.0,
    )
    got = ids(apply_business_rules(recs, items, ctx(), fbt, 8))
    assert got[:4] == ["p00", "p01", "p02", "p03"]
    # All six stay (no cap below the list's length); the soft penalty still mixes the order.
    assert [items[p].category for p in got].count("c0") == 6
    usual = replace(rule_settings_for(None, "product", "also_viewed"), exploration=0.0)
    assert [
        items[p].category for p in ids(apply_business_rules(recs, items, ctx(), usual, 8))
    ].count("c0") == 3


def test_diversity_is_relaxed_when_the_pool_has_one_category() -> None:
    recs, items = pool(10, categories=1)
    settings = RuleSettings(exploration=0.0, margin_weight=0.0, min_items=0)
    assert ids(apply_business_rules(recs, items, ctx(), settings, 6)) == [
        f"p0{i}" for i in range(6)
    ]


def test_price_bands_are_mixed_when_the_pool_spans_them() -> None:
    ranked = [(f"p{i}", 10.0 - i) for i in range(9)]
    prices = {f"p{i}": (100.0 if i < 6 else 5.0) for i in range(9)}
    bands = price_bands(prices | {"x": 50.0})
    assert bands["p0"] == 2 and bands["p8"] == 0
    cats = {pid: f"c{i}" for i, (pid, _) in enumerate(ranked)}
    mixed = select_diverse(ranked, cats, bands, 4)
    assert {bands[p] for p in mixed} == {0, 2} and mixed[:3] == ["p0", "p1", "p2"]
    same = select_diverse(ranked, cats, bands, 4, mix_bands=False)
    assert same == ["p0", "p1", "p2", "p3"]


def test_exploration_share() -> None:
    assert [share_slots(n, 0.1) for n in (4, 6, 7, 8, 12, 18)] == [0, 0, 0, 1, 1, 2]
    assert [share_slots(n, 0.2) for n in (4, 6, 8, 12)] == [1, 1, 1, 2]
    assert share_slots(8, 0.0) == 0


def test_exploration_shows_new_or_rarely_shown_relevant_items_with_a_true_reason() -> None:
    recs, items = pool(40, categories=4)  # created 2026-01-xx: months old in June
    for pid in ("p02", "p25", "p30"):  # new: created within 30 days of JUNE
        items[pid] = replace(items[pid], created_at="2026-06-01T10:00:00")
    settings = RuleSettings(margin_weight=0.0, min_items=0, diversity=False)
    explored_by_seed = {}
    for seed in range(30):
        got = apply_business_rules(recs, items, ctx(seed=seed), settings, 8)
        explored = [r for r in got if r.strategy == "exploration"]
        assert len(explored) == 1 and len(got) == 8
        explored_by_seed[seed] = explored[0]
    # Only new items from below the list's cut (p02 is shown anyway), both over the seeds.
    assert {r.product_id for r in explored_by_seed.values()} == {"p25", "p30"}
    assert {r.reason for r in explored_by_seed.values()} == {"New in c1", "New in c2"}
    # With impression counts, a rarely shown item qualifies too and keeps the model's reason.
    shown = {r.product_id: 500 for r in recs} | {"p12": 3}
    rare = [
        r
        for seed in range(30)
        for r in apply_business_rules(recs, items, ctx(seed=seed, impressions=shown), settings, 8)
        if r.strategy == "exploration"
    ]
    assert {r.product_id for r in rare} == {"p12", "p25", "p30"}
    assert {r.reason for r in rare if r.product_id == "p12"} == {"Customers also bought"}
    # Same seed, same list; exploration 0 or a list too short for a slot: none.
    assert ids(apply_business_rules(recs, items, ctx(seed=7), settings, 8)) == ids(
        apply_business_rules(recs, items, ctx(seed=7), settings, 8)
    )
    off = apply_business_rules(recs, items, ctx(seed=7), replace(settings, exploration=0.0), 8)
    short = apply_business_rules(recs, items, ctx(seed=7), settings, 4)
    assert not [r for r in off + short if r.strategy == "exploration"]
    # Nothing new and everything often shown: no exploration at all.
    old = {pid: replace(f, created_at="2025-01-01") for pid, f in items.items()}
    busy = {r.product_id: 500 for r in recs}
    crowded = apply_business_rules(recs, old, ctx(seed=1, impressions=busy), settings, 8)
    assert ids(crowded) == [f"p{i:02d}" for i in range(8)]
    assert request_seed("c1", None, "2026-06-15") == request_seed("c1", None, "2026-06-15")
    assert request_seed("c1", None, "2026-06-15") != request_seed("c1", None, "2026-06-16")


def test_pins_land_at_their_position_when_they_apply() -> None:
    recs, items = pool(12)
    items["z9"] = ItemFacts(category="c0")  # not among the candidates at all
    settings = replace(
        PLAIN,
        pins=(
            Pin("p10", position=1),
            Pin("z9", position=3, anchor_category="c0"),
            Pin("p05", position=2, anchor_product_id="a1", window=Window(end=date(2026, 1, 1))),
        ),
    )
    got = apply_business_rules(recs, items, ctx(anchor_categories=("c0",)), settings, 6)
    assert ids(got)[0] == "p10" and ids(got)[2] == "z9" and len(got) == 6
    assert got[0].reason == "Featured by the shop" and got[2].strategy == "pinned"
    # The anchored pin is for another category's page; the dated one has ended.
    other = ids(apply_business_rules(recs, items, ctx(anchor_categories=("c7",)), settings, 6))
    assert other == ["p10", "p00", "p01", "p02", "p03", "p04"]
    # A pin waits for its start date and stops after its end date.
    dated = replace(
        PLAIN, pins=(Pin("p10", 1, window=Window(date(2026, 6, 20), JUNE.replace(day=25))),)
    )
    assert ids(apply_business_rules(recs, items, ctx(), dated, 6))[0] == "p00"
    assert ids(apply_business_rules(recs, items, ctx(date(2026, 6, 20)), dated, 6))[0] == "p10"
    assert ids(apply_business_rules(recs, items, ctx(date(2026, 6, 26)), dated, 6))[0] == "p00"
    # A pin never overrides a hard exclusion.
    gone = apply_business_rules(recs, items, ctx(exclude_ids=frozenset({"p10"})), settings, 6)
    assert "p10" not in ids(gone)


def test_promotion_reserves_its_share() -> None:
    recs, items = pool(20)
    for pid in ("p15", "p16", "p17"):
        items[pid] = replace(items[pid], vendor="Acme")
    promo = Promotion(share=0.25, vendor="Acme", window=Window(date(2026, 6, 1), None))
    ended = replace(promo, window=Window(date(2026, 6, 1), date(2026, 6, 30)))
    got = apply_business_rules(recs, items, ctx(), replace(PLAIN, promotions=(promo,)), 8)
    promoted = [r for r in got if r.strategy == "promotion"]
    assert ids(promoted) == ["p15", "p16"]
    assert {r.reason for r in promoted} == {"Featured by the shop"}
    assert len(got) == 8
    before = apply_business_rules(
        recs, items, ctx(date(2026, 5, 1)), replace(PLAIN, promotions=(promo,)), 8
    )
    assert not [r for r in before if r.strategy == "promotion"]
    after = apply_business_rules(
        recs, items, ctx(date(2026, 7, 1)), replace(PLAIN, promotions=(ended,)), 8
    )
    assert not [r for r in after if r.strategy == "promotion"]
    labelled = replace(promo, label="Acme summer sale")
    got = apply_business_rules(recs, items, ctx(), replace(PLAIN, promotions=(labelled,)), 8)
    assert {r.reason for r in got if r.strategy == "promotion"} == {"Acme summer sale"}


def test_fallback_fills_to_the_context_minimum_with_honest_reasons() -> None:
    recs, items = pool(2)
    items.update({"t1": ItemFacts(category="Lamps"), "t2": ItemFacts(category="Rugs")})
    items["t3"] = ItemFacts(category="Lamps", season_tags=("christmas",))  # out of season
    settings = replace(PLAIN, min_items=5)
    got = apply_business_rules(
        recs,
        items,
        ctx(anchor_categories=("Lamps",)),
        settings,
        8,
        fallback=("t2", "t3", "t1", "p00"),
    )
    assert ids(got) == ["p00", "p01", "t1", "t2"]
    assert got[2].reason == "Best seller in Lamps" and got[3].reason == "Best seller in Rugs"
    assert [r.strategy for r in got[2:]] == ["trending_fallback", "popular_fallback"]
    assert got[0].reason == "Customers also bought"
    # A full list is not padded; the limit still holds.
    assert len(apply_business_rules(recs, items, ctx(), settings, 1, fallback=("t1", "t2"))) == 1


def test_facts_from_row_splits_tags() -> None:
    facts = facts_from_row(
        {
            "category": "Decor",
            "price": 5,
            "margin": None,
            "season_tags": "Christmas|winter",
            "tags": "a| b",
            "vendor": "V",
            "created_at": None,
        }
    )
    assert facts.season_tags == ("christmas", "winter") and facts.tags == ("a", "b")
    assert facts.price == 5.0 and facts.margin is None and facts.created_at == ""


@pytest.mark.parametrize("limit", [1, 3, 8, 20])
def test_lists_never_repeat_and_respect_the_limit(limit: int) -> None:
    recs, items = pool(30, categories=3, prices=True)
    settings = RuleSettings(pins=(Pin("p29", 2),), promotions=(Promotion(0.2, category="c1"),))
    got = ids(apply_business_rules(recs + recs[:5], items, ctx(seed=1), settings, limit, ("p01",)))
    assert len(got) == min(limit, 30) and len(set(got)) == len(got)


def test_every_reason_is_the_signal_that_placed_the_item() -> None:
    recs, items = pool(30, categories=3, prices=True)
    recs = [replace(r, reason=f"Model reason for {r.product_id}") for r in recs]
    items["p25"] = replace(items["p25"], created_at="2026-06-10")  # new: explorable
    items["p28"] = replace(items["p28"], vendor="Acme")
    items |= {"f1": ItemFacts(category="c1"), "f2": ItemFacts(category="")}
    settings = RuleSettings(
        pins=(Pin("p19", 2),),
        promotions=(Promotion(0.1, vendor="Acme", label="Acme week"),),
        blocked_categories=(Block("c2"),),
        min_items=12,
    )
    context = ctx(seed=3, anchor_categories=("c1",), session_viewed=frozenset({"p00"}))
    expected = {
        "pinned": lambda r: "Featured by the shop",
        "promotion": lambda r: "Acme week",
        "exploration": lambda r: f"New in {items[r.product_id].category}",
        "trending_fallback": lambda r: f"Best seller in {items[r.product_id].category}",
        "popular_fallback": lambda r: "Best seller in the shop",
        "collaborative": lambda r: f"Model reason for {r.product_id}",
    }
    full = apply_business_rules(recs, items, context, settings, 12, fallback=("f2", "f1"))
    short = apply_business_rules(recs[:4], items, context, settings, 12, fallback=("f2", "f1"))
    # Every kind of placement appears: re-ranked, pinned, promoted, explored, filled.
    assert {r.strategy for r in full + short} == set(expected)
    for r in full + short:
        assert r.reason == expected[r.strategy](r), r
