"""The shop owner's knobs for the business-rules layer, as data with defaults, help and checks.

A shop stores them as one JSON value under the shop setting key "rules":
``{"default": {...}, "product": {...}, "product/similar": {...}}``. For one list the
sections apply in order, each key by key over the one before: the built-in defaults, the
built-in slot defaults (SLOT_DEFAULTS: lighter diversity where complements share a category,
context filters for similar and upgrade), then the owner's "default", "<context>" and
"<context>/<slot>" sections. Every key is documented in RULE_KEYS (default, help and the rule
it belongs to) and every bad value is refused with a message that names the key, the rule and
the value, e.g. "rules.product.exploration must be between 0 and 0.2, got 0.5 (rule:
exploration)".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from engine.base import CONTEXT_SLOTS
from engine.rule_values import (
    Block,
    Pin,
    Promotion,
    RuleSettingsError,
    check_blocks,
    check_bool,
    check_choice,
    check_number,
    check_optional_int,
    check_pins,
    check_promotions,
)
from engine.rule_values import Window as Window  # re-exported: callers build dated entries
from engine.slot_limits import CONTEXT_LIMITS
from engine.slot_specs import TABLES

SETTING_KEY = "rules"
HEMISPHERES = ("north", "south")
# The shortest list each placement should show; the layer fills with best sellers below it.
CONTEXT_MIN_ITEMS: dict[str, int] = {c: lim.minimum for c, lim in CONTEXT_LIMITS.items()}
CATEGORY_FILTERS = ("off", "same", "same_or_parent")
PRICE_FILTERS = ("off", "within", "above", "below")
# Built-in per-slot defaults, under the owner's sections (keys "context/slot"), from the slot
# table (engine.slot_specs), where each says why.
SLOT_DEFAULTS: dict[str, dict[str, Any]] = TABLES.rules


@dataclass(frozen=True)
class RuleSettings:
    """Every knob of the business rules for one context; see RULE_KEYS for help."""

    hemisphere: str = "north"
    seasonal_exclusion: bool = True
    season_lead_days: int = 30
    blocked_products: tuple[Block, ...] = ()
    blocked_categories: tuple[Block, ...] = ()
    bought_category_days: int = 14
    bought_category_factor: float = 0.3
    session_viewed_factor: float = 0.7
    margin_weight: float = 0.2
    pins: tuple[Pin, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    diversity: bool = True
    max_per_category: int | None = None
    calibrate_categories: bool = False
    min_categories: int = 3
    mix_price_bands: bool = True
    category_penalty: float = 0.85
    exploration: float = 0.1
    exploration_new_days: int = 30
    exploration_max_impressions: int = 20
    category_filter: str = "off"
    price_filter: str = "off"
    price_tolerance: float = 0.3
    min_items: int = 4


@dataclass(frozen=True)
class KeySpec:
    """One documented key: the rule it belongs to, its help and how to check a raw value."""

    rule: str
    help: str
    check: Callable[[Any, str, str], Any]


_hemisphere = check_choice(HEMISPHERES)


RULE_KEYS: dict[str, KeySpec] = {
    "hemisphere": KeySpec(
        "seasonal", "north or south: which months are summer and winter.", _hemisphere
    ),
    "seasonal_exclusion": KeySpec(
        "seasonal", "Hide products whose season_tags are out of season today.", check_bool
    ),
    "season_lead_days": KeySpec(
        "seasonal",
        "Days before a season starts (christmas: Nov 1) that its products are already shown.",
        check_number(0, 92, integer=True),
    ),
    "blocked_products": KeySpec(
        "blocked",
        'Product ids never shown: "id" or {"product_id", "start", "end"}.',
        check_blocks("product_id"),
    ),
    "blocked_categories": KeySpec(
        "blocked",
        'Categories never shown: "name" or {"category", "start", "end"}.',
        check_blocks("category"),
    ),
    "bought_category_days": KeySpec(
        "purchase_downweight",
        "Days after a purchase that the bought item's category is pushed down (0: off).",
        check_number(0, 365, integer=True),
    ),
    "bought_category_factor": KeySpec(
        "purchase_downweight",
        "Score multiplier for that category (1: no effect).",
        check_number(0, 1),
    ),
    "session_viewed_factor": KeySpec(
        "session_downweight",
        "Score multiplier for products already viewed in this session (1: no effect).",
        check_number(0, 1),
    ),
    "margin_weight": KeySpec(
        "margin_boost",
        "score *= 1 + margin_weight * margin when the margin (0..1) is known (0: off).",
        check_number(0, 1),
    ),
    "pins": KeySpec(
        "pins",
        "Owner pins: {product_id, position, anchor_product_id|anchor_category|null, start, end}.",
        check_pins,
    ),
    "promotions": KeySpec(
        "promotions",
        "Reserved shares of slots: {share, category|tag|vendor, label, start, end}; the label "
        "is the reason shown (default: Featured by the shop).",
        check_promotions,
    ),
    "diversity": KeySpec("diversity", "Cap items per category and mix categories.", check_bool),
    "max_per_category": KeySpec(
        "diversity",
        "Most items of one category in a list (null: max(2, ceil(limit / 3))).",
        check_optional_int(1, 50),
    ),
    "calibrate_categories": KeySpec(
        "diversity",
        "Personal lists: raise a category's cap to the shopper's own share of it (a shopper "
        "who buys mostly baking sees mostly baking); min_categories still holds.",
        check_bool,
    ),
    "min_categories": KeySpec(
        "diversity",
        "Fewest distinct categories in a list when the candidates allow.",
        check_number(1, 10, integer=True),
    ),
    "category_penalty": KeySpec(
        "diversity",
        "Soft re-rank: each item of a category already listed multiplies the next one's "
        "score by this (1: only the cap applies).",
        check_number(0.5, 1),
    ),
    "mix_price_bands": KeySpec(
        "diversity",
        "Show 2+ price bands (budget/mid/premium) when the pool spans them.",
        check_bool,
    ),
    "exploration": KeySpec(
        "exploration",
        "Share of slots for relevant items that are new or rarely shown (0: off).",
        check_number(0, 0.2),
    ),
    "exploration_new_days": KeySpec(
        "exploration",
        "A product created within this many days counts as new for exploration.",
        check_number(1, 365, integer=True),
    ),
    "exploration_max_impressions": KeySpec(
        "exploration",
        "A product shown at most this many times in the last 14 days counts as rarely shown.",
        check_number(0, 1_000_000, integer=True),
    ),
    "category_filter": KeySpec(
        "context_filters",
        "same: only the anchor's category, loosened to its parent category (path 'A > B') "
        "and then to any when too few remain; same_or_parent: the same, never past the "
        "parent (upgrades); off: any category.",
        check_choice(CATEGORY_FILTERS),
    ),
    "price_filter": KeySpec(
        "context_filters",
        "Price against the anchor's: within (+-price_tolerance), above (strictly pricier: "
        "upsell), below, or off.",
        check_choice(PRICE_FILTERS),
    ),
    "price_tolerance": KeySpec(
        "context_filters",
        "Share of the anchor's price that 'within' allows either way (0.3: +-30%).",
        check_number(0, 1),
    ),
    "min_items": KeySpec(
        "fallback",
        "Fewest items a list shows; popular items fill below it (default per context).",
        check_number(0, 50, integer=True),
    ),
}


def _validate_section(section: Any, path: str) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise RuleSettingsError(f"{path} must be a JSON object, got {section!r}")
    unknown = sorted(set(section) - set(RULE_KEYS))
    if unknown:
        raise RuleSettingsError(f"{path} has unknown keys {unknown}; known: {sorted(RULE_KEYS)}")
    return {
        key: RULE_KEYS[key].check(value, f"{path}.{key}", RULE_KEYS[key].rule)
        for key, value in section.items()
    }


def rule_sections() -> tuple[str, ...]:
    """Every section name a "rules" setting may hold: default, contexts, 'context/slot'."""
    slots = [f"{c}/{slot}" for c, slots in CONTEXT_SLOTS.items() for slot in slots]
    return ("default", *CONTEXT_SLOTS, *slots)


def validate_rules(raw: Any) -> dict[str, dict[str, Any]]:
    """Every section of a "rules" setting checked; raise RuleSettingsError on the first problem."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RuleSettingsError(f"{SETTING_KEY} must be a JSON object, got {raw!r}")
    allowed = rule_sections()
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise RuleSettingsError(
            f"{SETTING_KEY} has unknown sections {unknown}: use 'default', a context of "
            f"{sorted(CONTEXT_SLOTS)} or 'context/slot' (e.g. 'product/similar')"
        )
    return {
        name: _validate_section(section, f"{SETTING_KEY}.{name}") for name, section in raw.items()
    }


