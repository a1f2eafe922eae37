"""The settings page's forms as plain data: each turns a submitted form into one validated shop
setting value, or raises SettingsFormError listing every problem.

Values the engine and the email worker read ("weights", "rules", "campaigns") are checked by
their owners' validators (engine.blend, engine.rule_settings, email_blocks.campaign_settings),
so the admin can never store a value serving would refuse. The display settings (slot titles,
widget format, cache TTL) are checked here; allowed origins by the storefront's
plugin.storefront.cors; the event retention period by the retention job's own storage.retention.
Which settings the page writes, and the check each must pass, is one table (SHOP_SETTINGS).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from werkzeug.datastructures import MultiDict

from email_blocks.campaign_settings import (
    CAMPAIGNS,
    CampaignSettingsError,
    parse_campaign_settings,
)
from engine.base import CONTEXT_SLOTS
from engine.blend import DEFAULT_WEIGHTS, SOURCES, validate_weights
from engine.errors import InputError
from engine.money import check_currency, check_locale
from engine.rule_settings import RULE_KEYS, validate_rules
from plugin.admin.owner_json import OwnerJSONError, parse_owner_json
from plugin.storefront.api import WIDGET_FORMATS
from plugin.storefront.cors import OriginSettingError, parse_allowed_origins
from serving.service import SLOT_TITLES
from storage.errors import RetentionSettingError
from storage.retention import (
    DEFAULT_RETENTION_MONTHS,
    RETENTION_MONTHS_RANGE,
    RETENTION_SETTING,
    check_retention_months,
)

WEIGHTS_KEY = "weights"
RULES_KEY = "rules"
CAMPAIGNS_KEY = "campaigns"
SLOT_TITLES_KEY = "slot_titles"
WIDGET_FORMAT_KEY = "widget_format"
CACHE_TTL_KEY = "cache_ttl_s"
ORIGINS_KEY = "allowed_origins"
RETENTION_KEY = RETENTION_SETTING
CURRENCY_KEY = "currency"
LOCALE_KEY = "locale"
MAX_JSON_CHARS = 100_000
MAX_TITLE_CHARS = 80
CACHE_TTL_RANGE = (10, 86_400)
# The knobs of the rules' "default" section with a structured form; the rest are JSON only.
COMMON_RULE_KNOBS: tuple[tuple[str, str], ...] = (
    ("hemisphere", "choice"),
    ("seasonal_exclusion", "bool"),
    ("diversity", "bool"),
    ("max_per_category", "optional_int"),
    ("min_categories", "int"),
    ("mix_price_bands", "bool"),
    ("exploration", "float"),
    ("margin_weight", "float"),
    ("bought_category_days", "int"),
    ("session_viewed_factor", "float"),
)
KNOB_CHOICES = {"hemisphere": ("north", "south")}
# What each common knob does, in the owner's words (RULE_KEYS' help says more under it).
KNOB_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "hemisphere": "Hemisphere the shop's seasons follow",
        "seasonal_exclusion": "Hide products out of season",
        "diversity": "Mix categories within a list",
        "max_per_category": "At most this many items of one category",
        "min_categories": "At least this many categories in a list",
        "mix_price_bands": "Mix cheaper and dearer items",
        "exploration": "Share of places for products shown less (0 to 0.2)",
        "margin_weight": "How much a higher margin lifts an item (0 to 1)",
        "bought_category_days": "Days a just-bought category is played down",
        "session_viewed_factor": "Weight of products viewed in this visit (0 to 1)",
    }
)


def slot_keys(context_slots: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Every 'context/slot' of a slot table, in the order the forms list them."""
    return tuple(f"{c}/{s}" for c, slots in context_slots.items() for s in slots)


SLOT_KEYS: tuple[str, ...] = slot_keys(CONTEXT_SLOTS)


class SettingsFormError(Exception):
    """A submitted form that cannot be stored; `problems` names every bad field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_json_text(text: str, key: str) -> Any:
    """The JSON an owner typed into a section's editor ('' = back to the defaults: None)."""
    if len(text) > MAX_JSON_CHARS:
        raise SettingsFormError([f"{key}: JSON must be at most {MAX_JSON_CHARS} characters"])
    if not text.strip():
        return None
    try:
        return parse_owner_json(text)
    except OwnerJSONError as exc:
        raise SettingsFormError([f"{key}: {exc}"]) from None


