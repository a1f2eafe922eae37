"""The "rules" shop setting: defaults, per-context overrides, and messages naming key and value."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

import pytest

from engine.rule_settings import (
    CONTEXT_MIN_ITEMS,
    RULE_KEYS,
    Block,
    Pin,
    Promotion,
    RuleSettings,
    RuleSettingsError,
    Window,
    rule_settings_for,
    validate_rules,
)


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