def merge_rules(base: Any, override: Any) -> dict[str, dict[str, Any]]:
    """Two raw "rules" values as one: `override`'s sections win key by key over `base`'s.

    An experiment's profile is merged over the shop's setting this way, so a variant that
    changes exploration keeps the owner's blocks and pins. Both are validated first.
    """
    validate_rules(base)
    validate_rules(override)
    merged = {name: dict(section) for name, section in (base or {}).items()}
    for name, section in (override or {}).items():
        merged[name] = {**merged.get(name, {}), **section}
    return merged


def rule_settings_for(raw: Any, context: str, slot: str | None = None) -> RuleSettings:
    """The settings for one list: built-in, slot defaults, then default, context, context/slot."""
    sections = validate_rules(raw)
    merged: dict[str, Any] = {"min_items": CONTEXT_MIN_ITEMS.get(context, 4)}
    if slot:
        merged.update(_validate_section(SLOT_DEFAULTS.get(f"{context}/{slot}", {}), "built-in"))
    merged.update(sections.get("default", {}))
    merged.update(sections.get(context, {}))
    if slot:
        merged.update(sections.get(f"{context}/{slot}", {}))
    names = {f.name for f in fields(RuleSettings)}
    return RuleSettings(**{k: v for k, v in merged.items() if k in names})
