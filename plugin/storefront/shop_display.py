"""How a shop wants its lists shown: the owner's slot titles and widget format.

The admin stores `slot_titles` ({slot: title}) and `widget_format` in the shop's settings;
every storefront answer carries the result as `"widget": {"title", "format"}` (plus
`"currency"` and `"locale"` once the shop set a currency), and the HTML
fragment uses it too, so a change applies on the very next request: the values are memoised
per shop until SQLite's data_version says the store was written (serving.cache).

A stored value that does not fit (hand-edited, or from an older version) is logged and the
built-in default used, so a bad setting can never take the widgets down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlite_utils

from engine.money import MoneyFormat
from serving.cache import ShopReaders
from serving.service import SLOT_TITLES
from serving.shop_money import shop_money
from storage.shop_settings import get_shop_setting

logger = logging.getLogger(__name__)

TITLES_KEY = "slot_titles"
FORMAT_KEY = "widget_format"
# The formats widget.js draws; the first is the default.
WIDGET_FORMATS: tuple[str, ...] = ("scroll", "grid", "carousel")
MAX_TITLE_CHARS = 80


@dataclass(frozen=True)
class ShopDisplay:
    """One shop's display choices: its slot titles (overrides only) and its widget format."""

    titles: Mapping[str, str] = field(default_factory=dict)
    format: str = WIDGET_FORMATS[0]
    money: MoneyFormat = field(default_factory=MoneyFormat)

    def title(self, slot: str) -> str:
        """The owner's title for `slot`, else the built-in one."""
        return self.titles.get(slot) or SLOT_TITLES.get(slot, "")

    def widget(self, slot: str) -> dict[str, str]:
        """The answer's "widget" object (with the shop's currency and locale when it set a
        currency: widget.js writes prices with them unless the page says otherwise)."""
        shown = {"title": self.title(slot), "format": self.format}
        if self.money.currency:
            # Browsers' Intl takes BCP 47 tags (de-DE), Babel's settings are de_DE.
            shown.update(currency=self.money.currency, locale=self.money.locale.replace("_", "-"))
        return shown


def display_from_settings(shop: str, titles: Any, fmt: Any) -> ShopDisplay:
    """The display choices from stored values; unusable parts are logged and left default."""
    checked: dict[str, str] = {}
    if isinstance(titles, dict):
        for slot, title in titles.items():
            if slot in SLOT_TITLES and isinstance(title, str) and title.strip():
                checked[slot] = title.strip()[:MAX_TITLE_CHARS]
            else:
                logger.warning(
                    "shop %s: %s.%s is not a usable title; using the built-in one",
                    shop,
                    TITLES_KEY,
                    slot,
                    extra={"shop": shop},
                )
    elif titles is not None:
        logger.warning("shop %s: %s is not an object; ignored", shop, TITLES_KEY)
    if fmt is not None and fmt not in WIDGET_FORMATS:
        logger.warning(
            "shop %s: %s %r is not one of %s; using %r",
            shop,
            FORMAT_KEY,
            fmt,
            list(WIDGET_FORMATS),
            WIDGET_FORMATS[0],
        )
        fmt = None
    return ShopDisplay(checked, fmt or WIDGET_FORMATS[0])


class ShopDisplays:
    """Each shop's ShopDisplay, read on a long-lived connection and memoised until a write."""

    def __init__(self, readers: ShopReaders) -> None:
        self._readers = readers

    def for_shop(self, shop: str) -> ShopDisplay:
        """The shop's display choices as of its last write."""

        def read(db: sqlite_utils.Database) -> ShopDisplay:
            display = display_from_settings(
                shop, get_shop_setting(db, TITLES_KEY), get_shop_setting(db, FORMAT_KEY)
            )
            return replace(display, money=shop_money(db))

        display: ShopDisplay = self._readers.read(shop, "display", read)
        return display
