"""Every recommendation slot in one table: where it shows, its title, its blend, its rules.

A slot is one list a placement can ask for (DESIGN.md contexts: product, cart, home, email,
post_purchase). Its spec holds what the rest of shoprec used to keep in parallel tables:
the shopper-facing title (serving), the default blend weights (engine.blend.DEFAULT_WEIGHTS),
the built-in rule defaults (engine.rule_settings.SLOT_DEFAULTS), whether it is its context's
default, and the engine behaviours it asks for by name (FEATURES). Those tables are derived
from SLOTS, so a slot made of existing behaviours is one entry here; a slot with a new
behaviour adds the behaviour to the engine and names it here.

This module imports only engine.errors: engine.base derives its tables from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from engine.errors import SlotSpecError

# The engine behaviours a slot can ask for (engine.shop_models, engine.slots, serving).
FEATURES: Mapping[str, str] = MappingProxyType(
    {
        "exclude_owned": "never lists what the shopper already bought (a discovery list)",
        "personal_content": "content similarity to the shopper's whole history",
        "last_order_seed": "anchored on the customer's last order when no product is given",
        "whole_cart": "a pair score counts by the share of cart items it complements",
        "view_led": "co-views weigh more than co-purchases, and reasons say 'viewed'",
        "category_boost": "the anchor's own category first, then its sibling categories",
        "shopper_categories": "trending in the shopper's categories, not the shop's chart",
        "dearer_only": "only items dearer than the dearest anchor",
        "accessories": "items at most half the price of the dearest anchor",
        "new_only": "only new arrivals",
        "recent_pairs": "pairs bought together since training join the list at once",
    }
)

# Complements of one product often share its category (a mixer and its bowl): the usual
# "2 per category, 3 categories, mixed prices" would push strong complements off the list.
_COMPLEMENTS: Mapping[str, Any] = MappingProxyType(
    {
        "max_per_category": 4,
        "min_categories": 1,
        "mix_price_bands": False,
        "category_penalty": 0.95,
    }
)
# A personal list already follows the shopper's taste, which often sits in a few categories:
# a gentler soft penalty and purchase down-weight, and category caps calibrated to the
# shopper's own category shares (engine.diversity.calibrated_caps; min_categories still
# holds), cut what the rules cost for_you in NDCG@10 (bench/rules.py).
_PERSONAL: Mapping[str, Any] = MappingProxyType(
    {"category_penalty": 0.95, "bought_category_factor": 0.5, "calibrate_categories": True}
)


@dataclass(frozen=True)
class SlotSpec:
    """One slot of one context."""

    context: str
    slot: str
    title: str  # what the widget and email blocks show above the list by default
    weights: Mapping[str, float]  # default blend: source -> weight (engine.blend.SOURCES)
    rules: Mapping[str, Any] = field(default_factory=dict)  # built-in rule defaults
    default: bool = False  # the slot a request naming only the context gets
    features: frozenset[str] = frozenset()  # names from FEATURES

    @property
    def key(self) -> str:
        """'context/slot', the key of weights and rules sections."""
        return f"{self.context}/{self.slot}"


SLOTS: tuple[SlotSpec, ...] = (
    # Same-order pairs, then same product line (content): customer-level co-purchase
    # (collaborative) lowered the held-out FBT hit rate at both splits measured. Best sellers
    # (popularity) decide between pairs of similar confidence: HR@10 +0.4 to +0.9 points on
    # two Online Retail splits and +2 to +3 on two demo shops. A product's complements often
    # all sit in one category (a grinder's filters, scoops and beans): no cap below the
    # list's length; the cap of 4 cost the demo shop's product pages 1.5 points of FBT HR@8
    # as served (0.575 -> 0.590, the engine's own list 0.588).
    SlotSpec(
        "product",
        "frequently_bought_together",
        "Frequently bought together",
        {"rules": 0.6, "content": 0.25, "popularity": 0.15},
        {**_COMPLEMENTS, "max_per_category": 8},
        default=True,
        features=frozenset({"recent_pairs"}),
    ),
    SlotSpec(
        "product",
        "also_viewed",
        "Customers also viewed",
        {"collaborative": 0.6, "content": 0.3, "rules": 0.1},
        features=frozenset({"view_led"}),
    ),
    # "Similar" means the same kind of thing at about the same price.
    SlotSpec(
        "product",
        "similar",
        "Similar products",
        {"content": 0.7, "collaborative": 0.3},
        {
            **_COMPLEMENTS,
            "max_per_category": 8,
            "category_filter": "same",
            "price_filter": "within",
        },
        features=frozenset({"category_boost"}),
    ),
    SlotSpec(
        "cart",
        "complete_the_look",
        "Complete the look",
        {"rules": 0.4, "collaborative": 0.4, "content": 0.2},
        default=True,
        features=frozenset({"whole_cart"}),
    ),
    # An upsell is a pricier item of a cart item's category, never of another family.
    SlotSpec(
        "cart",
        "upgrade",
        "You might prefer",
        {"content": 0.6, "collaborative": 0.2, "popularity": 0.2},
        {**_COMPLEMENTS, "category_filter": "same_or_parent", "price_filter": "above"},
        features=frozenset({"dearer_only"}),
    ),
    SlotSpec(
        "cart",
        "dont_forget",
        "Don't forget",
        {"rules": 0.5, "collaborative": 0.4, "popularity": 0.1},
        {**_COMPLEMENTS, "max_per_category": 3},
        features=frozenset({"accessories"}),
    ),
    SlotSpec(
        "home",
        "for_you",
        "Picked for you",
        {"taste": 0.8, "content": 0.2},
        _PERSONAL,
        default=True,
        features=frozenset({"exclude_owned", "personal_content"}),
    ),
    SlotSpec(
        "home",
        "trending",
        "Trending now",
        {"trending": 1.0},
        features=frozenset({"shopper_categories"}),
    ),
    SlotSpec(
        "email",
        "for_you",
        "Picked for you",
        {"taste": 0.8, "content": 0.2},
        _PERSONAL,
        default=True,
        features=frozenset({"exclude_owned", "personal_content"}),
    ),
    SlotSpec(
        "email",
        "new_in_favourites",
        "New in your favourites",
        {"newness": 0.5, "taste": 0.3, "content": 0.2},
        features=frozenset({"shopper_categories", "new_only"}),
    ),
    SlotSpec(
        "email",
        "because_you_bought",
        "Because you bought",
        {"collaborative": 0.5, "rules": 0.3, "content": 0.2},
        features=frozenset({"last_order_seed"}),
    ),
    SlotSpec(
        "post_purchase",
        "also_bought",
        "Customers also bought",
        {"collaborative": 0.5, "rules": 0.3, "content": 0.2},
        default=True,
    ),
    SlotSpec(
        "post_purchase",
        "complete_the_set",
        "Complete the set",
        {"rules": 0.5, "content": 0.3, "collaborative": 0.2},
        _COMPLEMENTS,
    ),
)


@dataclass(frozen=True)
class SlotTables:
    """The per-slot tables the rest of shoprec reads, derived from a tuple of specs."""

    context_slots: dict[str, tuple[str, ...]]
    default_slot: dict[str, str]
    titles: dict[str, str]
    weights: dict[str, dict[str, float]]
    rules: dict[str, dict[str, Any]]
    features: dict[str, frozenset[str]]


def derive_tables(specs: tuple[SlotSpec, ...]) -> SlotTables:
    """The tables of `specs`, checked: one default per context, no duplicate slot, titles
    that agree where a slot name shows in several contexts, only known features."""
    context_slots: dict[str, list[str]] = {}
    default_slot: dict[str, str] = {}
    titles: dict[str, str] = {}
    features: dict[str, set[str]] = {}
    for spec in specs:
        slots = context_slots.setdefault(spec.context, [])
        if spec.slot in slots:
            raise SlotSpecError(f"slot {spec.key} is listed twice")
        slots.append(spec.slot)
        if spec.default:
            if spec.context in default_slot:
                raise SlotSpecError(f"context {spec.context!r} has two default slots")
            default_slot[spec.context] = spec.slot
        if titles.setdefault(spec.slot, spec.title) != spec.title:
            raise SlotSpecError(f"slot {spec.slot!r} has two titles")
        unknown = spec.features - set(FEATURES)
        if unknown:
            raise SlotSpecError(f"slot {spec.key} asks for unknown features {sorted(unknown)}")
        features.setdefault(spec.slot, set()).update(spec.features)
    missing = sorted(set(context_slots) - set(default_slot))
    if missing:
        raise SlotSpecError(f"contexts without a default slot: {missing}")
    return SlotTables(
        context_slots={c: tuple(s) for c, s in context_slots.items()},
        default_slot=default_slot,
        titles=titles,
        weights={spec.key: dict(spec.weights) for spec in specs},
        rules={spec.key: dict(spec.rules) for spec in specs if spec.rules},
        features={slot: frozenset(names) for slot, names in features.items()},
    )


TABLES = derive_tables(SLOTS)


def slot_has(slot: str, feature: str) -> bool:
    """Whether `slot` asks for the engine behaviour `feature` (a name from FEATURES)."""
    return feature in TABLES.features.get(slot, frozenset())
