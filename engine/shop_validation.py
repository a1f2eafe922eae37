"""Per-shop blend weights: chosen on the shop's own most recent orders, not on other shops.

The built-in weights (engine.blend.DEFAULT_WEIGHTS) were tuned on a few shops; on a shop
they were not tuned on (a grocer's small baskets of staples, titles that are SKU codes, a
long-tailed catalog) the blend can fall below its own parts. So training holds out the most
recent HOLDOUT_SHARE of the orders (time-based, as the future will come), fits on the rest,
and per slot scores a grid of weight mixes on the held-out orders through the serving steps
(engine.blend_search): the slot's metric (HR@8 for frequently bought together, NDCG@10 for
for_you) decides, under a coverage floor, and a source that does no better than a random list
on its own (content over meaningless titles) gets weight 0 with the figures that say so.
The built-in mix stays unless another beats it by MIN_GAIN and two paired standard errors,
so a shop the defaults already suit keeps them; among the mixes that do, those within half a
standard error of the best count as equal and the one nearest the built-in weights wins.
The rules' support floor is chosen the same way, and so is how the plain co-purchase table
ranks an item's complements: by confidence, or by soft coverage of the item's baskets
(engine.pair_coverage.soft_cover_order). Too few held-out cases: the built-in weights, and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from engine.association import auto_min_count
from engine.blend import DEFAULT_WEIGHTS, SOURCES
from engine.blend_search import HeldOut, MixScores, score_mixes, weight_grid
from engine.content import ContentModel
from engine.holdout import Query, split_at
from engine.pair_coverage import SOFT_COVER_DISCOUNTS
from engine.shop_models import ShopModels
from engine.training_data import TrainingData

HOLDOUT_SHARE = 0.12
MIN_ORDERS = 200  # fewer orders in all: nothing to hold out
MIN_QUERIES = {"fbt": 150, "next_purchase": 40}
MAX_REQUESTS = 1000  # distinct held-out requests scored per slot (a seeded sample beyond)
# Support floors tried, with the automatic one. Not 1 in a shop whose automatic floor is
# higher: pairs seen once are served by plain co-purchase anyway (engine.blend.HANDOVER),
# and as rules they never scored better on the shops measured.
FLOORS = (2, 5)
NOISE_FACTOR = 1.5  # a source alone must beat a random list by half again to count
COARSE_STEP, FINE_STEP = 0.25, 0.1
SEQUENCE_SLOT = "home/for_you"  # where the sequence model (optional) is a candidate
MIN_GAIN = 0.01  # a mix must beat the built-in one by 1% of its metric (and by 2 SE)


@dataclass(frozen=True)
class SlotSearch:
    """What one slot is validated on: its task's queries, the sources mixed, the metric."""

    task: str
    sources: tuple[str, ...]
    metric: str
    k: int
    coverage_share: float  # the chosen mix keeps this share of the built-in mix's coverage


# A product page's list may narrow to the pairs that sell (a grocer's staples); a shopper's
# for_you list keeps most of its breadth, or every shopper sees the same best sellers.
SEARCHES: dict[str, SlotSearch] = {
    "product/frequently_bought_together": SlotSearch(
        "fbt", ("rules", "confidence", "content", "popularity"), "hr", 8, 0.6
    ),
    "home/for_you": SlotSearch(
        "next_purchase", ("taste", "content", "popularity", "trending"), "ndcg", 10, 0.85
    ),
}


@dataclass(frozen=True)
class Validation:
    """What validation chose: per 'context/slot' weights, the rules' support floor (None:
    the automatic one), and a JSON-able report per slot (the table `shoprec train` prints)."""

    learned: dict[str, dict[str, float]] = field(default_factory=dict)
    rules_floor: int | None = None
    report: dict[str, Any] = field(default_factory=dict)
    cover_discount: float = 1.0  # 1.0: the plain table ranks by confidence
    # Which content neighbours serve (tfidf or embeddings): every slot's but for_you's, and
    # for_you's (a shopper's taste and a product's look-alikes may want different ones).
    content_model: str = "tfidf"
    personal_content_model: str = "tfidf"


