"""Benchmark: training time, peak memory and serving latency on UCI Online Retail.

Run: .venv/bin/python -P bench/train.py [--requests 4000] [--file PATH]
Imports the file into a temporary store with shoprec's own importer, then times
`train_shop` (what `shoprec train` runs: load from SQLite, fit, save atomically) and prints
per-model fit seconds and size, peak RSS, and p50/p99 latency (product FBT, cart, home
for_you) of two in-process paths on the saved-and-loaded models:
- the storefront's: RecommendationService.recommend, as the API and widget call it (models,
  then the shop's business rules over the pool, with stock, dismissals, recent purchases and
  display fields read from SQLite), with the answer cache off so every request computes;
- the blended list through the default business rules with the catalog's facts and recent
  purchases held in memory (engine.offline_rules.rules_answerer): the engine's own cost of
  "a blended, rule-filtered list", without the store reads of the storefront path;
- the engine's blended list alone: ShopModels.recommend.
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from config import load_settings
from engine.base import RecommendationRequest
from engine.offline_rules import offline_rules, rules_answerer
from engine.shop_artifacts import load_shop_models
from plugin.storefront.request_params import RecommendationParams
from serving.model_cache import ModelCache
from serving.service import RecommendationService
from storage.db import open_shop_db
from worker.imports import import_file
from worker.training import load_training_data, models_dir, train_shop

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2] / "shared/datasets/online_retail/online_retail.csv.gz"
)
SHOP = "bench"


def import_online_retail(data_dir: Path, path: Path) -> float:
    """Import the file into a fresh store through the real importer; return seconds."""
    start = time.perf_counter()
    db = open_shop_db(data_dir, SHOP)
    try:
        import_file(db, "orders", path)
    finally:
        db.close()
    return time.perf_counter() - start


def _requests(models, n: int) -> list[RecommendationRequest]:
    rng = np.random.default_rng(0)
    items = models.item_ids[rng.integers(0, models.item_ids.size, n)]
    customers = models.taste.customer_ids[rng.integers(0, models.taste.customer_ids.size, n)]
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(
                RecommendationRequest(
                    "product", "frequently_bought_together", product_ids=(str(items[i]),), limit=10
                )
            )
        elif kind == 1:
            out.append(
                RecommendationRequest(
                    "cart",
                    "complete_the_look",
                    limit=10,
                    product_ids=(str(items[i]), str(items[i - 1])),
                )
            )
        else:
            out.append(
                RecommendationRequest("home", "for_you", customer_id=str(customers[i]), limit=10)
            )
    return out


def _params(requests: list[RecommendationRequest]) -> list[RecommendationParams]:
    """The same asks as the storefront API receives them."""
    return [
        RecommendationParams(
            shop=SHOP,
            context=r.context,
            slot=r.slot,
            product_ids=r.product_ids,
            customer_id=r.customer_id,
            limit=r.limit,
        )
        for r in requests
    ]


def latency_ms(call: Callable[[Any], Any], asks: list[Any]) -> np.ndarray:
    """Milliseconds per call over asks, after 100 warm-up calls."""
    for ask in asks[:100]:
        call(ask)
    out = []
    for ask in asks:
        start = time.perf_counter()
        call(ask)
        out.append((time.perf_counter() - start) * 1000)
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    if not args.file.is_file():
        sys.exit(f"{args.file} is absent: the shared datasets live beside the checkout")
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({}, data_dir=Path(folder))
        imported = import_online_retail(settings.data_dir, args.file)
        report = train_shop(settings, SHOP)  # the code path of `shoprec train`
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        served = load_shop_models(models_dir(settings, SHOP))
        requests = _requests(served, args.requests)
        engine_lat = latency_ms(served.recommend, requests)
        # The blended list through the default business rules, with catalog facts and recent
        # purchases in memory (engine.offline_rules: what `shoprec evaluate` scores).
        data = load_training_data(settings, SHOP)
        ruled_lat = latency_ms(
            rules_answerer(served, offline_rules(data, data.now, current_state=True)), requests
        )
        cache = ModelCache(lambda shop: models_dir(settings, shop), load_shop_models)
        service = RecommendationService(settings, cache, serving_cache=None)
        service_lat = latency_ms(service.recommend, _params(requests))
    out = sys.stdout
    out.write(
        f"data: {report.products} products, {report.purchase_lines} purchase lines "
        f"(imported with shoprec's importer in {imported:.1f} s, not counted below)\n"
    )
    out.write(
        f"train (load from SQLite + fit + save) wall time: {report.seconds:.1f} s; "
        f"peak RSS of the process after training (import included) {rss_mb:.0f} MB; "
        f"artifacts {sum(report.files.values()) / 2**20:.1f} MB\n"
    )
    for m in report.models:
        out.write(
            f"  {m.name:<14}{m.fit_seconds:>7.2f} s {m.size_bytes / 2**20:>8.1f} MB  "
            f"trusted={m.trusted}  {m.why}\n"
        )
    for label, lat in (
        (
            "storefront service (models + business rules + catalog reads, no answer cache)",
            service_lat,
        ),
        ("engine blend + business rules, facts in memory (no store reads)", ruled_lat),
        ("engine blend alone (ShopModels.recommend)", engine_lat),
    ):
        out.write(
            f"serve in-process, {label}: {len(requests)} requests (product FBT, cart, home "
            f"for_you; limit 10): p50 {np.percentile(lat, 50):.2f} ms, "
            f"p99 {np.percentile(lat, 99):.2f} ms\n"
        )
    out.write("reproduce: .venv/bin/python -P bench/train.py\n")


if __name__ == "__main__":
    main()
