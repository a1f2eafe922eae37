"""The "rules" shop setting: defaults, per-context overrides, and messages naming key and value."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

import pytest

from config import load_settings
from engine.base import CONTEXT_SLOTS
from engine.rule_settings import (
    CONTEXT_MIN_ITEMS,
    RULE_KEYS,
    SLOT_DEFAULTS,
    Block,
    Pin,
    Promotion,
    RuleSettings,
    RuleSettingsError,
    Window,
    merge_rules,
    rule_settings_for,
    validate_rules,
)
from engine.slot_limits import CONTEXT_LIMITS, clamp_limit, limits_for


def test_defaults_are_on_and_every_key_is_documented() -> None:
    settings = rule_settings_for(None, "product")
    assert settings == RuleSettings(min_items=4)
    assert settings.exploration == 0.1 and settings.margin_weight == 0.2
    assert settings.bought_category_days == 14 and settings.bought_category_factor == 0.3
    assert settings.session_viewed_factor == 0.7 and settings.diversity
    assert {f.name for f in fields(RuleSettings)} == set(RULE_KEYS)
    assert all(spec.help and spec.rule for spec in RULE_KEYS.values())
    assert {c: rule_settings_for({}, c).min_items for c in CONTEXT_MIN_ITEMS} == {
        "product": 4,
        "cart": 2,
        "home": 6,
        "email": 4,
        "post_purchase": 3,
    }


def test_context_sections_override_the_default_section() -> None:
    raw = {
        "default": {"exploration": 0.2, "hemisphere": "south", "min_items": 5},
        "product": {"exploration": 0},
    }
    product, home = rule_settings_for(raw, "product"), rule_settings_for(raw, "home")
    assert product.exploration == 0.0 and product.hemisphere == "south"
    assert home.exploration == 0.2 and home.min_items == 5


def test_entries_with_dates_are_parsed() -> None:
    raw = {
        "default": {
            "blocked_products": ["p1", {"product_id": "p2", "start": "2026-06-01", "end": None}],
            "blocked_categories": [{"category": "Rugs", "end": "2026-07-01"}],
            "pins": [{"product_id": "p3", "position": 2, "anchor_category": "Lamps"}],
            "promotions": [{"vendor": "Acme", "share": 0.25, "start": "2026-06-01"}],
        }
    }
    s = rule_settings_for(raw, "cart")
    assert s.blocked_products == (Block("p1"), Block("p2", Window(date(2026, 6, 1), None)))
    assert s.blocked_categories == (Block("Rugs", Window(None, date(2026, 7, 1))),)
    assert s.pins == (Pin("p3", 2, anchor_category="Lamps"),)
    assert s.promotions == (Promotion(0.25, vendor="Acme", window=Window(date(2026, 6, 1))),)
    assert not s.blocked_products[1].window.active(date(2026, 5, 31))
    assert s.blocked_products[1].window.active(date(2030, 1, 1))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"product": {"exploration": 0.5}},
            "rules.product.exploration must be between 0 and 0.2, got 0.5 (rule: exploration)",
        ),
        (
            {"default": {"hemisphere": "east"}},
            "rules.default.hemisphere must be one of ['north', 'south'], got 'east' "
            "(rule: seasonal)",
        ),
        (
            {"cart": {"bought_category_days": "14"}},
            "rules.cart.bought_category_days must be an integer between 0 and 365, got '14' "
            "(rule: purchase_downweight)",
        ),
        (
            {"home": {"pins": [{"product_id": "p1", "position": 0}]}},
            "rules.home.pins[0].position must be an integer between 1 and 50, got 0 (rule: pins)",
        ),
        (
            {"default": {"blocked_products": [{"product_id": "p1", "end": "soon"}]}},
            "rules.default.blocked_products[0].end must be an ISO date (YYYY-MM-DD) or null, "
            "got 'soon' (rule: blocked)",
        ),
        (
            {"default": {"promotions": [{"share": 0.2}]}},
            "rules.default.promotions[0] must be an object with one of "
            "['category', 'tag', 'vendor'], got {'share': 0.2} (rule: promotions)",
        ),
        (
            {"default": {"diversity": 1}},
            "rules.default.diversity must be true or false, got 1 (rule: diversity)",
        ),
        ({"default": {"explore": 0.1}}, "rules.default has unknown keys ['explore']"),
        ({"checkout": {}}, "rules has unknown sections ['checkout']"),
        ({"product/for_you": {}}, "rules has unknown sections ['product/for_you']"),
        (
            {"product/similar": {"price_filter": "cheaper"}},
            "rules.product/similar.price_filter must be one of "
            "['off', 'within', 'above', 'below'], got 'cheaper' (rule: context_filters)",
        ),
        (
            {"home": {"promotions": [{"tag": "sale", "label": ""}]}},
            "rules.home.promotions[0].label must be non-empty text",
        ),
        ([1], "rules must be a JSON object, got [1]"),
    ],
)
def test_bad_values_are_refused_with_key_value_and_rule(raw: Any, message: str) -> None:
    with pytest.raises(RuleSettingsError) as caught:
        validate_rules(raw)
    assert str(caught.value).startswith(message)


def test_a_window_ending_before_it_starts_is_refused() -> None:
    raw = {
        "default": {
            "blocked_categories": [{"category": "X", "start": "2026-02-01", "end": "2026-01-01"}]
        }
    }
    with pytest.raises(RuleSettingsError, match=r"blocked_categories\[0\]\.end must not be before"):
        rule_settings_for(raw, "home")


def test_slot_sections_win_over_context_and_default() -> None:
    raw = {
        "default": {"exploration": 0.2, "margin_weight": 0.5},
        "product": {"exploration": 0.15, "min_categories": 2},
        "product/similar": {"exploration": 0.0},
    }
    similar = rule_settings_for(raw, "product", "similar")
    also_viewed = rule_settings_for(raw, "product", "also_viewed")
    assert similar.exploration == 0.0 and similar.margin_weight == 0.5
    assert also_viewed.exploration == 0.15 and also_viewed.min_categories == 2
    # The owner's context section beats the built-in slot default; an unset key keeps it.
    assert similar.min_categories == 2 and similar.price_filter == "within"
    assert rule_settings_for(raw, "home", "for_you").exploration == 0.2


def test_complement_slots_get_lighter_diversity_and_filters_by_default() -> None:
    for name in SLOT_DEFAULTS:
        context, _, slot = name.partition("/")
        assert slot in CONTEXT_SLOTS[context]
        validate_rules({name: SLOT_DEFAULTS[name]})  # built-ins obey the owner's checks
    plain = rule_settings_for(None, "product", "also_viewed")
    fbt = rule_settings_for(None, "product", "frequently_bought_together")
    assert plain.min_categories == 3 and plain.mix_price_bands
    assert fbt.max_per_category == 8 and fbt.min_categories == 1 and not fbt.mix_price_bands
    assert rule_settings_for(None, "cart", "dont_forget").min_categories == 1
    assert rule_settings_for(None, "post_purchase", "complete_the_set").min_categories == 1
    assert rule_settings_for(None, "cart", "upgrade").price_filter == "above"
    similar = rule_settings_for(None, "product", "similar")
    assert (similar.category_filter, similar.price_filter) == ("same", "within")
    assert similar.price_tolerance == 0.3 and plain.category_filter == "off"


def test_merge_rules_keeps_the_owners_keys_under_a_profile() -> None:
    shop = {"default": {"blocked_products": ["p1"], "exploration": 0.1}}
    profile = {"default": {"exploration": 0.2}, "home": {"diversity": False}}
    merged = merge_rules(shop, profile)
    assert merged == {
        "default": {"blocked_products": ["p1"], "exploration": 0.2},
        "home": {"diversity": False},
    }
    assert shop["default"]["exploration"] == 0.1  # the stored value is not changed
    with pytest.raises(RuleSettingsError, match="rules.home.diversity must be true or false"):
        merge_rules(shop, {"home": {"diversity": "no"}})


def test_each_context_default_limit_lies_in_its_range_and_requests_are_cut_to_it() -> None:
    ranges = {c: (lim.minimum, lim.maximum) for c, lim in CONTEXT_LIMITS.items()}
    assert ranges == {
        "product": (4, 8),
        "cart": (2, 4),
        "home": (6, 12),
        "email": (4, 6),
        "post_purchase": (3, 6),
    }
    assert set(CONTEXT_LIMITS) == set(CONTEXT_SLOTS)
    served_default = load_settings({}).default_limit  # what a request without a limit asks
    for context, lim in CONTEXT_LIMITS.items():
        assert lim.minimum <= lim.default <= lim.maximum
        assert lim.default == clamp_limit(context, served_default)
        assert CONTEXT_MIN_ITEMS[context] == lim.minimum
        assert clamp_limit(context, 50) == lim.maximum
        assert clamp_limit(context, lim.default) == lim.default
    assert clamp_limit("product", 2) == 2  # a narrow widget may ask for fewer
    assert clamp_limit("cart", 0) == 1 and limits_for("nope") == CONTEXT_LIMITS["product"]