def holdout_moment(data: TrainingData) -> datetime | None:
    """When the held-out orders start (the newest HOLDOUT_SHARE of them), or None when the
    shop has fewer than MIN_ORDERS orders."""
    purchases = data.purchases
    if not len(purchases):
        return None
    stamps = pd.to_datetime(purchases["created_at"], utc=True, format="ISO8601")
    first = stamps.groupby(purchases["order_id"].astype(str)).min().sort_values()
    if first.size < MIN_ORDERS:
        return None
    cut = first.iloc[int(first.size * (1 - HOLDOUT_SHARE))]
    if cut <= first.iloc[0]:
        return None
    return cut.to_pydatetime()


def validate_shop(
    data: TrainingData,
    fit_prefix: Callable[[TrainingData, int], ShopModels],
    contents: Callable[[], Mapping[str, ContentModel]] | None = None,
) -> Validation:
    """Choose the shop's blend weights on its newest orders (see the module docstring).

    fit_prefix: fits the models on the older orders, rules at the given support floor (the
    lowest tried; validation derives the others) with their plain table; the tables
    validation does not score may be left empty.
    contents: gives the content models to choose between per slot, by name ("tfidf" first,
    the one fit_prefix uses; "embeddings" when installed), asked once the product page's
    support floor and co-purchase ranking are chosen (the embeddings encode meanwhile); the
    first stays unless another's best coarse mix beats it by half of MIN_GAIN.
    """
    moment = holdout_moment(data)
    if moment is None:
        return _defaults_everywhere(f"fewer than {MIN_ORDERS} orders to hold any out")
    parts = split_at(data, moment, max(s.k for s in SEARCHES.values()))
    floors = _floors(data)
    models = fit_prefix(parts.train, floors[0])
    searches = _with_sequence(models)
    held = {"fbt": parts.fbt, "next_purchase": parts.next_purchase}
    learned: dict[str, dict[str, float]] = {}
    report: dict[str, Any] = {"holdout_from": moment.isoformat()}
    floor: int | None = None
    discount = 1.0
    held_out = {
        key: HeldOut.of(models.item_ids, _sample(held[search.task]))
        for key, search in searches.items()
        if len(held[search.task]) >= MIN_QUERIES[search.task]
    }
    content_for = dict.fromkeys(SEARCHES, "tfidf")
    available: Mapping[str, ContentModel] | None = None
    for key, search in searches.items():
        queries = held_out.get(key)
        if queries is None:
            report[key] = _default_report(
                key,
                f"built-in weights: {len(held[search.task])} held-out cases, "
                f"needs {MIN_QUERIES[search.task]} to validate",
            )
            continue
        slot_models = models
        if search.task == "fbt":
            floor, floor_rows = _choose_floor(models, queries, search, floors, data)
            slot_models = replace(models, rules=models.rules.at_floor(floor))
            discount, cover_rows = _choose_cover(slot_models, queries, search)
            slot_models = replace(slot_models, rules=slot_models.rules.soft_covered(discount))
        if contents is not None:
            if available is None:
                available = contents()
                content_for = dict.fromkeys(SEARCHES, next(iter(available)))
                if len(available) > 1:
                    chosen_content, report["content_model"] = _choose_content(
                        models, held_out, available
                    )
                    content_for.update(chosen_content)
            slot_models = replace(slot_models, content=available[content_for[key]])
        chosen, slot_report = _search_slot(slot_models, queries, key, search)
        if search.task == "fbt":
            slot_report["support_floor"] = {"chosen": floor, "tried": floor_rows}
            slot_report["cover_discount"] = {"chosen": discount, "tried": cover_rows}
        if key == SEQUENCE_SLOT:
            slot_report["sequence"] = _sequence_report(models, slot_report)
        report[key] = slot_report
        if chosen is not None:
            learned[key] = chosen
    return Validation(
        learned,
        floor,
        report,
        discount,
        content_for["product/frequently_bought_together"],
        content_for["home/for_you"],
    )


def _with_sequence(models: ShopModels) -> dict[str, SlotSearch]:
    """SEARCHES, with the sequence model a for_you candidate when it was fitted."""
    if not models.sequence.trusted:
        return SEARCHES
    search = SEARCHES[SEQUENCE_SLOT]
    return {**SEARCHES, SEQUENCE_SLOT: replace(search, sources=(*search.sources, "sequence"))}


