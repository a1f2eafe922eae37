"""Prices as a shop's shoppers and owner read them: its currency, in its locale.

CLDR's rules through Babel: "€24.50" in en_IE, "24,50 €" in de_DE, "¥2,450" in ja_JP (no
decimals), so neither the admin, the widget nor an email guesses a symbol or a separator.
A shop without a currency set keeps the plain "24.50" it always had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal, get_currency_name, list_currencies

from engine.errors import InputError

CURRENCY_KEY = "currency"
LOCALE_KEY = "locale"
DEFAULT_LOCALE = "en"


def check_currency(value: Any) -> str:
    """An ISO 4217 code Babel knows ('eur' -> 'EUR'), else InputError naming the value."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or code not in list_currencies():
        raise InputError(f"currency must be an ISO 4217 code such as EUR or USD, got {value!r}")
    return code


def check_locale(value: Any) -> str:
    """A locale tag Babel knows ('de-DE' -> 'de_DE'), else InputError naming the value."""
    if not isinstance(value, str) or not value.strip() or len(value) > 20:
        raise InputError(f"locale must be a tag such as en_GB or de-DE, got {value!r}")
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        raise InputError(f"locale must be a tag such as en_GB or de-DE, got {value!r}") from None


@dataclass(frozen=True)
class MoneyFormat:
    """How one shop writes an amount; call it with a number (None gives '')."""

    currency: str = ""
    locale: str = DEFAULT_LOCALE

    def __call__(self, value: float | int | None) -> str:
        if value is None:
            return ""
        if not self.currency:
            return format_decimal(float(value), format="#,##0.00", locale=self.locale)
        return str(format_currency(float(value), self.currency, locale=self.locale))

    def plain(self, value: float | int | None) -> str:
        """The amount without thousands separators when no currency is set ('1234.50'), as
        prices were shown before a currency existed."""
        if value is None:
            return ""
        if not self.currency:
            return f"{float(value):.2f}"
        return self(value)

    @property
    def currency_name(self) -> str:
        """'Euro' for EUR in English; '' without a currency."""
        return str(get_currency_name(self.currency, locale=self.locale)) if self.currency else ""


def money_format(currency: Any, locale: Any) -> MoneyFormat:
    """The format of stored settings; an unusable value falls back to the default for that
    part (a shop's lists must not break over a typo), and InputError is not raised."""
    try:
        code = check_currency(currency) if currency else ""
    except InputError:
        code = ""
    try:
        tag = check_locale(locale) if locale else DEFAULT_LOCALE
    except InputError:
        tag = DEFAULT_LOCALE
    return MoneyFormat(code, tag)
