"""Seasons: whether a product tagged with a season may be shown on a given day.

Meteorological seasons by month in the northern hemisphere, six months on in the southern;
Christmas is November-December everywhere. Shops sell a season before it starts (Christmas
from October, barbecues from May), so every season opens `lead_days` early.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

# Month ranges (first, last) in the northern hemisphere; the south is six months on.
SEASON_MONTHS: dict[str, tuple[int, int]] = {
    "spring": (3, 5),
    "summer": (6, 8),
    "autumn": (9, 11),
    "fall": (9, 11),
    "winter": (12, 2),
}
CHRISTMAS_TAGS = ("christmas", "xmas")


def _season_window(months: tuple[int, int], year: int, lead_days: int) -> tuple[date, date]:
    first, last = months
    end_year = year + 1 if last < first else year
    end = date(end_year + (last == 12), last % 12 + 1, 1) - timedelta(days=1)
    return date(year, first, 1) - timedelta(days=lead_days), end


def in_season(tags: Sequence[str], today: date, hemisphere: str, lead_days: int) -> bool:
    """Whether a product with these season tags may be shown today.

    No season tag: always. Christmas: Nov 1 - Dec 31 in both hemispheres; other seasons by
    meteorological months (south: six months on). Every season is shown `lead_days` before
    it starts (shops sell Christmas from October, barbecues from May). A
    product with several season tags is in season when any of them is.
    """
    if not tags:  # most products: asked for every candidate of every request
        return True
    return _in_season(tuple(tags), today, hemisphere, lead_days)


@lru_cache(maxsize=4096)
def _in_season(tags: tuple[str, ...], today: date, hemisphere: str, lead_days: int) -> bool:
    """in_season for one set of tags and day (a pure function, so memoised)."""
    known = [t for t in tags if t in SEASON_MONTHS or t in CHRISTMAS_TAGS]
    if not known:
        return True
    for tag in known:
        if tag in CHRISTMAS_TAGS:
            months = (11, 12)
        else:
            first, last = SEASON_MONTHS[tag]
            if hemisphere == "south":
                first, last = (first + 5) % 12 + 1, (last + 5) % 12 + 1
            months = (first, last)
        for year in (today.year - 1, today.year, today.year + 1):
            start, end = _season_window(months, year, lead_days)
            if start <= today <= end:
                return True
    return False
