"""The shop owner's knobs for the business-rules layer, as data with defaults, help and checks.

A shop stores them as one JSON value under the shop setting key "rules":
``{"default": {...}, "product": {...}, "cart": {...}}``; a context's section overrides
"default" key by key. Every key is documented in RULE_KEYS (default, help and the rule it
belongs to) and every bad value is refused with a message that names the key, the rule and
the value, e.g. "rules.product.exploration must be between 0 and 0.2, got 0.5 (rule:
exploration)".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from engine.base import CONTEXT_SLOTS
from engine.errors import InputError

SETTING_KEY = "rules"
HEMISPHERES = ("north", "south")
# The shortest list each placement should show; the layer fills with popular items below it.
CONTEXT_MIN_ITEMS: dict[str, int] = {
    "product": 4,
    "cart": 2,
    "home": 6,
    "email": 4,
    "post_purchase": 3,
}
PROMOTION_FILTERS = ("category", "tag", "vendor")


class RuleSettingsError(InputError):
    """A "rules" shop setting that cannot be used; the message names key, value and rule."""


@dataclass(frozen=True)
class Window:
    """An optional [start, end] date range (both inclusive; None: open on that side)."""

    start: date | None = None
    end: date | None = None

    def active(self, today: date) -> bool:
        """Whether `today` falls inside the window."""
        return (self.start is None or self.start <= today) and (
            self.end is None or today <= self.end
        )


@dataclass(frozen=True)
class Block:
    """An owner-blocked product or category (value), optionally only between two dates."""

    value: str
    window: Window = Window()


@dataclass(frozen=True)
class Pin:
    """A product the owner wants at `position` (1-based), on every list or on an anchor's."""

    product_id: str
    position: int
    anchor_product_id: str | None = None
    anchor_category: str | None = None
    window: Window = Window()


@dataclass(frozen=True)
class Promotion:
    """A share of slots reserved for items matching every given filter (category/tag/vendor)."""

    share: float
    category: str | None = None
    tag: str | None = None
    vendor: str | None = None
    window: Window = Window()


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
    min_categories: int = 3
    mix_price_bands: bool = True
    exploration: float = 0.1
    min_items: int = 4


@dataclass(frozen=True)
class KeySpec:
    """One documented key: the rule it belongs to, its help and how to check a raw value."""

    rule: str
    help: str
    check: Callable[[Any, str, str], Any]


def _fail(path: str, what: str, value: Any, rule: str) -> RuleSettingsError:
    return RuleSettingsError(f"{path} {what}, got {value!r} (rule: {rule})")


def _number(low: float, high: float, integer: bool = False) -> Callable[[Any, str, str], Any]:
    def check(value: Any, path: str, rule: str) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not low <= value <= high:
            kind = "an integer " if integer else ""
            raise _fail(path, f"must be {kind}between {low:g} and {high:g}", value, rule)
        return int(value) if integer else float(value)

    return check


def _optional_int(low: int, high: int) -> Callable[[Any, str, str], Any]:
    inner = _number(low, high, integer=True)
    return lambda value, path, rule: None if value is None else inner(value, path, rule)


