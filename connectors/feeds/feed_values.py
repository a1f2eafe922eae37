"""Parsing single CSV cells into store values, raising RowRejected with a readable reason.

Timestamps become the store's text 'YYYY-MM-DDTHH:MM:SS' in UTC (aware inputs are converted;
naive ones are taken as already UTC, as the shop's export gives them).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from connectors.errors import RowRejected
from connectors.product_urls import UnsafeUrl, checked_url

_US_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def parse_timestamp(text: str, column: str) -> str:
    """An ISO-8601 date or datetime (or the UCI Excel 'M/D/YYYY H:MM') as store UTC text."""
    value = text.strip()
    if not value:
        raise RowRejected(f"{column} is empty")
    # fromisoformat on 3.11 takes 'Z', offsets, 'T' or ' ' and fractions; plain dates too.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = _parse_us(value, column)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _parse_us(value: str, column: str) -> datetime:
    if "/" in value:
        for fmt in _US_FORMATS:
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                continue
    raise RowRejected(f"{column} {value!r} is not an ISO-8601 date/time")


def parse_price(text: str, column: str, *, required: bool = True) -> float | None:
    """A non-negative finite price; '' gives None unless required."""
    value = text.strip()
    if not value:
        if required:
            raise RowRejected(f"{column} is empty")
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowRejected(f"{column} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RowRejected(f"{column} {value!r} is not a finite number")
    if number < 0:
        raise RowRejected(f"{column} {value!r} is negative")
    return number


def parse_quantity(text: str, column: str) -> int:
    """A whole number ('6' or '6.0'); may be negative (returns)."""
    value = text.strip()
    if not value:
        raise RowRejected(f"{column} is empty")
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        raise RowRejected(f"{column} {value!r} is not a whole number")
    return int(number)


def parse_stock(text: str, column: str) -> int | None:
    """A stock level: '' (not tracked) gives None; otherwise a whole number."""
    if not text.strip():
        return None
    return parse_quantity(text, column)


def require(text: str, column: str) -> str:
    """The stripped cell, or RowRejected when it is empty."""
    value = text.strip()
    if not value:
        raise RowRejected(f"{column} is empty")
    return value


def parse_url(text: str, column: str) -> str:
    """A product or image URL (connectors.product_urls: http(s) or site-relative); '' stays ''."""
    try:
        return checked_url(text, column)
    except UnsafeUrl as exc:
        raise RowRejected(str(exc)) from None
