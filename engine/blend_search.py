"""Scoring many blend weight mixes on held-out queries at once, through the serving steps.

Each request is prepared once (ShopModels.prepare: evidence, allowed items, trust) and each
source's scores computed once (ShopModels.source_scores, what recommend blends); every mix
is then planned with engine.blend.plan_weights, as serving plans it (trust hand-overs, the
cold-start shift, the popularity fill), and the lists of all mixes come from one matrix
product over the request's candidate items: every item any sparse source scores, and the
best CANDIDATES_PER_SOURCE of each dense one (popularity, trending, taste), so a mix's list
is what blend_scores would serve but for items no source ranks near the top.
Each source is also scored raw and alone (its own ranking, no fill, no hand-over): whether
it carries any signal on this shop, against a random list (noise_bar).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.base import RecommendationRequest
from engine.blend import FILL_WEIGHT, SOURCES, plan_weights
from engine.holdout import Query
from engine.shop_models import ShopModels

CANDIDATES_PER_SOURCE = 64


def weight_grid(sources: Sequence[str], step: float) -> list[dict[str, float]]:
    """Every mix of `sources` with weights in multiples of step summing to 1 (a simplex grid)."""
    units = round(1 / step)
    mixes = []
    for split in itertools.product(range(units + 1), repeat=len(sources)):
        if sum(split) == units:
            mixes.append({s: n / units for s, n in zip(sources, split, strict=True) if n})
    return mixes


@dataclass(frozen=True)
class MixScores:
    """Per mix (rows of the mixes scored): mean metric, its standard error, coverage.

    raw: per source, the raw source alone (its own ranking, nothing else): metric.
    noise: the metric a random list of K allowed items would score on the same queries.
    """

    metric: np.ndarray
    stderr: np.ndarray
    gain_stderr: np.ndarray  # of the per-query difference from the first mix (paired)
    coverage: np.ndarray
    raw: dict[str, float]
    noise: float
    queries: int


@dataclass(frozen=True)
class HeldOut:
    """Held-out queries grouped by request: per query, its right answers as item indexes
    and how many right answers it has (answers the models do not know count too)."""

    groups: dict[RecommendationRequest, list[tuple[np.ndarray, int]]]

    @classmethod
    def of(cls, item_ids: np.ndarray, queries: Iterable[Query]) -> HeldOut:
        """Group queries (one context/slot) by request; answers outside item_ids are dropped."""
        index = {item: i for i, item in enumerate(item_ids.tolist())}
        groups: dict[RecommendationRequest, list[tuple[np.ndarray, int]]] = {}
        for query in queries:
            found = np.asarray([index[i] for i in query.relevant if i in index], np.int64)
            groups.setdefault(query.request, []).append((found, len(query.relevant)))
        return cls(groups)


def score_mixes(
    models: ShopModels,
    held: HeldOut,
    mixes: Sequence[Mapping[str, float]],
    raw_sources: Sequence[str],
    metric: str,
    k: int,
) -> MixScores:
    """HR@k ("hr") or NDCG@k ("ndcg") and catalog coverage of every mix on the queries.

    All queries must share one context/slot; the mixes are that slot's weights, planned
    per request as serving plans them.
    """
    groups = held.groups
    n_items = models.items.n_items
    n_mix, n_raw = len(mixes), len(raw_sources)
    sums = np.zeros(n_mix + n_raw)
    squares = np.zeros(n_mix + n_raw)
    gain_squares = np.zeros(n_mix)
    shown = np.zeros((n_mix, n_items), bool)
    noise, count = 0.0, 0
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    position = np.full(max(models.items.n_items, 1), -1, np.int64)
    plans: dict[tuple, tuple[np.ndarray, list[str]]] = {}
    for request, its_queries in groups.items():
        prepared = models.prepare(request)
        key = (tuple(sorted(prepared.trust.items())), prepared.strength)
        if key not in plans:
            plans[key] = _plan_matrix(request.context, request.slot, mixes, raw_sources, key)
        weights, sources = plans[key]
        allowed = prepared.allowed
        vectors = [np.where(allowed, models.source_scores(s, prepared), 0.0) for s in sources]
        vectors.append(np.where(allowed, models.popularity.popular, 0.0))  # the fill
        cand = _candidates(vectors, k)
        if cand.size == 0:
            count += len(its_queries)
            continue
        parts = np.zeros((len(vectors), cand.size))
        for row, vec in enumerate(vectors):
            top = float(vec.max())
            if top > 0:
                parts[row] = vec[cand] / top
        totals = weights @ parts  # (mixes + raw) x candidates
        top_k = _top_k(totals, k)
        valid = np.take_along_axis(totals, top_k, axis=1) > 0
        rows = np.repeat(np.arange(n_mix), valid[:n_mix].sum(axis=1))
        shown[rows, cand[top_k[:n_mix]][valid[:n_mix]]] = True
        n_allowed = max(int(allowed.sum()), 1)
        # All queries of this request at once: (queries x candidates) relevance, then hits
        # per query, mix and position.
        position[cand] = np.arange(cand.size)
        relevant = np.zeros((len(its_queries), cand.size), bool)
        sizes = np.asarray([size for _, size in its_queries], np.float64)
        found = [answers for answers, _ in its_queries]
        rows_of = np.repeat(np.arange(len(found)), [a.size for a in found])
        cols = position[np.concatenate(found)] if rows_of.size else rows_of
        relevant[rows_of[cols >= 0], cols[cols >= 0]] = True
        position[cand] = -1
        hits = relevant[:, top_k] & valid[None]  # queries x rows x positions
        if metric == "hr":
            values = hits.any(axis=2).astype(float)
            noise += sum(_random_hit(n_allowed, int(r), k) for r in sizes)
        else:
            ideal = np.cumsum(discount)[np.minimum(sizes, k).astype(int) - 1]
            values = (hits * discount[: hits.shape[2]]).sum(axis=2) / ideal[:, None]
            noise += float((np.minimum(sizes / n_allowed, 1.0) * discount.sum() / ideal).sum())
        sums += values.sum(axis=0)
        squares += (values * values).sum(axis=0)
        gain = values[:, :n_mix] - values[:, :1]
        gain_squares += (gain * gain).sum(axis=0)
        count += len(its_queries)
    n = max(count, 1)
    mean = sums / n
    stderr = np.sqrt(np.maximum(squares / n - mean * mean, 0.0) / n)
    gain = mean[:n_mix] - mean[0] if n_mix else np.zeros(0)
    gain_stderr = np.sqrt(np.maximum(gain_squares / n - gain * gain, 0.0) / n)
    return MixScores(
        metric=mean[:n_mix],
        stderr=stderr[:n_mix],
        gain_stderr=gain_stderr,
        coverage=shown.sum(axis=1) / max(n_items, 1),
        raw={s: float(mean[n_mix + i]) for i, s in enumerate(raw_sources)},
        noise=noise / n,
        queries=count,
    )


def _random_hit(n_allowed: int, relevant: int, k: int) -> float:
    """Chance that k items drawn at random from n_allowed include one of `relevant`."""
    return 1.0 - math.prod(
        max(n_allowed - relevant - i, 0) / (n_allowed - i) for i in range(min(k, n_allowed))
    )


def _plan_matrix(
    context: str,
    slot: str,
    mixes: Sequence[Mapping[str, float]],
    raw_sources: Sequence[str],
    key: tuple,
) -> tuple[np.ndarray, list[str]]:
    """Rows: each mix as plan_weights serves it under this trust, then each raw source
    alone; columns: the sources any row uses, then the popularity fill."""
    trust, strength = dict(key[0]), key[1]
    learned_key = f"{context}/{slot}"
    plans = [
        plan_weights(context, slot, {}, trust, strength, True, {learned_key: dict(mix)})
        for mix in mixes
    ]
    used = {s for p in plans for s in p.weights} | set(raw_sources)
    sources = [s for s in SOURCES if s in used]
    column = {s: i for i, s in enumerate(sources)}
    weights = np.zeros((len(plans) + len(raw_sources), len(sources) + 1))
    for row, plan in enumerate(plans):
        for source, w in plan.weights.items():
            weights[row, column[source]] = w
        weights[row, -1] = FILL_WEIGHT if plan.fill else 0.0
    for i, source in enumerate(raw_sources):
        weights[len(plans) + i, column[source]] = 1.0
    return weights, sources


def _candidates(vectors: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Sorted item indexes: every scored item of a sparse vector, the best of a dense one."""
    keep = []
    for vec in vectors:
        nonzero = np.flatnonzero(vec > 0)
        if nonzero.size > CANDIDATES_PER_SOURCE:
            best = np.argpartition(-vec[nonzero], CANDIDATES_PER_SOURCE - 1)
            nonzero = nonzero[best[:CANDIDATES_PER_SOURCE]]
        keep.append(nonzero)
    return np.unique(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def _top_k(totals: np.ndarray, k: int) -> np.ndarray:
    """Per row, the column indexes of the k best totals, best first (ties: lower column)."""
    width = totals.shape[1]
    if width <= k:
        return np.argsort(-totals, axis=1, kind="stable")
    part = np.argpartition(-totals, k - 1, axis=1)[:, :k]
    part.sort(axis=1)  # lower column first, so the stable sort breaks ties like blend_scores
    order = np.argsort(-np.take_along_axis(totals, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
