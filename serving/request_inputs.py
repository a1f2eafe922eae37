"""What one uncached request reads before anything is computed, gathered once.

A served list depends on the shop's models and settings (parsed once per settings change,
serving.profile.SettingsMemo), on what must not be shown (stock-outs, the shopper's
dismissals and recent purchases, the page's own exclusions), and on the shopper's signals
(this session's views, the categories bought lately, the shop's impressions when exploration
is on). Each is read here, in one place and one time, into a RequestInputs that the engine
step, the rules step and the fallback compute from; none of them reads the store for these
again, so two steps can never see two versions of one input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.rule_settings import RuleSettings
from serving.params import RecommendationParams
from serving.profile import ServingProfile


@dataclass(frozen=True)
class CacheKeys:
    """The generations a request's memos are keyed by.

    catalog: the shop's cache generation and settings stamp: catalog facts, stock, parsed
    settings and the model folder move with it. lists: `catalog` plus what orders add
    (popularity counted since training, the newest order line for recent-pair slots), the
    key of cached lists and pools. Both empty without a serving cache (read fresh).
    """

    catalog: str = ""
    lists: str = ""


@dataclass(frozen=True)
class RequestInputs:
    """Everything one request reads from the store, read once (serving.service).

    models: the shop's trained models with live popularity and the owner's weights applied,
    or None when the shop has none that can be read (the fallback serves then).
    excluded: every id this shopper must not be shown (unavailable today, dismissed, bought
    in the last RECENTLY_BOUGHT_DAYS, the page's exclude_ids).
    unavailable: the shop-wide part of `excluded` (what a shared pool is computed without).
    """

    params: RecommendationParams
    now: datetime
    serving: ServingProfile
    keys: CacheKeys
    settings: RuleSettings
    models: Any | None
    unavailable: frozenset[str]
    excluded: frozenset[str]
    session_viewed: tuple[str, ...] = ()
    bought_categories: Mapping[str, date] = field(default_factory=dict)
    impressions: Mapping[str, int] | None = None

    @property
    def today(self) -> str:
        """The request's day as ISO text (stock and season are decided per day)."""
        return self.now.date().isoformat()

    @property
    def not_shown(self) -> frozenset[str]:
        """`excluded` and the page's own products: what no list on this page may hold."""
        return self.excluded | frozenset(self.params.product_ids)
