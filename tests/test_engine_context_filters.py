"""Context filters: same category with loosening to the parent, price relative to the anchor."""

from __future__ import annotations

from datetime import date

from engine.base import Recommendation
from engine.context_filters import (
    narrow_to_context,
    parent_category,
    price_passes,
    within_category,
)
from engine.rule_context import ItemFacts, RuleContext
from engine.rule_settings import RuleSettings, rule_settings_for
from engine.rules import apply_business_rules

BAKING = "Kitchen > Baking"
ITEMS = {
    "anchor": ItemFacts(category=BAKING, price=100.0),
    "b1": ItemFacts(category=BAKING, price=90.0),
    "b2": ItemFacts(category=BAKING + " > Tins", price=120.0),
    "b3": ItemFacts(category=BAKING, price=200.0),
    "k1": ItemFacts(category="Kitchen > Knives", price=110.0),
    "k2": ItemFacts(category="Kitchen", price=95.0),
    "g1": ItemFacts(category="Garden", price=100.0),
    "g2": ItemFacts(category="Garden", price=None),
}
RANKED = ["g1", "k1", "b1", "b3", "g2", "k2", "b2"]


def narrow(category: str, price: str, wanted: int, tolerance: float = 0.3) -> tuple[list, str]:
    tiers, level = narrow_to_context(
        RANKED, ITEMS, [ITEMS["anchor"]], category, price, tolerance, wanted
    )
    return list(tiers), level


def test_category_paths() -> None:
    assert parent_category(BAKING) == "Kitchen" and parent_category("Kitchen") is None
    assert parent_category("A > B > C") == "A > B"
    assert within_category(BAKING + " > Tins", BAKING) and within_category(BAKING, BAKING)
    assert not within_category("Kitchen > Bakingware", BAKING)
    assert not within_category("Kitchen", BAKING) and not within_category("x", "")


def test_price_rules() -> None:
    assert price_passes(130.0, 100.0, "within", 0.3) and not price_passes(
        131.0, 100.0, "within", 0.3
    )
    assert price_passes(70.0, 100.0, "within", 0.3) and not price_passes(69.0, 100.0, "within", 0.3)
    assert price_passes(100.01, 100.0, "above", 0.3) and not price_passes(100.0, 100.0, "above", 0)
    assert price_passes(99.0, 100.0, "below", 0.3) and not price_passes(100.0, 100.0, "below", 0)
    assert not price_passes(None, 100.0, "above", 0.3)  # unknown price: not an upgrade
    assert price_passes(5.0, None, "above", 0.3) and price_passes(None, 100.0, "off", 0.3)


def test_same_category_loosens_to_the_parent_then_to_any() -> None:
    assert narrow("same", "off", 3) == (["b1", "b3", "b2"], "same")
    # Loosening adds the parent's items after the category's own, each tier in rank order.
    assert narrow("same", "off", 4) == (["b1", "b3", "b2", "k1", "k2"], "parent")
    assert narrow("same", "off", 6) == (["b1", "b3", "b2", "k1", "k2", "g1", "g2"], "any")
    # Within +-30% loosens inside the category first (b3 at 200 beats another category),
    # and holds at 'any': g2 (no price) never passes.
    assert narrow("same", "within", 2) == (["b1", "b2"], "same")
    assert narrow("same", "within", 3) == (["b1", "b2", "b3"], "same")
    assert narrow("same", "within", 9) == (["b1", "b2", "b3", "k1", "k2", "g1"], "any")
    assert narrow("off", "above", 1) == (["k1", "b3", "b2"], "any")
    assert narrow("off", "off", 1) == (RANKED, "off")
    # No anchor (home page): nothing to be relative to.
    assert narrow_to_context(RANKED, ITEMS, [], "same", "above", 0.3, 3) == (
        dict.fromkeys(RANKED, 0),
        "off",
    )


def test_same_or_parent_stops_at_the_parent_however_few_remain() -> None:
    assert narrow("same_or_parent", "off", 3) == (["b1", "b3", "b2"], "same")
    assert narrow("same_or_parent", "off", 9) == (["b1", "b3", "b2", "k1", "k2"], "parent")
    assert narrow("same_or_parent", "above", 9) == (["b3", "b2", "k1"], "parent")


def test_a_cart_upgrade_may_be_for_any_of_its_items() -> None:
    cart = [ITEMS["anchor"], ItemFacts(category="Garden", price=50.0)]
    tiers, level = narrow_to_context(RANKED, ITEMS, cart, "same", "above", 0.3, 2)
    assert (tiers, level) == ({"g1": 0, "b3": 0, "b2": 0}, "same")


def rec(pid: str, score: float) -> Recommendation:
    return Recommendation(pid, score, "content", f"Similar to the anchor ({pid})")


def test_similar_and_upgrade_slots_apply_their_default_filters() -> None:
    ctx = RuleContext("product", "similar", date(2026, 6, 15), anchor_ids=("anchor",))
    pool = [rec(pid, 10.0 - i) for i, pid in enumerate(RANKED)]
    similar = rule_settings_for(None, "product", "similar")
    got = apply_business_rules(pool, ITEMS, ctx, similar, 2)
    assert [r.product_id for r in got] == ["b1", "b2"]
    assert [r.reason for r in got] == ["Similar to the anchor (b1)", "Similar to the anchor (b2)"]
    upgrade = rule_settings_for(None, "cart", "upgrade")
    cart = RuleContext("cart", "upgrade", date(2026, 6, 15), anchor_ids=("anchor",))
    pricier = apply_business_rules(pool, ITEMS, cart, upgrade, 4)
    # All dearer than 100; the category's own first, then the parent's (k1: Kitchen).
    assert [r.product_id for r in pricier] == ["b3", "b2", "k1"]
    # The fill for a short upgrade list keeps the price rule: no cheaper best seller.
    filled = apply_business_rules(pool[:1], ITEMS, cart, upgrade, 4, fallback=("g1", "k1", "b3"))
    assert [r.product_id for r in filled] == ["k1", "b3"]
    # Nor does it leave the cart item's family: a pricier garden best seller is no upgrade
    # of a baking tin, so the list stays short; a plain "same" filter would take it.
    items = {**ITEMS, "g9": ItemFacts(category="Garden", price=150.0)}
    best_sellers = ("g9", "k1", "b3")
    filled = apply_business_rules(pool[:1], items, cart, upgrade, 4, fallback=best_sellers)
    assert [r.product_id for r in filled] == ["k1", "b3"]
    loose = RuleSettings(**{**vars(upgrade), "category_filter": "same"})
    loosened = apply_business_rules(pool[:1], items, cart, loose, 4, fallback=best_sellers)
    assert [r.product_id for r in loosened] == ["g9", "k1"]
    assert all(ITEMS[r.product_id].price > 100 for r in filled)  # type: ignore[operator]
    # With the filters off (the owner's choice), the best candidates come back.
    plain = RuleSettings(exploration=0.0, diversity=False, min_items=0, margin_weight=0.0)
    assert [r.product_id for r in apply_business_rules(pool, ITEMS, ctx, plain, 2)] == ["g1", "k1"]