def _sequence_report(models: ShopModels, slot: Mapping[str, Any]) -> dict[str, Any]:
    """What for_you validation made of the sequence model: its weight, and why when 0."""
    weight = float((slot.get("weights") or {}).get("sequence", 0.0))
    if not models.sequence.trusted:
        return {"weight": 0.0, "why": f"not a candidate: {models.sequence.why}"}
    alone: Mapping[str, Any] = next(
        (r for r in slot.get("rows", ()) if r.get("name") == "sequence alone (its own ranking)"),
        {},
    )
    out: dict[str, Any] = {"weight": weight, "alone": alone.get("ndcg"), "fit": models.sequence.why}
    if weight <= 0:
        dropped = (slot.get("dropped") or {}).get("sequence")
        out["why"] = dropped or (
            slot.get("why") or "no mix giving it weight beat the chosen one on the held-out orders"
        )
    return out


def _sample(queries: tuple[Query, ...]) -> list[Query]:
    """All queries of at most MAX_REQUESTS distinct requests (seeded, so training repeats)."""
    requests = list(dict.fromkeys(q.request for q in queries))
    if len(requests) <= MAX_REQUESTS:
        return list(queries)
    rng = np.random.default_rng(0)
    keep = {requests[i] for i in rng.choice(len(requests), MAX_REQUESTS, replace=False)}
    return [q for q in queries if q.request in keep]


def _auto_floor(data: TrainingData) -> int:
    return auto_min_count(int(data.purchases["order_id"].nunique()))


def lowest_floor(n_orders: int) -> int:
    """The lowest support floor validation may choose in a shop of n_orders orders: the
    least count of the pairs a full fit can rank (what a Spark job counts down to)."""
    return min(auto_min_count(n_orders), FLOORS[0])


def _floors(data: TrainingData) -> list[int]:
    """The support floors to try, lowest first: FLOORS, the automatic one, and no lower."""
    auto = _auto_floor(data)
    lowest = lowest_floor(int(data.purchases["order_id"].nunique()))
    return sorted({auto, *(f for f in FLOORS if f >= lowest)})


def _choose_floor(
    models: ShopModels, held: HeldOut, search: SlotSearch, floors: list[int], data: TrainingData
) -> tuple[int, list[dict[str, float]]]:
    """The support floor: the automatic one (engine.association.auto_min_count) unless
    another floor's best coarse mix beats it by MIN_GAIN."""
    auto = _auto_floor(data)
    mixes = weight_grid(search.sources, COARSE_STEP)
    rows, best = [], {}
    for floor in floors:
        variant = replace(models, rules=models.rules.at_floor(floor))
        scores = score_mixes(variant, held, mixes, (), search.metric, search.k)
        best[floor] = float(scores.metric.max())
        rows.append({"floor": floor, search.metric: round(best[floor], 4)})
    top = max(floors, key=lambda f: (best[f], f == auto))
    chosen = top if best[top] > best[auto] * (1 + MIN_GAIN) else auto
    return chosen, rows


def _choose_cover(
    models: ShopModels, held: HeldOut, search: SlotSearch
) -> tuple[float, list[dict[str, float]]]:
    """How the plain table ranks complements: plain confidence (discount 1.0) unless a soft
    basket cover's best coarse mix beats its best by half of MIN_GAIN."""
    mixes = weight_grid(search.sources, COARSE_STEP)
    rows, best = [], {}
    for discount in SOFT_COVER_DISCOUNTS:
        variant = replace(models, rules=models.rules.soft_covered(discount))
        scores = score_mixes(variant, held, mixes, (), search.metric, search.k)
        best[discount] = float(scores.metric.max())
        rows.append({"discount": discount, search.metric: round(best[discount], 4)})
    top = max(SOFT_COVER_DISCOUNTS, key=lambda d: (best[d], d))
    return (top if best[top] > best[1.0] * (1 + MIN_GAIN / 2) else 1.0), rows


