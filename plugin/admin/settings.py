"""Blueprint 'admin_settings': /admin/<shop>/settings, the shop's knobs and their history.

Each form posts one section; a valid value is stored with set_shop_setting (which records who
changed what, when, in settings_changes) and the shop's serving-cache generation is bumped, so
the next recommendation request already uses it. An invalid one is re-rendered with what the
owner typed and the validator's messages (flaskr's pattern), and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request
from werkzeug.wrappers import Response

from email_blocks.campaign_settings import CampaignSettingsError, parse_campaign_settings
from engine.base import CONTEXT_SLOTS
from engine.blend import SOURCES
from engine.rule_settings import RULE_KEYS
from plugin.admin import settings_forms as forms
from plugin.admin.auth import admin_settings, open_admin_db, register_admin_guards
from plugin.admin.health import learned_weights
from plugin.admin.settings_preview import Preview, preview_change
from plugin.storefront.api import WIDGET_FORMATS
from plugin.storefront.shopper_identity import IDENTITY_MODES, read_identity_config
from serving.generations import bump_generation
from serving.service import SLOT_TITLES
from storage.retention import DEFAULT_RETENTION_MONTHS
from storage.shop_settings import (
    all_shop_settings,
    has_shop_setting,
    set_shop_setting,
    settings_history,
)

bp = Blueprint("admin_settings", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

HISTORY_ROWS = 50
HISTORY_VALUE_CHARS = 400
# Form section -> the settings it rewrites ("json" names its key in the form).
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "weights": (forms.WEIGHTS_KEY,),
    "rules": (forms.RULES_KEY,),
    "blocks": (forms.RULES_KEY,),
    "pins": (forms.RULES_KEY,),
    "slot_titles": (forms.SLOT_TITLES_KEY,),
    "widget": (forms.WIDGET_FORMAT_KEY, forms.CACHE_TTL_KEY),
    "money": (forms.CURRENCY_KEY, forms.LOCALE_KEY),
    "origins": (forms.ORIGINS_KEY,),
    "campaigns": (forms.CAMPAIGNS_KEY,),
    "retention": (),  # one whole value, never merged: a broken stored one is just replaced
    "json": (),
}
SECTIONS = tuple(SECTION_KEYS)
# Sections whose form can be previewed (a product page list before and after, nothing stored).
PREVIEWED = ("weights", "rules")


def _history() -> list[dict[str, Any]]:
    rows = settings_history(open_admin_db(), HISTORY_ROWS)
    return [
        {
            "key": key,
            "old": (old or "(unset)")[:HISTORY_VALUE_CHARS],
            "new": new[:HISTORY_VALUE_CHARS],
            "at": at,
            "by": by or "(unknown)",
        }
        for key, old, new, at, by in rows
    ]


def _json_text(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True)


def _push_provider(raw: Any) -> str:
    try:
        return parse_campaign_settings(raw).push.provider
    except CampaignSettingsError:
        return "(invalid)"


def _campaign_rows(raw: Any) -> list[dict[str, Any]] | str:
    """The campaigns in effect, or the validator's message when the stored value is invalid."""
    try:
        parsed = parse_campaign_settings(raw)
    except CampaignSettingsError as exc:
        return str(exc)
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "enabled": rule.enabled,
            "delay": rule.delay_days,
            "window": rule.window_days,
        }
        for name, rule in parsed.rules.items()
    ]
    return rows


def _page(
    stored: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    typed: dict[str, str] | None = None,
    new_api_key: str = "",
    preview: Preview | None = None,
) -> str:
    json_texts = {key: _json_text(stored.get(key)) for key in forms.JSON_KEYS}
    json_texts.update(typed or {})
    # Forms render valid values only; an invalid stored one is named and left to the JSON.
    problems = forms.stored_problems(stored)
    stored = {k: v for k, v in stored.items() if k not in problems}
    rules, weights = stored.get(forms.RULES_KEY) or {}, stored.get(forms.WEIGHTS_KEY) or {}
    view_args = request.view_args or {}
    posted_section = view_args.get("section", "") if request.method == "POST" else ""
    return render_template(
        "admin/settings.html",
        stored=stored,
        posted_section=posted_section if errors or preview else "",
        preview=preview,
        preview_section=posted_section if preview else "",
        posted=request.form,
        campaigns=_campaign_rows(stored.get(forms.CAMPAIGNS_KEY)),
        push_provider=_push_provider(stored.get(forms.CAMPAIGNS_KEY)),
        errors=errors or {},
        json_texts=json_texts,
        slot_keys=forms.SLOT_KEYS,
        sources=SOURCES,
        weights=forms.effective_weights(weights, learned_weights(g.admin_shop)),
        custom_weights=set(weights),
        rule_rows=forms.rule_rows(rules),
        knobs=forms.COMMON_RULE_KNOBS,
        knob_labels=forms.KNOB_LABELS,
        rule_help={key: spec.help for key, spec in RULE_KEYS.items()},
        knob_choices=forms.KNOB_CHOICES,
        rule_defaults=rules.get("default", {}),
        stored_problems=[p for key_problems in problems.values() for p in key_problems],
        rule_builtin={r["key"]: r["default"] for r in forms.rule_rows(None)},
        slot_titles=SLOT_TITLES,
        contexts=CONTEXT_SLOTS,
        widget_formats=WIDGET_FORMATS,
        process_ttl=admin_settings().cache_ttl_s,
        default_retention=DEFAULT_RETENTION_MONTHS,
        history=_history(),
        identity=read_identity_config(open_admin_db()),
        identity_modes=IDENTITY_MODES,
        new_api_key=new_api_key,
    )


