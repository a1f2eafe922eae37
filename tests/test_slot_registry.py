"""One slot table (engine.slot_specs) feeds every per-slot table: a slot added there shows up
in the contexts, titles, weights, rule defaults, the API's validation and the admin."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.base import CONTEXT_SLOTS, DEFAULT_SLOT
from engine.blend import DEFAULT_WEIGHTS, SOURCES
from engine.errors import SlotSpecError
from engine.rule_settings import RULE_KEYS, SLOT_DEFAULTS
from engine.slot_specs import FEATURES, SLOTS, SlotSpec, derive_tables
from serving.service import SLOT_TITLES

EXTRA = SlotSpec(
    "cart",
    "gift_ideas",
    "Gift ideas",
    {"content": 0.5, "popularity": 0.5},
    {"max_per_category": 2},
    features=frozenset({"accessories"}),
)


def test_the_live_tables_are_the_registrys() -> None:
    tables = derive_tables(SLOTS)
    assert CONTEXT_SLOTS == tables.context_slots and DEFAULT_SLOT == tables.default_slot
    assert DEFAULT_WEIGHTS == tables.weights and SLOT_DEFAULTS == tables.rules
    assert SLOT_TITLES == tables.titles


def test_a_new_spec_reaches_every_table() -> None:
    tables = derive_tables((*SLOTS, EXTRA))
    assert tables.context_slots["cart"][-1] == "gift_ideas"
    assert tables.titles["gift_ideas"] == "Gift ideas"
    assert tables.weights["cart/gift_ideas"] == {"content": 0.5, "popularity": 0.5}
    assert tables.rules["cart/gift_ideas"] == {"max_per_category": 2}
    assert tables.features["gift_ideas"] == {"accessories"}
    assert tables.default_slot["cart"] == DEFAULT_SLOT["cart"]  # not a default


@pytest.mark.parametrize("spec", SLOTS, ids=lambda s: s.key)
def test_every_spec_is_complete(spec: SlotSpec) -> None:
    assert spec.title and spec.title[0].isupper()
    assert spec.weights and set(spec.weights) <= set(SOURCES)
    assert abs(sum(spec.weights.values()) - 1.0) < 1e-9
    assert set(spec.rules) <= set(RULE_KEYS)
    assert spec.features <= set(FEATURES)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ((*SLOTS, SLOTS[0]), "listed twice"),
        ((*SLOTS, replace(EXTRA, default=True)), "two default slots"),
        ((*SLOTS, replace(EXTRA, slot="for_you", context="cart", title="Yours")), "two titles"),
        ((*SLOTS, replace(EXTRA, features=frozenset({"teleport"}))), "unknown features"),
        ((replace(EXTRA, context="gifts"),), "without a default slot"),
    ],
)
def test_a_contradictory_table_is_refused(specs: tuple[SlotSpec, ...], message: str) -> None:
    with pytest.raises(SlotSpecError, match=message):
        derive_tables(specs)
