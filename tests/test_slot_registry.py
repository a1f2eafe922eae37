"""One slot table (engine.slot_specs) feeds every per-slot table: a slot added there shows up
in the contexts, titles, weights, rule defaults, the API's validation and the admin."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from config import Settings, load_settings
from engine.base import CONTEXT_SLOTS, DEFAULT_SLOT
from engine.blend import DEFAULT_WEIGHTS, SOURCES
from engine.errors import SlotSpecError
from engine.rule_settings import RULE_KEYS, SLOT_DEFAULTS
from engine.slot_specs import FEATURES, SLOTS, SlotSpec, derive_tables
from plugin.admin.settings_forms import (
    SLOT_KEYS,
    SettingsFormError,
    check_slot_titles,
    effective_weights,
    slot_keys,
    slot_titles_from_form,
)
from plugin.openapi import build_openapi
from serving.service import SLOT_TITLES
from tests.admin_client import add_admin_user, log_in, make_admin_app

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


def _slot_enums(document: dict) -> tuple[list[str], list[str]]:
    """(contexts, slots) the document's recommendations endpoint accepts."""
    params = {
        p["name"]: p for p in document["paths"]["/api/v1/recommendations"]["get"]["parameters"]
    }
    return params["context"]["schema"]["enum"], params["slot"]["schema"]["enum"]


def test_the_api_document_lists_a_new_spec() -> None:
    settings = load_settings({})
    contexts, slots = _slot_enums(build_openapi(settings))
    assert contexts == sorted(CONTEXT_SLOTS)
    assert set(slots) == {spec.slot for spec in SLOTS}
    tables = derive_tables((*SLOTS, EXTRA))
    contexts, slots = _slot_enums(build_openapi(settings, tables.context_slots))
    assert "gift_ideas" in slots and contexts == sorted(CONTEXT_SLOTS)


def test_the_admin_forms_take_a_new_spec() -> None:
    tables = derive_tables((*SLOTS, EXTRA))
    assert SLOT_KEYS == slot_keys(CONTEXT_SLOTS) == tuple(spec.key for spec in SLOTS)
    assert "cart/gift_ideas" in slot_keys(tables.context_slots)
    shown = effective_weights({}, defaults=tables.weights)
    assert shown["cart/gift_ideas"] == {"content": 0.5, "popularity": 0.5}
    assert effective_weights({"cart": {"rules": 1.0}}, defaults=tables.weights)[
        "cart/gift_ideas"
    ] == {"rules": 1.0}  # the context's row covers the new slot too
    form = MultiDict({"t.gift_ideas": "Gifts for her", "t.upgrade": "You might prefer"})
    assert slot_titles_from_form(form, tables.titles) == {"gift_ideas": "Gifts for her"}
    check_slot_titles({"gift_ideas": "Gifts"}, tables.titles)
    with pytest.raises(SettingsFormError, match="unknown slot 'gift_ideas'"):
        check_slot_titles({"gift_ideas": "Gifts"})  # the live table has no such slot


def test_the_settings_page_shows_every_spec(settings: Settings) -> None:
    add_admin_user(settings, "demo")
    client: FlaskClient = make_admin_app(settings).test_client()
    log_in(client)
    page = html.unescape(client.get("/admin/demo/settings").get_data(as_text=True))
    for spec in SLOTS:
        assert f'name="t.{spec.slot}"' in page and f'placeholder="{spec.title}"' in page
        for source in spec.weights:
            assert f'name="w.{spec.key}.{source}"' in page