def settings_page_with(errors: dict[str, list[str]] | None = None, new_api_key: str = "") -> str:
    """The settings page with another blueprint's messages or one-time key (admin_identity)."""
    return _page(all_shop_settings(open_admin_db()), errors, new_api_key=new_api_key)


@bp.get("/settings")
def settings_page(shop: str) -> str:
    """Every setting with its value in effect, the forms, and the last changes."""
    return _page(all_shop_settings(open_admin_db()))


def _submitted(section: str, stored: dict[str, Any]) -> tuple[str, Any]:
    """(setting key, new value) from the posted form of `section`; raises SettingsFormError."""
    form = request.form
    if section == "weights":
        return forms.WEIGHTS_KEY, forms.weights_from_form(form, stored.get(forms.WEIGHTS_KEY))
    if section == "rules":
        return forms.RULES_KEY, forms.rules_from_common_form(form, stored.get(forms.RULES_KEY))
    if section == "blocks":
        value = forms.rules_with_block(
            stored.get(forms.RULES_KEY),
            "category" if form.get("kind") == "category" else "product",
            form.get("value", ""),
            remove=form.get("action") == "remove",
        )
        return forms.RULES_KEY, value
    if section == "pins":
        remove = form.get("remove", "")
        index = int(remove) if remove.isdigit() else None
        return forms.RULES_KEY, forms.rules_with_pin(stored.get(forms.RULES_KEY), form, index)
    if section == "slot_titles":
        return forms.SLOT_TITLES_KEY, forms.slot_titles_from_form(form)
    if section == "widget":
        ttl = forms.cache_ttl_from_form(form.get("cache_ttl_s", ""))
        fmt = form.get("widget_format", "") or None
        forms.check_widget_format(fmt)
        return "widget", {forms.WIDGET_FORMAT_KEY: fmt, forms.CACHE_TTL_KEY: ttl}
    if section == "money":
        return "money", forms.money_from_form(form.get("currency", ""), form.get("locale", ""))
    if section == "campaigns":
        return forms.CAMPAIGNS_KEY, forms.campaigns_from_form(form, stored.get(forms.CAMPAIGNS_KEY))
    if section == "origins":
        return forms.ORIGINS_KEY, forms.origins_from_form(form.get("allowed_origins", ""))
    if section == "retention":
        return forms.RETENTION_KEY, forms.retention_from_form(form.get(forms.RETENTION_KEY, ""))
    key = form.get("key", "")
    if key not in forms.JSON_KEYS:
        raise forms.SettingsFormError([f"unknown JSON section {key!r}"])
    return key, forms.parse_json_text(form.get("json", ""), key)


def _store(key: str, value: Any) -> bool:
    """Validate and store one setting (None clears it back to the default); True if changed."""
    db = open_admin_db()
    if key in ("widget", "money"):  # sections that write several settings at once
        changed = [_store(k, v) for k, v in value.items()]
        return any(changed)
    forms.check_value(key, value)
    if value is None:
        if not has_shop_setting(db, key):
            return False
        # Clearing is recorded like any change; readers treat JSON null as "not set".
    return set_shop_setting(db, key, value, changed_by=g.admin_user)


@bp.post("/settings/<section>")
def save_settings(shop: str, section: str) -> Response | str | tuple[str, int]:
    """Save one section; invalid input is shown again with its messages, nothing stored."""
    if section not in SECTIONS:
        return _page(
            all_shop_settings(open_admin_db()), {"page": [f"unknown section {section!r}"]}
        ), 404
    stored = all_shop_settings(open_admin_db())
    try:
        broken = forms.stored_problems(stored)
        for key in SECTION_KEYS[section]:
            if key in broken:
                # Merging a form into a value that is already invalid would guess; the
                # owner fixes it in the JSON editor, where every key is visible.
                raise forms.SettingsFormError(
                    [f"the stored {key} is invalid; fix it in the JSON editor first"]
                )
        key, value = _submitted(section, stored)
        if request.form.get("preview") and section in PREVIEWED:
            forms.check_value(key, value)
            product = request.form.get("preview_product", "").strip()[:128]
            shown = preview_change(open_admin_db(), g.admin_shop, key, value, product)
            return _page(stored, preview=shown)
        changed = _store(key, value)
    except forms.SettingsFormError as exc:
        typed = {request.form.get("key", ""): request.form.get("json", "")}
        if section != "json":
            typed = {}
        count = len(exc.problems)
        flash(
            f"Not saved: {count} problem{'s' if count > 1 else ''} in {section}, shown below.",
            "error",
        )
        return _page(stored, {section: exc.problems}, typed), 400
    if changed:
        bump_generation(admin_settings(), g.admin_shop)
        flash(f"Saved {key}; it applies from the next request.", "success")
    else:
        flash(f"{key} was already set to that.", "info")
    return redirect(f"/admin/{g.admin_shop}/settings#{section}")