def _bool(value: Any, path: str, rule: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false", value, rule)
    return value


def _hemisphere(value: Any, path: str, rule: str) -> str:
    if value not in HEMISPHERES:
        raise _fail(path, f"must be one of {list(HEMISPHERES)}", value, rule)
    return str(value)


def _text(value: Any, path: str, rule: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise _fail(path, "must be non-empty text of at most 256 characters", value, rule)
    return value.strip()


def _date(value: Any, path: str, rule: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise _fail(path, "must be an ISO date (YYYY-MM-DD) or null", value, rule)


def _window(entry: Mapping[str, Any], path: str, rule: str) -> Window:
    window = Window(
        _date(entry.get("start"), f"{path}.start", rule),
        _date(entry.get("end"), f"{path}.end", rule),
    )
    if window.start and window.end and window.end < window.start:
        raise _fail(f"{path}.end", f"must not be before start {window.start}", entry["end"], rule)
    return window


def _entries(value: Any, path: str, rule: str, allowed: set[str]) -> list[tuple[str, Any]]:
    """(path of entry, entry) for a JSON list whose entries are text or objects of `allowed`."""
    if not isinstance(value, list) or len(value) > 500:
        raise _fail(path, "must be a list of at most 500 entries", value, rule)
    out = []
    for index, entry in enumerate(value):
        where = f"{path}[{index}]"
        if isinstance(entry, dict) and set(entry) - allowed:
            raise _fail(where, f"may only have keys {sorted(allowed)}", entry, rule)
        if not isinstance(entry, dict | str):
            raise _fail(where, "must be text or an object", entry, rule)
        out.append((where, entry))
    return out


def _blocks(key: str) -> Callable[[Any, str, str], tuple[Block, ...]]:
    def check(value: Any, path: str, rule: str) -> tuple[Block, ...]:
        blocks = []
        for where, entry in _entries(value, path, rule, {key, "start", "end"}):
            if isinstance(entry, str):
                blocks.append(Block(_text(entry, where, rule)))
            else:
                text = _text(entry.get(key), f"{where}.{key}", rule)
                blocks.append(Block(text, _window(entry, where, rule)))
        return tuple(blocks)

    return check


def _pins(value: Any, path: str, rule: str) -> tuple[Pin, ...]:
    allowed = {"product_id", "anchor_product_id", "anchor_category", "position", "start", "end"}
    pins = []
    for where, entry in _entries(value, path, rule, allowed):
        if not isinstance(entry, dict):
            raise _fail(where, "must be an object with product_id and position", entry, rule)
        anchor_id, anchor_cat = entry.get("anchor_product_id"), entry.get("anchor_category")
        pins.append(
            Pin(
                product_id=_text(entry.get("product_id"), f"{where}.product_id", rule),
                position=_number(1, 50, integer=True)(
                    entry.get("position"), f"{where}.position", rule
                ),
                anchor_product_id=None
                if anchor_id is None
                else _text(anchor_id, f"{where}.anchor_product_id", rule),
                anchor_category=None
                if anchor_cat is None
                else _text(anchor_cat, f"{where}.anchor_category", rule),
                window=_window(entry, where, rule),
            )
        )
    return tuple(pins)


def _promotions(value: Any, path: str, rule: str) -> tuple[Promotion, ...]:
    promotions = []
    for where, entry in _entries(value, path, rule, {"share", *PROMOTION_FILTERS, "start", "end"}):
        if not isinstance(entry, dict) or not any(entry.get(k) for k in PROMOTION_FILTERS):
            raise _fail(
                where, f"must be an object with one of {list(PROMOTION_FILTERS)}", entry, rule
            )
        filters = {
            k: _text(entry[k], f"{where}.{k}", rule) for k in PROMOTION_FILTERS if entry.get(k)
        }
        share = _number(0.01, 0.5)(entry.get("share", 0.2), f"{where}.share", rule)
        promotions.append(Promotion(share=share, window=_window(entry, where, rule), **filters))
    return tuple(promotions)


RULE_KEYS: dict[str, KeySpec] = {
    "hemisphere": KeySpec(
        "seasonal", "north or south: which months are summer and winter.", _hemisphere
    ),
    "seasonal_exclusion": KeySpec(
        "seasonal", "Hide products whose season_tags are out of season today.", _bool
    ),
    "season_lead_days": KeySpec(
        "seasonal",
        "Days before a season starts (christmas: Nov 1) that its products are already shown.",
        _number(0, 92, integer=True),
    ),
    "blocked_products": KeySpec(
        "blocked",
        'Product ids never shown: "id" or {"product_id", "start", "end"}.',
        _blocks("product_id"),
    ),
    "blocked_categories": KeySpec(
        "blocked",
        'Categories never shown: "name" or {"category", "start", "end"}.',
        _blocks("category"),
    ),
    "bought_category_days": KeySpec(
        "purchase_downweight",
        "Days after a purchase that the bought item's category is pushed down (0: off).",
        _number(0, 365, integer=True),
    ),
    "bought_category_factor": KeySpec(
        "purchase_downweight", "Score multiplier for that category (1: no effect).", _number(0, 1)
    ),
    "session_viewed_factor": KeySpec(
        "session_downweight",
        "Score multiplier for products already viewed in this session (1: no effect).",
        _number(0, 1),
    ),
    "margin_weight": KeySpec(
        "margin_boost",
        "score *= 1 + margin_weight * margin when the margin (0..1) is known (0: off).",
        _number(0, 1),
    ),
    "pins": KeySpec(
        "pins",
        "Owner pins: {product_id, position, anchor_product_id|anchor_category|null, start, end}.",
        _pins,
    ),
    "promotions": KeySpec(
        "promotions",
        "Reserved shares of slots: {share, category|tag|vendor, start, end}.",
        _promotions,
    ),
    "diversity": KeySpec("diversity", "Cap items per category and mix categories.", _bool),
    "max_per_category": KeySpec(
        "diversity",
        "Most items of one category in a list (null: max(2, ceil(limit / 3))).",
        _optional_int(1, 50),
    ),
    "min_categories": KeySpec(
        "diversity",
        "Fewest distinct categories in a list when the candidates allow.",
        _number(1, 10, integer=True),
    ),
    "mix_price_bands": KeySpec(
        "diversity", "Show 2+ price bands (budget/mid/premium) when the pool spans them.", _bool
    ),
    "exploration": KeySpec(
        "exploration",
        "Share of slots for relevant but rarely shown items, newest first (0: off).",
        _number(0, 0.2),
    ),
    "min_items": KeySpec(
        "fallback",
        "Fewest items a list shows; popular items fill below it (default per context).",
        _number(0, 50, integer=True),
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


def validate_rules(raw: Any) -> dict[str, dict[str, Any]]:
    """Every section of a "rules" setting checked; raise RuleSettingsError on the first problem."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RuleSettingsError(f"{SETTING_KEY} must be a JSON object, got {raw!r}")
    allowed = {"default", *CONTEXT_SLOTS}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RuleSettingsError(
            f"{SETTING_KEY} has unknown sections {unknown}: use {sorted(allowed)}"
        )
    return {
        name: _validate_section(section, f"{SETTING_KEY}.{name}") for name, section in raw.items()
    }


def rule_settings_for(raw: Any, context: str) -> RuleSettings:
    """The settings for one context: defaults, then "default", then the context's section."""
    sections = validate_rules(raw)
    merged: dict[str, Any] = {"min_items": CONTEXT_MIN_ITEMS.get(context, 4)}
    merged.update(sections.get("default", {}))
    merged.update(sections.get(context, {}))
    names = {f.name for f in fields(RuleSettings)}
    return RuleSettings(**{k: v for k, v in merged.items() if k in names})
