"""A shop's currency and locale, from its settings, as one callable that formats amounts."""

from __future__ import annotations

import sqlite_utils

from engine.money import CURRENCY_KEY, LOCALE_KEY, MoneyFormat, money_format
from storage.shop_settings import get_shop_setting


def shop_money(db: sqlite_utils.Database) -> MoneyFormat:
    """The shop's money format (its `currency` and `locale` settings; unset: plain numbers)."""
    return money_format(get_shop_setting(db, CURRENCY_KEY), get_shop_setting(db, LOCALE_KEY))
