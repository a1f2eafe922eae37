"""Popularity and trending: time-decayed counts, overall and per category.

The fallback every other strategy leans on when history is thin (cold start), and the
whole answer for the home page's `trending` slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from engine.errors import ArtifactError
from engine.training_data import Interactions, ItemSpace

POPULAR_HALF_LIFE_DAYS = 60.0
TRENDING_HALF_LIFE_DAYS = 7.0
LONG_RUN_HALF_LIFE_DAYS = 180.0  # the baseline trending is measured against
VIEW_WEIGHT = 0.1  # a view says less than an order; 10 views ~ one purchase
NEW_HALF_LIFE_DAYS = 30.0
NEW_DAYS = 60  # "new arrival": created within two months
NEW_THRESHOLD = float(0.5 ** (NEW_DAYS / NEW_HALF_LIFE_DAYS))
# How far momentum lifts a personal score: the item trending most now scores (1 + this)x.
MOMENTUM_WEIGHT = 1.0


@dataclass(frozen=True)
class Popularity:
    """Decayed item popularity.

    popular: float32 (n_items,), orders (plus 0.1 x views) decayed with a 60-day half-life.
    trending: float32 (n_items,), the same with a 7-day half-life, divided by the long-run
        rate (plus a prior) so items rising now beat items that are merely always big.
    rank: int32 (n_items,), 1 = most popular (for novelty metrics).
    newness: float32 (n_items,), 0.5^(days since the product was created / 30), 0 when the
        catalog gives no creation date (new_in_favourites).
    recent_mass, long_run_mass: float32 (n_items,), the 7-day and 180-day decayed counts
        trending is made of, kept so orders after training can be folded in (advanced);
        None in artifacts saved before they were kept.
    """

    popular: np.ndarray
    trending: np.ndarray
    rank: np.ndarray
    newness: np.ndarray | None = None
    recent_mass: np.ndarray | None = None
    long_run_mass: np.ndarray | None = None

    @cached_property
    def momentum(self) -> np.ndarray:
        """Float32 (n_items,) multiplier 1 + MOMENTUM_WEIGHT x sqrt(trending / top trending).

        What a shopper buys next follows their taste *and* what the shop sells now (new
        lines, the season): EASE learns the first from a year of history and is blind to the
        second. Tilting taste scores by momentum, rather than adding trending items to the
        list, only re-orders items the shopper's taste already ranks. Measured next-purchase
        NDCG@10 before -> after: Online Retail split 2011-09-01 0.127 -> 0.131, 2011-07-01
        0.165 -> 0.172; demo shops (2,000 and 1,500 customers, split 2026-08-01) 0.186 ->
        0.190 and 0.182 -> 0.192. The sqrt keeps one runaway item from flattening the rest.
        Computed once per loaded model set (serving multiplies it per request).
        """
        top = float(self.trending.max()) if self.trending.size else 0.0
        if top <= 0:
            return np.ones(self.trending.size, np.float32)
        share = np.sqrt(np.maximum(self.trending, 0.0) / top)
        return (1.0 + MOMENTUM_WEIGHT * share).astype(np.float32)

    def new_items(self) -> np.ndarray:
        """Bool (n_items,): created within NEW_DAYS of the present."""
        if self.newness is None:
            return np.zeros(self.popular.size, bool)
        return self.newness >= NEW_THRESHOLD

    @property
    def can_advance(self) -> bool:
        """Whether the counts behind trending were kept (artifacts saved since they are)."""
        return self.recent_mass is not None and self.long_run_mass is not None

    def advanced(self, items: np.ndarray, ages_days: np.ndarray, elapsed_days: float) -> Popularity:
        """These counts `elapsed_days` later, with new orders folded in.

        items: int (n_lines,) item indexes of order lines bought since; ages_days: their age
        now. Every decayed count is what fit_popularity would give on the longer history
        (old mass decays by the elapsed time, each new line adds its own decayed one), so a
        retrain later gives the same numbers; views since training are left to it.
        """
        if self.recent_mass is None or self.long_run_mass is None:
            raise ArtifactError("these counts were saved without the masses trending needs")
        n = self.popular.size
        weights = np.ones(items.size)
        elapsed = max(float(elapsed_days), 0.0)

        def later(mass: np.ndarray, half_life: float) -> np.ndarray:
            old = mass.astype(np.float64) * 0.5 ** (elapsed / half_life)
            return old + _decayed_counts(items, ages_days, weights, n, half_life)

        popular = later(self.popular, POPULAR_HALF_LIFE_DAYS)
        recent = later(self.recent_mass, TRENDING_HALF_LIFE_DAYS)
        long_run = later(self.long_run_mass, LONG_RUN_HALF_LIFE_DAYS)
        return popularity_from_masses(popular, recent, long_run, self.newness)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for the npz artifact."""
        newness = self.newness if self.newness is not None else np.zeros_like(self.popular)
        arrays = {
            "popular": self.popular,
            "trending": self.trending,
            "rank": self.rank,
            "newness": newness,
        }
        if self.recent_mass is not None and self.long_run_mass is not None:
            arrays["recent_mass"] = self.recent_mass
            arrays["long_run_mass"] = self.long_run_mass
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Popularity:
        """Inverse of to_arrays (older artifacts get no newness or masses)."""
        return cls(
            arrays["popular"],
            arrays["trending"],
            arrays["rank"],
            arrays.get("newness"),
            arrays.get("recent_mass"),
            arrays.get("long_run_mass"),
        )


