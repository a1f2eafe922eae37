"""The value types and checks of the "rules" shop setting: windows, blocks, pins, promotions.

Each check takes (raw JSON value, path, rule) and returns the typed value or raises
RuleSettingsError naming the path, what was expected, the value and the rule, so an owner
reading the message knows which key of which section to fix. engine.rule_settings wires
them to keys in RULE_KEYS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import InputError

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
    label: str | None = None


def refuse(path: str, what: str, value: Any, rule: str) -> RuleSettingsError:
    """The error for a bad value: "<path> <what>, got <value> (rule: <rule>)"."""
    return RuleSettingsError(f"{path} {what}, got {value!r} (rule: {rule})")


def check_number(low: float, high: float, integer: bool = False) -> Callable[[Any, str, str], Any]:
    """A check for a number (an integer when `integer`) between low and high inclusive."""

    def check(value: Any, path: str, rule: str) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not low <= value <= high:
            kind = "an integer " if integer else ""
            raise refuse(path, f"must be {kind}between {low:g} and {high:g}", value, rule)
        return int(value) if integer else float(value)

    return check


def check_optional_int(low: int, high: int) -> Callable[[Any, str, str], Any]:
    """A check for null or an integer between low and high."""
    inner = check_number(low, high, integer=True)
    return lambda value, path, rule: None if value is None else inner(value, path, rule)


def check_bool(value: Any, path: str, rule: str) -> bool:
    """true or false (not 0/1: JSON booleans only)."""
    if not isinstance(value, bool):
        raise refuse(path, "must be true or false", value, rule)
    return value


def check_choice(options: tuple[str, ...]) -> Callable[[Any, str, str], str]:
    """A check for one of `options`."""

    def check(value: Any, path: str, rule: str) -> str:
        if not isinstance(value, str) or value not in options:
            raise refuse(path, f"must be one of {list(options)}", value, rule)
        return value

    return check


def check_text(value: Any, path: str, rule: str) -> str:
    """Non-empty text of at most 256 characters, stripped."""
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise refuse(path, "must be non-empty text of at most 256 characters", value, rule)
    return value.strip()


def check_date(value: Any, path: str, rule: str) -> date | None:
    """An ISO date (a date-time is cut to its date) or null."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise refuse(path, "must be an ISO date (YYYY-MM-DD) or null", value, rule)


def check_window(entry: Mapping[str, Any], path: str, rule: str) -> Window:
    """The optional start/end of an entry; an end before the start is refused."""
    window = Window(
        check_date(entry.get("start"), f"{path}.start", rule),
        check_date(entry.get("end"), f"{path}.end", rule),
    )
    if window.start and window.end and window.end < window.start:
        raise refuse(f"{path}.end", f"must not be before start {window.start}", entry["end"], rule)
    return window


def list_entries(value: Any, path: str, rule: str, allowed: set[str]) -> list[tuple[str, Any]]:
    """(path of entry, entry) for a JSON list whose entries are text or objects of `allowed`."""
    if not isinstance(value, list) or len(value) > 500:
        raise refuse(path, "must be a list of at most 500 entries", value, rule)
    out = []
    for index, entry in enumerate(value):
        where = f"{path}[{index}]"
        if isinstance(entry, dict) and set(entry) - allowed:
            raise refuse(where, f"may only have keys {sorted(allowed)}", entry, rule)
        if not isinstance(entry, dict | str):
            raise refuse(where, "must be text or an object", entry, rule)
        out.append((where, entry))
    return out


def check_blocks(key: str) -> Callable[[Any, str, str], tuple[Block, ...]]:
    """A check for a list of blocked values: "value" or {key, start, end}."""

    def check(value: Any, path: str, rule: str) -> tuple[Block, ...]:
        blocks = []
        for where, entry in list_entries(value, path, rule, {key, "start", "end"}):
            if isinstance(entry, str):
                blocks.append(Block(check_text(entry, where, rule)))
            else:
                text = check_text(entry.get(key), f"{where}.{key}", rule)
                blocks.append(Block(text, check_window(entry, where, rule)))
        return tuple(blocks)

    return check


def check_pins(value: Any, path: str, rule: str) -> tuple[Pin, ...]:
    """A list of pins {product_id, position, anchor_product_id|anchor_category, start, end}."""
    allowed = {"product_id", "anchor_product_id", "anchor_category", "position", "start", "end"}
    pins = []
    for where, entry in list_entries(value, path, rule, allowed):
        if not isinstance(entry, dict):
            raise refuse(where, "must be an object with product_id and position", entry, rule)
        anchor_id, anchor_cat = entry.get("anchor_product_id"), entry.get("anchor_category")
        pins.append(
            Pin(
                product_id=check_text(entry.get("product_id"), f"{where}.product_id", rule),
                position=check_number(1, 50, integer=True)(
                    entry.get("position"), f"{where}.position", rule
                ),
                anchor_product_id=None
                if anchor_id is None
                else check_text(anchor_id, f"{where}.anchor_product_id", rule),
                anchor_category=None
                if anchor_cat is None
                else check_text(anchor_cat, f"{where}.anchor_category", rule),
                window=check_window(entry, where, rule),
            )
        )
    return tuple(pins)


def check_promotions(value: Any, path: str, rule: str) -> tuple[Promotion, ...]:
    """A list of promotions {share, category|tag|vendor, label, start, end}."""
    promotions = []
    allowed = {"share", "label", *PROMOTION_FILTERS, "start", "end"}
    for where, entry in list_entries(value, path, rule, allowed):
        if not isinstance(entry, dict) or not any(entry.get(k) for k in PROMOTION_FILTERS):
            raise refuse(
                where, f"must be an object with one of {list(PROMOTION_FILTERS)}", entry, rule
            )
        filters = {
            k: check_text(entry[k], f"{where}.{k}", rule) for k in PROMOTION_FILTERS if entry.get(k)
        }
        share = check_number(0.01, 0.5)(entry.get("share", 0.2), f"{where}.share", rule)
        label = entry.get("label")
        promotions.append(
            Promotion(
                share=share,
                window=check_window(entry, where, rule),
                label=None if label is None else check_text(label, f"{where}.label", rule),
                **filters,
            )
        )
    return tuple(promotions)