def check_value(key: str, value: Any) -> Any:
    """Validate one setting's value with its owner's validator; return what to store."""
    spec = _SPEC_OF.get(key)
    if spec is None:
        raise SettingsFormError([f"{key!r} is not a setting this page edits"])
    try:
        spec.check(value)
    except CampaignSettingsError as exc:
        raise SettingsFormError(list(exc.problems)) from exc
    except RetentionSettingError as exc:
        raise SettingsFormError([str(exc)]) from exc
    except (InputError, TypeError, AttributeError) as exc:
        raise SettingsFormError([f"{key}: {exc}"]) from exc
    return value


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise SettingsFormError([f"{key} must be an object of objects, got {value!r}"])
    for mix in value.values():
        for source, weight in mix.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise SettingsFormError([f"{key}: weight of {source!r} must be a number"])
    return value


def stored_problems(stored: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per key, what is wrong with a value already stored (written by hand or by an older
    version): serving ignores an invalid value, so the page says so instead of failing."""
    problems: dict[str, list[str]] = {}
    for spec in SHOP_SETTINGS:
        try:
            check_value(spec.key, stored.get(spec.key))
        except SettingsFormError as exc:
            problems[spec.key] = exc.problems
    return problems


def effective_weights(
    stored: Any,
    learned: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Mapping[str, float]] = DEFAULT_WEIGHTS,
) -> dict[str, dict[str, float]]:
    """Per 'context/slot', the mix serving uses: the slot's own, else its context's, else the
    weights learned at training (the model manifest), else the built-in default (`defaults`:
    the slot table's, given only to read another table)."""
    stored = stored if isinstance(stored, dict) else {}
    learned = learned or {}
    return {
        key: dict(
            stored.get(key) or stored.get(key.split("/")[0]) or learned.get(key) or defaults[key]
        )
        for key in defaults
    }


def weights_from_form(form: MultiDict[str, str], stored: Mapping[str, Any] | None) -> Any:
    """The weights table (fields 'w.<context/slot>.<source>') as a "weights" value.

    A row equal to what it would inherit is not stored, so the built-in defaults keep
    improving for slots the owner never touched.
    """
    stored = dict(stored or {})
    inherited = effective_weights({k: v for k, v in stored.items() if "/" not in k})
    problems: list[str] = []
    for key in SLOT_KEYS:
        mix: dict[str, float] = {}
        for source in SOURCES:
            raw = form.get(f"w.{key}.{source}", "").strip()
            if not raw:
                continue
            try:
                weight = float(raw)
            except ValueError:
                problems.append(f"weight of {source} in {key} must be a number, got {raw!r}")
                continue
            if not math.isfinite(weight) or weight < 0:
                problems.append(f"weight of {source} in {key} must be >= 0, got {raw!r}")
            elif weight > 0:
                mix[source] = weight
        if not mix:
            problems.append(f"weights for {key} must not all be zero")
        elif mix == {s: float(w) for s, w in inherited[key].items() if w > 0}:
            stored.pop(key, None)
        else:
            stored[key] = mix
    if problems:
        raise SettingsFormError(problems)
    return stored or None


def _knob(form: MultiDict[str, str], key: str, kind: str) -> Any:
    raw = form.get(f"r.{key}", "").strip()
    if kind == "bool":
        return raw == "on"
    if kind == "choice" or not raw:
        return raw or None  # empty: the built-in default
    try:
        return int(raw) if kind in ("int", "optional_int") else float(raw)
    except ValueError as exc:
        raise SettingsFormError([f"rules.default.{key} must be a number, got {raw!r}"]) from exc


def rules_from_common_form(form: MultiDict[str, str], stored: Any) -> Any:
    """The structured knobs merged into the rules' "default" section (other keys kept)."""
    rules = {name: dict(section) for name, section in (stored or {}).items()}
    default = rules.setdefault("default", {})
    for key, kind in COMMON_RULE_KNOBS:
        value = _knob(form, key, kind)
        if value is None:
            default.pop(key, None)
        else:
            default[key] = value
    return rules


def rules_with_block(stored: Any, kind: str, value: str, remove: bool) -> Any:
    """The rules with a product id or category added to (or removed from) the default blocks."""
    key = "blocked_products" if kind == "product" else "blocked_categories"
    field = "product_id" if kind == "product" else "category"
    value = value.strip()
    if not value:
        raise SettingsFormError([f"enter a {kind} to block"])
    rules = {name: dict(section) for name, section in (stored or {}).items()}
    default = rules.setdefault("default", {})
    entries = [
        e
        for e in default.get(key, [])
        if (e.get(field) if isinstance(e, dict) else e) != value or not remove
    ]
    if not remove and value not in [e.get(field) if isinstance(e, dict) else e for e in entries]:
        entries.append(value)
    default[key] = entries
    return rules


def rules_with_pin(stored: Any, form: MultiDict[str, str], remove_index: int | None) -> Any:
    """The rules with a pin added from the form (or the pin at remove_index removed)."""
    rules = {name: dict(section) for name, section in (stored or {}).items()}
    default = rules.setdefault("default", {})
    pins = list(default.get("pins", []))
    if remove_index is not None:
        if not 0 <= remove_index < len(pins):
            raise SettingsFormError(["that pin no longer exists; reload the page"])
        del pins[remove_index]
    else:
        pin: dict[str, Any] = {"product_id": form.get("product_id", "").strip()}
        try:
            pin["position"] = int(form.get("position", ""))
        except ValueError as exc:
            raise SettingsFormError(["pin position must be a whole number from 1"]) from exc
        for name in ("anchor_product_id", "anchor_category", "start", "end"):
            if form.get(name, "").strip():
                pin[name] = form[name].strip()
        pins.append(pin)
    default["pins"] = pins
    return rules


def campaigns_from_form(form: MultiDict[str, str], stored: Any) -> Any:
    """Fields 'c.<campaign>.enabled|delay_days|window_days' merged over the stored value (the
    push target and any other key kept); the email module's validator has the last word."""
    value = {k: dict(v) if isinstance(v, dict) else v for k, v in (stored or {}).items()}
    problems: list[str] = []
    for name in CAMPAIGNS:
        entry = value.setdefault(name, {})
        if not isinstance(entry, dict):
            continue  # the validator names it
        entry["enabled"] = form.get(f"c.{name}.enabled") == "on"
        fields = ("delay_days", "window_days") if name == "browse" else ("delay_days",)
        for field in fields:
            raw = form.get(f"c.{name}.{field}", "").strip()
            if not raw:
                entry.pop(field, None)
            elif raw.isdigit():
                entry[field] = int(raw)
            else:
                problems.append(f"{CAMPAIGNS_KEY}.{name}.{field} must be whole days, got {raw!r}")
    if problems:
        raise SettingsFormError(problems)
    return value


def check_slot_titles(value: Any, titles: Mapping[str, str] = SLOT_TITLES) -> None:
    """{slot: title}: known slots (of `titles`, the slot table's), titles of 1-80 characters."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise SettingsFormError([f"{SLOT_TITLES_KEY} must be an object, got {value!r}"])
    problems = [
        f"{SLOT_TITLES_KEY}: unknown slot {slot!r}; known: {sorted(titles)}"
        for slot in value
        if slot not in titles
    ]
    problems += [
        f"{SLOT_TITLES_KEY}.{slot} must be 1-{MAX_TITLE_CHARS} characters"
        for slot, title in value.items()
        if not isinstance(title, str) or not 0 < len(title.strip()) <= MAX_TITLE_CHARS
    ]
    if problems:
        raise SettingsFormError(problems)


def slot_titles_from_form(
    form: MultiDict[str, str], builtin: Mapping[str, str] = SLOT_TITLES
) -> Any:
    """Fields 't.<slot>' for every slot of `builtin` (the slot table's titles); a title equal
    to the built-in one (or empty) is not stored."""
    titles = {
        slot: form.get(f"t.{slot}", "").strip()
        for slot in builtin
        if form.get(f"t.{slot}", "").strip() not in ("", builtin[slot])
    }
    check_slot_titles(titles, builtin)
    return titles or None


def money_from_form(currency: str, locale: str) -> dict[str, str | None]:
    """The money section's values, normalised ('eur' -> 'EUR', 'de-DE' -> 'de_DE'); empty
    clears one back to the default. Raises SettingsFormError naming what is wrong."""
    problems: list[str] = []
    found: dict[str, str | None] = {CURRENCY_KEY: None, LOCALE_KEY: None}
    for key, raw, check in (
        (CURRENCY_KEY, currency, check_currency),
        (LOCALE_KEY, locale, check_locale),
    ):
        if raw.strip():
            try:
                found[key] = check(raw)
            except InputError as exc:
                problems.append(str(exc))
    if problems:
        raise SettingsFormError(problems)
    return found


def check_widget_format(value: Any) -> None:
    """One of the widget's formats."""
    if value is not None and value not in WIDGET_FORMATS:
        raise SettingsFormError(
            [f"{WIDGET_FORMAT_KEY} must be one of {list(WIDGET_FORMATS)}, got {value!r}"]
        )


def check_cache_ttl(value: Any) -> None:
    """Whole seconds within CACHE_TTL_RANGE."""
    low, high = CACHE_TTL_RANGE
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        raise SettingsFormError(
            [f"{CACHE_TTL_KEY} must be whole seconds from {low} to {high}, got {value!r}"]
        )


def _whole_number_from_form(raw: str, key: str, unit: str) -> int | None:
    """A whole-number field ('' = None, the default); SettingsFormError names the key."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsFormError([f"{key} must be whole {unit}, got {raw!r}"]) from exc


def cache_ttl_from_form(raw: str) -> Any:
    """The TTL field ('' = the process default SHOPREC_CACHE_TTL)."""
    value = _whole_number_from_form(raw, CACHE_TTL_KEY, "seconds")
    check_cache_ttl(value)
    return value


def retention_from_form(raw: str) -> Any:
    """The retention field in whole months ('' = the default)."""
    value = _whole_number_from_form(raw, RETENTION_KEY, "months")
    if value is not None:
        check_value(RETENTION_KEY, value)
    return value


def check_origins(value: Any) -> None:
    """The storefront's own check (plugin.storefront.cors): scheme://host[:port] origins,
    at most 50."""
    try:
        parse_allowed_origins(value)
    except OriginSettingError as exc:
        raise SettingsFormError([str(exc)]) from exc


def origins_from_form(text: str) -> Any:
    """One origin per line, normalised as browsers send them; '' = any origin (the default)."""
    lines = [line.strip().rstrip("/") for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return list(parse_allowed_origins(lines) or ())
    except OriginSettingError as exc:
        raise SettingsFormError([str(exc)]) from exc


def rule_rows(rules: Any) -> list[dict[str, Any]]:
    """Every rule key with its help, built-in default and the owner's value per section."""
    from engine.rule_settings import RuleSettings

    defaults = RuleSettings()
    sections = {n: v for n, v in (rules or {}).items() if isinstance(v, dict)}
    return [
        {
            "key": key,
            "rule": spec.rule,
            "help": spec.help,
            "default": _show(getattr(defaults, key, None)),
            "set": {name: json.dumps(s[key]) for name, s in sections.items() if key in s},
        }
        for key, spec in RULE_KEYS.items()
    ]


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[]" if not value else str(len(value))
    return json.dumps(value)


def _check_weights(value: Any) -> None:
    validate_weights(_mapping(value, WEIGHTS_KEY))


def _check_retention(value: Any) -> None:
    if value is not None:
        check_retention_months(value)


@dataclass(frozen=True)
class ShopSettingSpec:
    """One shop setting the settings page writes: its key, the check a value must pass before
    it is stored (None, the default, always passes), what it holds as the admin docs list it,
    and whether the page's JSON editor edits it whole."""

    key: str
    check: Callable[[Any], object]
    holds: str = ""
    json_editor: bool = False


def _check_normalised(check: Callable[[Any], str]) -> Callable[[Any], object]:
    """A check that also wants the value stored as `check` normalises it ('EUR', 'de_DE')."""

    def checked(value: Any) -> object:
        if value is not None and check(value) != value:
            raise InputError(f"store it as {check(value)!r}, got {value!r}")
        return value

    return checked


_TTL_LOW, _TTL_HIGH = CACHE_TTL_RANGE
_MONTHS_LOW, _MONTHS_HIGH = RETENTION_MONTHS_RANGE
SHOP_SETTINGS: tuple[ShopSettingSpec, ...] = (
    ShopSettingSpec(WEIGHTS_KEY, _check_weights, json_editor=True),
    ShopSettingSpec(RULES_KEY, validate_rules, json_editor=True),
    ShopSettingSpec(CAMPAIGNS_KEY, parse_campaign_settings, json_editor=True),
    ShopSettingSpec(SLOT_TITLES_KEY, check_slot_titles, "`{slot: title}`"),
    ShopSettingSpec(WIDGET_FORMAT_KEY, check_widget_format),
    ShopSettingSpec(CACHE_TTL_KEY, check_cache_ttl, f"{_TTL_LOW}-{_TTL_HIGH}"),
    ShopSettingSpec(ORIGINS_KEY, check_origins, '`["https://shop.example", ...]`'),
    ShopSettingSpec(
        RETENTION_KEY,
        _check_retention,
        f"{_MONTHS_LOW}-{_MONTHS_HIGH}, default {DEFAULT_RETENTION_MONTHS}",
    ),
    ShopSettingSpec(CURRENCY_KEY, _check_normalised(check_currency), "ISO 4217, e.g. `EUR`"),
    ShopSettingSpec(LOCALE_KEY, _check_normalised(check_locale), "e.g. `de_DE`"),
)
_SPEC_OF: Mapping[str, ShopSettingSpec] = MappingProxyType({s.key: s for s in SHOP_SETTINGS})
JSON_KEYS: tuple[str, ...] = tuple(spec.key for spec in SHOP_SETTINGS if spec.json_editor)