def newness_of(created_at: pd.Series, now: datetime) -> np.ndarray:
    """Float32 (n,): 0.5^(age days / NEW_HALF_LIFE_DAYS) of ISO creation stamps; 0 if unknown.

    A product dated after `now` (an evaluation split) does not exist yet: 0.
    """
    stamps = pd.to_datetime(created_at, utc=True, format="ISO8601", errors="coerce")
    ages = (pd.Timestamp(now) - stamps).dt.total_seconds().to_numpy() / 86400.0
    known = np.isfinite(ages) & (ages >= 0)
    out = np.zeros(ages.size, np.float32)
    out[known] = np.power(0.5, ages[known] / NEW_HALF_LIFE_DAYS)
    return out


def _decayed_counts(
    items: np.ndarray, ages: np.ndarray, weights: np.ndarray, n_items: int, half_life: float
) -> np.ndarray:
    decay = np.power(0.5, ages / half_life) * weights
    return np.bincount(items, weights=decay, minlength=n_items)


def fit_popularity(
    inter: Interactions, items: ItemSpace, newness: np.ndarray | None = None
) -> Popularity:
    """Fit popularity and trending from order baskets and view events.

    newness: float32 (n_items,) from newness_of over the catalog, kept as is.
    """
    n = items.n_items
    coo = inter.baskets.tocoo()
    ages = inter.basket_age_days[coo.row]
    item_parts = [coo.col, inter.view_items]
    age_parts = [ages, inter.view_age_days]
    weight_parts = [np.ones(coo.col.size), np.full(inter.view_items.size, VIEW_WEIGHT)]
    all_items = np.concatenate(item_parts).astype(np.int64)
    all_ages = np.concatenate(age_parts)
    all_weights = np.concatenate(weight_parts)
    popular = _decayed_counts(all_items, all_ages, all_weights, n, POPULAR_HALF_LIFE_DAYS)
    recent = _decayed_counts(all_items, all_ages, all_weights, n, TRENDING_HALF_LIFE_DAYS)
    long_run = _decayed_counts(all_items, all_ages, all_weights, n, LONG_RUN_HALF_LIFE_DAYS)
    return popularity_from_masses(popular, recent, long_run, newness)


def popularity_from_masses(
    popular: np.ndarray, recent: np.ndarray, long_run: np.ndarray, newness: np.ndarray | None
) -> Popularity:
    """Trending and rank from the three decayed masses (float64 (n_items,) each in the item
    space's order, float32 kept): counted here, or elsewhere (a Spark cluster:
    spark_engine.popularity)."""
    n = popular.size
    # Rising = recent mass over long-run mass (a prior of 1 order keeps one-sale items down),
    # times sqrt(recent) so a list of one-off blips does not win the slot.
    trending = (
        recent
        / (long_run / LONG_RUN_HALF_LIFE_DAYS * TRENDING_HALF_LIFE_DAYS + 1.0)
        * np.sqrt(recent)
    )
    order = np.lexsort((np.arange(n), -popular))
    rank = np.empty(n, np.int32)
    rank[order] = np.arange(1, n + 1, dtype=np.int32)
    return Popularity(
        popular.astype(np.float32),
        trending.astype(np.float32),
        rank,
        newness,
        recent.astype(np.float32),
        long_run.astype(np.float32),
    )
