"""Benchmark: which frequently-bought-together signals add hits on a shop's own held-out orders.

Run: PYTHONPATH=. .venv/bin/python -P bench/fbt_signals.py DATA_DIR [--shop served]
     [--holdout 0.12 0.30]
DATA_DIR: a shop store, e.g. the one `bench/served_eval.py DATASET --keep DATA_DIR` imported
(its pre-split history only, so nothing here sees the served test orders).
The training side of what the product page serves, measured as the per-shop validation
measures it (engine.shop_validation): the newest share of the shop's orders is held out,
the models are fitted on the older ones, and every held-out order's items ask for K=8.
For each holdout share it prints the best mix of the sources the validation weighs (rules,
plain confidence, content, popularity; weights on a 0.1 grid) and the best mix once one
candidate signal is added to them (0.2 grid) or put in the place of the one it refines:
- recency-weighted co-purchase (30-day half-life): a seasonal shop's current partners;
- the same customers' co-purchases (repeat buyers re-buying the anchor's usual partners);
- cosine co-purchase (partners normalised by their own sales, not the anchor's);
- confidence tilted by the partner's momentum (trending prior for the anchor's partners);
- popularity with a 20-day and a 365-day half-life in the place of the 60-day one;
- the sources blended by rank (reciprocal rank, k=10) rather than by max-normalised score;
and, for the anchors with no sale before the holdout (new products), the served mix against
the best mix of borrowed pairs, content, popularity and trending.
A larger holdout share is a longer horizon: a list trained once and served for months.
(-P: bench/ is not put on sys.path.)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import engine.shop_validation as validation
from engine.blend_search import HeldOut, weight_grid
from engine.content import fit_content, item_features
from engine.holdout import split_at
from engine.shop_fit import _fit_prefix
from engine.shop_models import ShopModels
from engine.training_data import (
    TrainingData,
    build_item_space,
    latest_timestamp,
    prepare_interactions,
)
from storage.catalog import read_products_frame
from storage.db import open_shop_db
from storage.events import read_events_frame
from storage.orders import read_purchase_lines

K = 8
FILL = 1e-3  # popularity under everything, as engine.blend.FILL_WEIGHT
BASE = ("rules", "confidence", "content", "popularity")
PER_SOURCE = 64  # candidates per source, as engine.blend_search.CANDIDATES_PER_SOURCE
RANK_K = 10


@dataclass
class Request:
    """One held-out anchor: its candidates' source scores and which queries each answers."""

    scores: dict[str, np.ndarray]  # per signal, max-normalised scores of the candidates
    ranked: dict[str, np.ndarray]  # per signal, by rank (reciprocal rank, k=RANK_K)
    relevant: np.ndarray  # bool (queries x candidates)
    trust: Mapping[str, float]
    new: bool  # the anchor sold nothing before the holdout


def load(data_dir: Path, shop: str) -> TrainingData:
    db = open_shop_db(data_dir, shop, create=False)
    try:
        frames = read_products_frame(db), read_purchase_lines(db), read_events_frame(db)
    finally:
        db.close()
    data = TrainingData(*frames, datetime.now(UTC))
    return replace(data, now=latest_timestamp(data) or datetime.now(UTC))


def row_normalised(matrix: sp.csr_matrix, by: np.ndarray) -> sp.csr_matrix:
    return (sp.diags(1.0 / np.maximum(by, 1e-12)) @ matrix).tocsr()


def without_diagonal(matrix: sp.spmatrix) -> tuple[sp.csr_matrix, np.ndarray]:
    matrix = matrix.tocsr()
    diagonal = matrix.diagonal().copy()
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    return matrix, diagonal


