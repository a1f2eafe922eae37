"""The settings page: values in effect, each form stored, audited and applied; bad input kept."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import Settings
from serving.generations import read_marker
from storage.db import open_shop_db
from storage.shop_settings import get_shop_setting
from tests.admin_client import add_admin_user, csrf_of, log_in, logged_in_client, make_admin_app


@pytest.fixture
def app(settings: Settings) -> Flask:
    add_admin_user(settings, "demo")
    return make_admin_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in(client)
    return client


def _setting(settings: Settings, key: str) -> object:
    db = open_shop_db(settings.data_dir, "demo")
    try:
        return get_shop_setting(db, key)
    finally:
        db.close()


def _changes(settings: Settings) -> list[tuple[str, str]]:
    db = open_shop_db(settings.data_dir, "demo")
    try:
        return [tuple(r) for r in db.execute("SELECT key, changed_by FROM settings_changes")]
    finally:
        db.close()


def _weights_form(client: FlaskClient, **changes: str) -> dict[str, str]:
    """The weights table as the page renders it, with some cells changed."""
    import re

    page = client.get("/admin/demo/settings").get_data(as_text=True)
    fields = dict(re.findall(r'name="(w\.[^"]+)" value="([^"]*)"', page))
    fields.update(changes)
    fields["csrf_token"] = csrf_of(client)
    return fields


def test_page_shows_every_slot_weight_and_every_rule(client: FlaskClient) -> None:
    page = client.get("/admin/demo/settings").get_data(as_text=True)
    assert 'name="w.home/trending.trending" value="1"' in page
    assert 'name="w.product/similar.content" value="0.7"' in page
    for key in ("exploration", "blocked_products", "pins", "promotions", "price_filter"):
        assert f"<code>{key}</code>" in page
    assert "No changes yet." in page


def test_unchanged_weights_store_nothing(client: FlaskClient, settings: Settings) -> None:
    response = client.post("/admin/demo/settings/weights", data=_weights_form(client))
    assert response.status_code == 302
    assert _setting(settings, "weights") is None and _changes(settings) == []


def test_weight_change_is_stored_audited_and_bumps_the_cache(
    client: FlaskClient, settings: Settings
) -> None:
    before = read_marker(settings.shop_dir("demo"))
    form = _weights_form(
        client, **{"w.home/trending.trending": "0.5", "w.home/trending.content": "0.5"}
    )
    response = client.post("/admin/demo/settings/weights", data=form)
    assert response.status_code == 302
    assert _setting(settings, "weights") == {"home/trending": {"trending": 0.5, "content": 0.5}}
    assert _changes(settings) == [("weights", "owner")]
    assert read_marker(settings.shop_dir("demo")) != before
    page = client.get("/admin/demo/settings").get_data(as_text=True)
    assert "Saved weights" in page and "<td>owner</td>" in page and "custom" in page


def test_bad_weight_is_refused_with_the_value_kept(client: FlaskClient, settings: Settings) -> None:
    form = _weights_form(client, **{"w.home/for_you.taste": "-2"})
    response = client.post("/admin/demo/settings/weights", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "weight of taste in home/for_you must be &gt;= 0" in page
    assert 'name="w.home/for_you.taste" value="-2"' in page
    assert _setting(settings, "weights") is None and _changes(settings) == []


def test_all_zero_row_is_refused(client: FlaskClient) -> None:
    form = _weights_form(client, **{"w.home/trending.trending": "0"})
    response = client.post("/admin/demo/settings/weights", data=form)
    assert response.status_code == 400
    assert "weights for home/trending must not all be zero" in response.get_data(as_text=True)


def test_rules_json_shows_the_validators_message_and_keeps_the_text(
    client: FlaskClient, settings: Settings
) -> None:
    typed = '{"default": {"exploration": 0.5}}'
    response = client.post(
        "/admin/demo/settings/json",
        data={"key": "rules", "json": typed, "csrf_token": csrf_of(client)},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "rules.default.exploration must be between 0 and 0.2" in page
    assert "{&#34;default&#34;: {&#34;exploration&#34;: 0.5}}" in page
    assert _setting(settings, "rules") is None


def test_broken_json_is_named(client: FlaskClient) -> None:
    response = client.post(
        "/admin/demo/settings/json",
        data={"key": "campaigns", "json": "{nope", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 400
    assert "campaigns: not valid JSON" in response.get_data(as_text=True)


def test_campaign_json_uses_the_email_validator(client: FlaskClient, settings: Settings) -> None:
    bad = json.dumps({"browse": {"delay_days": 999}})
    response = client.post(
        "/admin/demo/settings/json",
        data={"key": "campaigns", "json": bad, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 400 and "campaigns.browse.delay_days" in response.get_data(
        as_text=True
    )
    good = json.dumps({"browse": {"delay_days": 5}})
    client.post(
        "/admin/demo/settings/json",
        data={"key": "campaigns", "json": good, "csrf_token": csrf_of(client)},
    )
    assert _setting(settings, "campaigns") == {"browse": {"delay_days": 5}}


def test_common_rule_knobs_merge_into_the_default_section(
    client: FlaskClient, settings: Settings
) -> None:
    client.post(
        "/admin/demo/settings/json",
        data={"key": "rules", "json": '{"home": {"min_items": 2}}', "csrf_token": csrf_of(client)},
    )
    form = {"r.hemisphere": "south", "r.exploration": "0.05", "r.diversity": "on"}
    response = client.post(
        "/admin/demo/settings/rules", data={**form, "csrf_token": csrf_of(client)}
    )
    assert response.status_code == 302
    rules = _setting(settings, "rules")
    assert rules["home"] == {"min_items": 2}  # type: ignore[index]
    default = rules["default"]  # type: ignore[index]
    assert default["hemisphere"] == "south" and default["exploration"] == 0.05
    assert default["diversity"] is True and default["seasonal_exclusion"] is False
    bad = client.post(
        "/admin/demo/settings/rules",
        data={"r.exploration": "0.9", "csrf_token": csrf_of(client)},
    )
    assert bad.status_code == 400 and "exploration must be between 0 and 0.2" in bad.get_data(
        as_text=True
    )


def test_block_and_unblock_a_product(client: FlaskClient, settings: Settings) -> None:
    token = csrf_of(client)
    client.post(
        "/admin/demo/settings/blocks",
        data={"kind": "product", "value": "p-9", "action": "add", "csrf_token": token},
    )
    assert _setting(settings, "rules") == {"default": {"blocked_products": ["p-9"]}}
    assert "<code>p-9</code>" in client.get("/admin/demo/settings").get_data(as_text=True)
    client.post(
        "/admin/demo/settings/blocks",
        data={"kind": "product", "value": "p-9", "action": "remove", "csrf_token": token},
    )
    assert _setting(settings, "rules") == {"default": {"blocked_products": []}}


def test_pin_with_bad_position_is_refused_and_a_good_one_listed(
    client: FlaskClient, settings: Settings
) -> None:
    token = csrf_of(client)
    bad = client.post(
        "/admin/demo/settings/pins",
        data={"product_id": "p-1", "position": "first", "csrf_token": token},
    )
    assert bad.status_code == 400 and 'value="first"' in bad.get_data(as_text=True)
    zero = client.post(
        "/admin/demo/settings/pins",
        data={"product_id": "p-1", "position": "0", "csrf_token": token},
    )
    assert zero.status_code == 400 and "rules.default.pins" in zero.get_data(as_text=True)
    client.post(
        "/admin/demo/settings/pins",
        data={"product_id": "p-1", "position": "2", "csrf_token": token},
    )
    assert _setting(settings, "rules") == {
        "default": {"pins": [{"product_id": "p-1", "position": 2}]}
    }
    client.post("/admin/demo/settings/pins", data={"remove": "0", "csrf_token": token})
    assert _setting(settings, "rules") == {"default": {"pins": []}}


def test_slot_titles_are_escaped_and_limited(client: FlaskClient, settings: Settings) -> None:
    token = csrf_of(client)
    title = '<script>alert("x")</script>'
    client.post("/admin/demo/settings/slot_titles", data={"t.similar": title, "csrf_token": token})
    assert _setting(settings, "slot_titles") == {"similar": title}
    page = client.get("/admin/demo/settings").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    long = client.post(
        "/admin/demo/settings/slot_titles", data={"t.similar": "x" * 81, "csrf_token": token}
    )
    assert long.status_code == 400


def test_widget_format_cache_ttl_and_origins(client: FlaskClient, settings: Settings) -> None:
    token = csrf_of(client)
    ok = client.post(
        "/admin/demo/settings/widget",
        data={"widget_format": "grid", "cache_ttl_s": "600", "csrf_token": token},
    )
    assert ok.status_code == 302
    assert (
        _setting(settings, "widget_format") == "grid" and _setting(settings, "cache_ttl_s") == 600
    )
    bad = client.post(
        "/admin/demo/settings/widget",
        data={"widget_format": "marquee", "cache_ttl_s": "5", "csrf_token": token},
    )
    assert bad.status_code == 400
    origins = "https://Shop.example/\nhttp://localhost:8080\n"
    client.post(
        "/admin/demo/settings/origins", data={"allowed_origins": origins, "csrf_token": token}
    )
    assert _setting(settings, "allowed_origins") == [
        "https://shop.example",
        "http://localhost:8080",
    ]
    bad = client.post(
        "/admin/demo/settings/origins",
        data={"allowed_origins": "javascript:alert(1)", "csrf_token": token},
    )
    assert bad.status_code == 400 and "must be an origin" in bad.get_data(as_text=True)


def test_unknown_section_is_404_and_post_needs_csrf(client: FlaskClient) -> None:
    assert (
        client.post("/admin/demo/settings/bogus", data={"csrf_token": csrf_of(client)}).status_code
        == 404
    )
    assert client.post("/admin/demo/settings/weights", data={}).status_code == 400


def test_weight_change_reaches_the_next_storefront_answer(trained_settings: Settings) -> None:
    from storage.orders import popular_products

    db = open_shop_db(trained_settings.data_dir, "demo")
    anchor = popular_products(db, limit=1)[0]
    db.close()
    add_admin_user(trained_settings, "demo")
    client = make_admin_app(trained_settings).test_client()
    log_in(client)
    url = (
        f"/api/v1/recommendations?shop=demo&context=product&slot=also_viewed"
        f"&product_id={anchor}&limit=8"
    )
    before = [i["product_id"] for i in client.get(url).get_json()["items"]]
    assert [i["product_id"] for i in client.get(url).get_json()["items"]] == before  # cached
    row = "w.product/also_viewed."
    form = _weights_form(
        client,
        **{row + "collaborative": "0", row + "content": "0", row + "rules": "0"},
        **{row + "popularity": "1"},
    )
    assert client.post("/admin/demo/settings/weights", data=form).status_code == 302
    after = [i["product_id"] for i in client.get(url).get_json()["items"]]
    assert after != before and len(after) == len(before)


def test_campaign_delays_form_keeps_the_push_target(
    client: FlaskClient, settings: Settings
) -> None:
    token = csrf_of(client)
    push = {"push": {"provider": "klaviyo"}}
    client.post(
        "/admin/demo/settings/json",
        data={"key": "campaigns", "json": json.dumps(push), "csrf_token": token},
    )
    form = {
        "c.post_purchase.enabled": "on",
        "c.post_purchase.delay_days": "10",
        "c.browse.delay_days": "2",
        "c.browse.window_days": "5",
        "c.win_back.enabled": "on",
        "c.win_back.delay_days": "45",
        "csrf_token": token,
    }
    assert client.post("/admin/demo/settings/campaigns", data=form).status_code == 302
    assert _setting(settings, "campaigns") == {
        "push": {"provider": "klaviyo"},
        "post_purchase": {"enabled": True, "delay_days": 10},
        "browse": {"enabled": False, "delay_days": 2, "window_days": 5},
        "win_back": {"enabled": True, "delay_days": 45},
    }
    bad = client.post(
        "/admin/demo/settings/campaigns", data={**form, "c.win_back.delay_days": "999"}
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "campaigns.win_back.delay_days" in page
    assert 'value="999"' in page


def test_invalid_stored_values_are_named_not_fatal(client: FlaskClient, settings: Settings) -> None:
    from storage.shop_settings import set_shop_setting

    db = open_shop_db(settings.data_dir, "demo")
    set_shop_setting(db, "weights", ["not", "an", "object"], changed_by="cli")
    set_shop_setting(db, "rules", {"default": {"exploration": 5}}, changed_by="cli")
    set_shop_setting(db, "slot_titles", "oops", changed_by="cli")
    set_shop_setting(db, "campaigns", {"browse": {"delay_days": -1}}, changed_by="cli")
    db.close()
    response = client.get("/admin/demo/settings")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="stored-problems"' in page
    assert "rules.default.exploration must be between 0 and 0.2" in page
    assert "slot_titles must be an object" in page and "campaigns.browse.delay_days" in page
    assert 'name="w.home/trending.trending" value="1"' in page  # the defaults still render

    blocked = client.post(
        "/admin/demo/settings/blocks",
        data={"kind": "product", "value": "p-1", "action": "add", "csrf_token": csrf_of(client)},
    )
    assert blocked.status_code == 400 and "the stored rules is invalid" in blocked.get_data(
        as_text=True
    )
    assert _setting(settings, "rules") == {"default": {"exploration": 5}}


def test_identity_mode_open_shows_a_banner_on_every_page(
    client: FlaskClient, settings: Settings
) -> None:
    assert 'id="identity-open-banner"' not in client.get("/admin/demo/settings").get_data(True)
    form = {"identity": "open", "csrf_token": csrf_of(client)}
    assert client.post("/admin/demo/identity/mode", data=form).status_code == 302
    assert _setting(settings, "identity") == "open"
    for page in ("settings", "overview", "health"):
        html = client.get(f"/admin/demo/{page}").get_data(as_text=True)
        assert 'id="identity-open-banner"' in html, page
    bad = client.post(
        "/admin/demo/identity/mode", data={"identity": "wide", "csrf_token": csrf_of(client)}
    )
    assert bad.status_code == 400 and "identity must be one of" in bad.get_data(as_text=True)
    assert _setting(settings, "identity") == "open"
    back = {"identity": "signed", "csrf_token": csrf_of(client)}
    client.post("/admin/demo/identity/mode", data=back)
    assert 'id="identity-open-banner"' not in client.get("/admin/demo/settings").get_data(True)


def test_api_key_is_shown_once_and_only_its_hash_is_stored(
    client: FlaskClient, settings: Settings
) -> None:
    import re

    from plugin.storefront.shopper_identity import api_key_matches, read_identity_config

    answer = client.post("/admin/demo/identity/api-key", data={"csrf_token": csrf_of(client)})
    assert answer.status_code == 200
    key = re.search(r'id="new-api-key">[^<]*<code>(srk_[^<]+)</code>', answer.get_data(True))
    assert key is not None
    page = client.get("/admin/demo/settings").get_data(as_text=True)
    assert key[1] not in page and key[1][:13] in page  # the id, never the key again
    db = open_shop_db(settings.data_dir, "demo")
    try:
        config = read_identity_config(db)
        dump = json.dumps([tuple(r) for r in db.execute("SELECT * FROM shop_settings")])
    finally:
        db.close()
    assert api_key_matches(config, key[1]) and key[1] not in dump
    from plugin.storefront.shopper_identity import ensure_identity_secret

    db = open_shop_db(settings.data_dir, "demo")
    try:
        secret = ensure_identity_secret(db, "test")
    finally:
        db.close()
    page = client.get("/admin/demo/settings").get_data(as_text=True)
    assert "Identity secret: set" in page and secret not in page
    assert "srk_" not in "".join(str(c) for c in answer.headers.values())  # not in a cookie


def test_one_table_names_every_setting_the_page_writes() -> None:
    from plugin.admin.settings import SECTION_KEYS
    from plugin.admin.settings_forms import (
        JSON_KEYS,
        SHOP_SETTINGS,
        SettingsFormError,
        check_value,
        stored_problems,
    )

    keys = [spec.key for spec in SHOP_SETTINGS]
    assert len(keys) == len(set(keys))
    assert {k for section in SECTION_KEYS.values() for k in section} <= set(keys)
    assert JSON_KEYS == ("weights", "rules", "campaigns")
    with pytest.raises(SettingsFormError, match="not a setting this page edits"):
        check_value("attribution_window_hours", 24)
    assert stored_problems({}) == {}  # nothing stored: every default passes
    junk = {key: {"junk": [object]} for key in keys}  # no setting accepts this
    assert list(stored_problems(junk)) == keys


def test_a_rules_change_is_previewed_before_and_after_and_not_stored(
    trained_settings: Settings,
) -> None:
    settings = trained_settings
    client = logged_in_client(settings)
    form = {"csrf_token": csrf_of(client), "r.max_per_category": "1", "preview": "1"}
    response = client.post("/admin/demo/settings/rules", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    moved = re.search(r'id="preview-rules" data-moved="(\d+)"', page)
    assert moved and int(moved.group(1)) > 0
    assert "places change. Nothing is saved until you save." in page
    assert 'name="r.max_per_category" value="1"' in page  # the form keeps what was typed
    assert _setting(settings, "rules") is None and _changes(settings) == []


def test_an_invalid_previewed_value_is_refused_beside_its_field(
    client: FlaskClient, settings: Settings
) -> None:
    form = {"csrf_token": csrf_of(client), "r.exploration": "0.9", "preview": "1"}
    response = client.post("/admin/demo/settings/rules", data=form)
    assert response.status_code == 400
    rules = response.get_data(as_text=True).split('id="rules"', 1)[1].split("</section>", 1)[0]
    assert "exploration" in rules and 'id="preview-rules"' not in rules