def _choose_content(
    models: ShopModels, held_out: Mapping[str, HeldOut], contents: Mapping[str, ContentModel]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Per validated slot, the content model to serve: the first (TF-IDF) unless another's
    best coarse mix beats the first's by half of MIN_GAIN; and the report."""
    names = list(contents)
    best: dict[str, dict[str, float]] = {}
    for name in names:
        variant = replace(models, content=contents[name])
        best[name] = {}
        for key, held in held_out.items():
            search = SEARCHES[key]
            mixes = weight_grid(search.sources, COARSE_STEP)
            scores = score_mixes(variant, held, mixes, (), search.metric, search.k)
            best[name][key] = float(scores.metric.max())
    first = names[0]
    chosen = {}
    for key in held_out:
        top = max(names, key=lambda n: (best[n][key], n == first))
        chosen[key] = top if best[top][key] > best[first][key] * (1 + MIN_GAIN / 2) else first
    rows = [{"model": n, **{k: round(v, 4) for k, v in best[n].items()}} for n in names]
    return chosen, {"chosen": chosen, "tried": rows}


def _search_slot(
    models: ShopModels, held: HeldOut, key: str, search: SlotSearch
) -> tuple[dict[str, float] | None, dict[str, Any]]:
    """The chosen mix of one slot (None: the built-in one stays) and its report."""
    default = dict(DEFAULT_WEIGHTS[key])
    # One pass: the built-in mix, each source served alone, every mix of the grid, and
    # each source raw (the noise check); mixes with a source that fails it are not usable.
    singles = [{s: 1.0} for s in search.sources]
    mixes = [default, *singles, *weight_grid(search.sources, FINE_STEP)]
    scores = score_mixes(models, held, mixes, search.sources, search.metric, search.k)
    probe = scores
    dropped = {
        s: f"alone {search.metric.upper()}@{search.k} {probe.raw[s]:.3f}, a random list "
        f"{probe.noise:.3f}: no signal on this shop"
        for s in search.sources
        if probe.raw[s] <= NOISE_FACTOR * probe.noise
    }
    kept = tuple(s for s in search.sources if s not in dropped)
    if not kept:
        return None, _default_report(key, "built-in weights: no source beats a random list")
    usable = np.asarray([all(s in kept for s in mix) for mix in mixes])
    chosen_row = _choose(mixes, scores, default, usable, search.coverage_share)
    rows = [
        {"name": f"{s} alone (its own ranking)", search.metric: round(probe.raw[s], 4)}
        for s in search.sources
    ]
    for name, row in (
        *((f"{s} (served)", 1 + i) for i, s in enumerate(search.sources)),
        ("built-in weights", 0),
        ("chosen", chosen_row),
    ):
        rows.append(
            {
                "name": name,
                "weights": mixes[row],
                search.metric: round(float(scores.metric[row]), 4),
                "coverage": round(float(scores.coverage[row]), 4),
            }
        )
    report = {
        "status": "validated",
        "metric": f"{search.metric.upper()}@{search.k}",
        "queries": scores.queries,
        "noise": round(probe.noise, 4),
        "weights": mixes[chosen_row],
        "dropped": dropped,
        "rows": rows,
    }
    return mixes[chosen_row], report


def _choose(
    mixes: Sequence[Mapping[str, float]],
    scores: MixScores,
    default: Mapping[str, float],
    usable: np.ndarray,
    coverage_share: float,
) -> int:
    """Row of the mix to serve among the usable ones (no dropped source).

    Row 0, the built-in mix, stays unless a mix beats it clearly: by MIN_GAIN of its metric
    and by two standard errors of the paired per-query difference (a few tenths of a point
    on one holdout is noise, not a reason to serve other weights). Of the mixes that do, and
    keep coverage_share of the built-in mix's coverage, the best; within half a standard
    error of it, the one nearest the built-in weights.
    """
    floor = coverage_share * float(scores.coverage[0])
    eligible = usable & (scores.coverage >= floor - 1e-9)
    if usable[0]:
        gain = scores.metric - scores.metric[0]
        margin = np.maximum(2 * scores.gain_stderr, MIN_GAIN * float(scores.metric[0]))
        eligible &= gain > margin
        if not eligible.any():
            return 0
    elif not eligible.any():
        eligible = usable
    rows = np.flatnonzero(eligible)
    best = rows[np.argmax(scores.metric[rows])]
    tolerance = max(1e-3, 0.5 * float(scores.stderr[best]))
    near = rows[scores.metric[rows] >= scores.metric[best] - tolerance]
    distance = [sum(abs(mixes[i].get(s, 0.0) - default.get(s, 0.0)) for s in SOURCES) for i in near]
    return int(near[int(np.argmin(distance))])


def _default_report(key: str, why: str) -> dict[str, Any]:
    return {"status": "defaults", "why": why, "weights": dict(DEFAULT_WEIGHTS[key])}


def _defaults_everywhere(why: str) -> Validation:
    return Validation(
        {}, None, {key: _default_report(key, f"built-in weights: {why}") for key in SEARCHES}
    )