def signals(
    models: ShopModels, train: TrainingData
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The candidate signals beyond the sources, each a function of the anchors."""
    inter = prepare_interactions(train, models.items)
    baskets = inter.baskets.tocsr().astype(np.float64)
    age = inter.basket_age_days
    recent, seen = without_diagonal(baskets.T @ sp.diags(0.5 ** (age / 30.0)) @ baskets)
    recent = row_normalised(recent, seen)
    together, sales = without_diagonal(baskets.T @ baskets)
    scale = sp.diags(1.0 / np.sqrt(np.maximum(sales, 1e-12)))
    cosine = (scale @ together @ scale).tocsr()
    owners = inter.customer_items.tocsr().copy()
    owners.data[:] = 1.0
    same_customer, customers = without_diagonal(owners.T @ owners)
    same_customer = row_normalised(same_customer, customers)
    momentum = models.popularity.momentum

    def rows(matrix: sp.csr_matrix) -> Callable[[np.ndarray], np.ndarray]:
        return lambda anchors: np.asarray(matrix[anchors].sum(axis=0)).ravel()

    def decayed(days: float) -> Callable[[np.ndarray], np.ndarray]:
        mass = np.asarray(baskets.T @ (0.5 ** (age / days))).ravel()
        return lambda anchors: mass

    plain = models.rules.plain
    n = models.items.n_items
    return {
        "recent co-purchase (30 d)": rows(recent),
        "same customers' co-purchase": rows(same_customer),
        "cosine co-purchase": rows(cosine),
        "confidence x partner momentum": lambda a: (
            plain.aggregate(a, np.ones(a.size, np.float32), n) * momentum
        ),
        "popularity, 20-day half-life": decayed(20.0),
        "popularity, 365-day half-life": decayed(365.0),
    }


# What each signal replaces when put in the place of a source (None: only added).
REPLACES = {
    "recent co-purchase (30 d)": "confidence",
    "same customers' co-purchase": "confidence",
    "cosine co-purchase": "confidence",
    "confidence x partner momentum": "confidence",
    "popularity, 20-day half-life": "popularity",
    "popularity, 365-day half-life": "popularity",
}


def requests(
    models: ShopModels, held: HeldOut, extra: Mapping[str, Callable[[np.ndarray], np.ndarray]]
) -> list[Request]:
    sold = np.asarray(models.rules.baskets.sum(axis=0)).ravel() > 0  # type: ignore[union-attr]
    out = []
    for request, queries in held.groups.items():
        prepared = models.prepare(request)
        allowed = prepared.allowed
        anchors = prepared.evidence.seeds
        full = {s: models.source_scores(s, prepared) for s in (*BASE, "trending")}
        full.update({name: make(anchors) for name, make in extra.items()})
        full = {s: np.where(allowed, v, 0.0) for s, v in full.items()}
        full["fill"] = np.where(allowed, models.popularity.popular, 0.0)
        picked = []
        for vec in full.values():
            nonzero = np.flatnonzero(vec > 0)
            if nonzero.size > PER_SOURCE:
                nonzero = nonzero[np.argpartition(-vec[nonzero], PER_SOURCE - 1)[:PER_SOURCE]]
            picked.append(nonzero)
        cand = np.unique(np.concatenate(picked))
        position = {c: i for i, c in enumerate(cand.tolist())}
        relevant = np.zeros((len(queries), cand.size), bool)
        for row, (answers, _) in enumerate(queries):
            for item in answers.tolist():
                if item in position:
                    relevant[row, position[item]] = True
        scores = {}
        for name, vec in full.items():
            top = float(vec.max())
            scores[name] = vec[cand] / top if top > 0 else np.zeros(cand.size)
        own = models._indexes(request.product_ids)
        ranked = {name: by_rank(vec) for name, vec in scores.items()}
        out.append(Request(scores, ranked, relevant, prepared.trust, not bool(sold[own].any())))
    return out


def by_rank(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(scores.size)
    rank[order] = np.arange(scores.size)
    return np.where(scores > 0, (1 + RANK_K) / (1 + RANK_K + rank), 0.0)


def hit_rate(
    held: list[Request], mix: Mapping[str, float], ranked: bool = False, plan: bool = True
) -> float:
    """HR@K of a mix; plan: the rules' weight the anchor cannot use goes where serving sends
    it (engine.blend.plan_weights: plain confidence, else half content, half trending)."""
    hits = total = 0
    for req in held:
        weights = dict(mix)
        share = float(req.trust.get("rules", 0.0))
        if plan and weights.get("rules") and share < 1.0:
            lost = weights["rules"] * (1.0 - share)
            weights["rules"] -= lost
            if req.trust.get("confidence", 0.0) >= 1.0:
                weights["confidence"] = weights.get("confidence", 0.0) + lost
            else:
                weights["content"] = weights.get("content", 0.0) + lost / 2
                weights["trending"] = weights.get("trending", 0.0) + lost / 2
        if plan and weights.get("confidence") and req.trust.get("confidence", 0.0) < 1.0:
            lost = weights.pop("confidence")
            weights["content"] = weights.get("content", 0.0) + lost / 2
            weights["trending"] = weights.get("trending", 0.0) + lost / 2
        total_scores = FILL * req.scores["fill"]
        for name, weight in weights.items():
            total_scores = total_scores + weight * (req.ranked if ranked else req.scores)[name]
        top = np.argsort(-total_scores, kind="stable")[:K]
        top = top[total_scores[top] > 0]
        found = req.relevant[:, top].any(axis=1)
        hits += int(found.sum())
        total += found.size
    return hits / max(total, 1)


def best(held: list[Request], sources: tuple[str, ...], step: float, **how: bool) -> tuple:
    scored = [(hit_rate(held, mix, **how), mix) for mix in weight_grid(sources, step)]
    return max(scored, key=lambda pair: pair[0])


def show(mix: Mapping[str, float]) -> str:
    return ", ".join(f"{s} {w:.1f}" for s, w in mix.items())


def run(data: TrainingData, share: float) -> None:
    started = time.perf_counter()
    validation.HOLDOUT_SHARE = share
    moment = validation.holdout_moment(data)
    if moment is None:
        print(f"holdout {share:.0%}: too few orders")
        return
    items = build_item_space(data)
    features = item_features(data, items)
    content = fit_content(data, items, features=features)
    parts = split_at(data, moment, K)
    floor = validation._floors(data)[0]
    models = _fit_prefix(parts.train, floor, items, features, content)
    models = replace(models, rules=models.rules.soft_covered(0.5))
    held = requests(models, HeldOut.of(models.item_ids, parts.fbt), signals(models, parts.train))
    new = [r for r in held if r.new]
    n_queries = sum(r.relevant.shape[0] for r in held)
    print(
        f"\nholdout {share:.0%} of the orders, from {moment:%Y-%m-%d}: {len(held)} anchors, "
        f"{n_queries} cases ({sum(r.relevant.shape[0] for r in new)} with a new anchor); "
        f"support floor {floor}, soft cover 0.5"
    )
    base_hr, base_mix = best(held, BASE, 0.1)
    print(f"  {'sources the validation weighs':<34}HR@8 {base_hr:.4f}  ({show(base_mix)})")
    ranked_hr, ranked_mix = best(held, BASE, 0.1, ranked=True)
    print(f"  {'the same blended by rank':<34}HR@8 {ranked_hr:.4f}  ({show(ranked_mix)})")
    for name, refines in REPLACES.items():
        added_hr, added_mix = best(held, (*BASE, name), 0.2)
        swapped = tuple(name if s == refines else s for s in BASE)
        swap_hr, _ = best(held, swapped, 0.1)
        print(
            f"  + {name:<32}HR@8 {added_hr:.4f} added ({show(added_mix)}); "
            f"{swap_hr:.4f} instead of {refines}"
        )
    if new:
        served = hit_rate(new, base_mix)
        cold_sources = ("rules", "content", "popularity", "trending")
        cold_hr, cold_mix = best(new, cold_sources, 0.1, plan=False)
        print(
            f"  new anchors: {served:.4f} with the mix above as served; best mix of their own "
            f"{cold_hr:.4f} ({show(cold_mix)})"
        )
    print(f"  ({time.perf_counter() - started:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--shop", default="served")
    parser.add_argument("--holdout", type=float, nargs="+", default=[0.12, 0.30])
    args = parser.parse_args()
    data = load(args.data_dir, args.shop)
    print(f"{args.shop}: {len(data.purchases)} order lines, {len(data.products)} products")
    for share in args.holdout:
        run(data, share)
    holdouts = " ".join(str(h) for h in args.holdout)
    print(
        f"reproduce: PYTHONPATH=. python -P bench/fbt_signals.py {args.data_dir} "
        f"--shop {args.shop} --holdout {holdouts}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
