"""Benchmark: the per-request cost of the business rules (within the 2 ms median).

Run: nice -n 10 .venv/bin/python -P bench/rules.py [--runs 2000] [--requests 600]
(-P: bench/email.py would otherwise shadow the standard library's email package.)

1. engine.rules.apply_business_rules alone on synthetic pools of 50 and 200 candidates
   (20 categories, three price bands, margins, season tags, impressions), with every rule on
   (the defaults plus a pin, a promotion, a block, a purchase down-weight, session views and
   context filters) and with every rule off: p50/p99 per call.
2. The whole rules step of a served request (serving/rules.py, RulesStep.apply:
   settings, catalog facts, purchases, impressions, the rules) on a generated demo shop, for
   personal requests that no cache answers, next to the whole request: p50/p99.
3. What the rules cost in relevance (for_you should keep >= 90% of its NDCG@10): the
   evaluation of engine.evaluation (temporal split, the same queries and metrics) for the
   hybrid as the engine ranks it and after the default rules of each slot, on the demo shop
   (or --orders FILE, e.g. ../shared/datasets/online_retail/online_retail.csv.gz with
   --split 2011-09-01).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from config import load_settings
from demo.shop import DEFAULT_NOW, generate_demo_shop
from engine.base import Recommendation
from engine.evaluation import score_task, split_at
from engine.offline_rules import offline_rules, rules_answerer
from engine.rule_context import ItemFacts, RuleContext
from engine.rule_settings import Block, Pin, Promotion, RuleSettings, rule_settings_for
from engine.rules import apply_business_rules
from engine.shop_fit import fit_shop_models
from plugin.storefront.request_params import RecommendationParams
from serving.service import ExpiringSets, RecommendationService, build_service
from storage.db import open_shop_db
from storage.orders import popular_products
from worker.imports import import_file
from worker.training import load_training_data, train_shop

TODAY = date(2026, 6, 15)
OFF = RuleSettings(
    seasonal_exclusion=False,
    bought_category_days=0,
    session_viewed_factor=1.0,
    margin_weight=0.0,
    diversity=False,
    exploration=0.0,
    min_items=0,
)


def synthetic_pool(n: int) -> tuple[list[Recommendation], dict[str, ItemFacts], dict[str, int]]:
    """n candidates over 20 categories with prices, margins, dates, seasons and impressions."""
    rng = random.Random(n)
    recs = [Recommendation(f"p{i:04d}", float(n - i), "collaborative", "r") for i in range(n)]
    items = {
        r.product_id: ItemFacts(
            category=f"Home > C{i % 20}",
            price=rng.choice((9.0, 29.0, 99.0)) * rng.uniform(0.8, 1.2),
            margin=rng.uniform(0.1, 0.6),
            created_at=f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}",
            season_tags=("winter",) if i % 17 == 0 else (),
            vendor=f"V{i % 7}",
            tags=("sale",) if i % 5 == 0 else (),
        )
        for i, r in enumerate(recs)
    }
    items["anchor"] = ItemFacts(category="Home > C3", price=29.0)
    impressions = {r.product_id: rng.randint(0, 200) for r in recs}
    return recs, items, impressions


def time_calls(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds of `runs` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def bench_engine(runs: int) -> None:
    """apply_business_rules alone, all rules on vs all off, pools of 50 and 200."""
    print("apply_business_rules (engine only), limit 8:")
    print(f"  {'pool':>5} {'rules':<24} {'p50 ms':>8} {'p99 ms':>8}")
    for n in (50, 200):
        recs, items, impressions = synthetic_pool(n)
        ctx = RuleContext(
            "product",
            "also_viewed",
            TODAY,
            anchor_ids=("anchor",),
            anchor_categories=("Home > C3",),
            bought_categories={"Home > C5": date(2026, 6, 10)},
            session_viewed=frozenset({"p0003", "p0007"}),
            seed=42,
            impressions=impressions,
        )
        full = rule_settings_for(None, "product", "also_viewed")
        full = RuleSettings(
            **{
                **full.__dict__,
                "pins": (Pin("p0040", 2),),
                "promotions": (Promotion(0.2, tag="sale"),),
                "blocked_products": (Block("p0001"),),
            }
        )
        similar = rule_settings_for(None, "product", "similar")
        for label, settings in (("off", OFF), ("all on", full), ("similar (filters)", similar)):
            p50, p99 = time_calls(
                lambda r=recs, i=items, c=ctx, s=settings: apply_business_rules(r, i, c, s, 8),
                runs,
            )
            print(f"  {n:>5} {label:<24} {p50:>8.3f} {p99:>8.3f}")


def bench_service(requests: int) -> None:
    """The rules step of real, uncached personal requests on a generated, trained demo shop."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        db = open_shop_db(data_dir, "demo")
        generate_demo_shop(db, seed=7, n_customers=400, days=180)
        anchors = popular_products(db, limit=50)
        customers = [r[0] for r in db.execute("SELECT customer_id FROM customers LIMIT 100")]
        db.close()
        settings = load_settings({}, data_dir=data_dir)
        train_shop(settings, "demo")
        now = DEFAULT_NOW.replace(tzinfo=UTC)
        service = RecommendationService(
            settings,
            build_service(settings).model_cache,
            today=lambda: datetime.fromtimestamp(now.timestamp(), UTC),
            unavailable=ExpiringSets(5.0),
        )
        rules_ms: list[float] = []
        inner = service.rules.apply

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = inner(*args, **kwargs)
            rules_ms.append((time.perf_counter() - start) * 1000)
            return result

        service.rules.apply = timed  # type: ignore[method-assign]
        asks = [
            ("product", "frequently_bought_together"),
            ("product", "similar"),
            ("cart", "upgrade"),
            ("home", "for_you"),
            ("email", "for_you"),
        ]
        total_ms = []
        for i in range(requests):
            context, slot = asks[i % len(asks)]
            params = RecommendationParams(
                shop="demo",
                context=context,
                slot=slot,
                product_ids=(anchors[i % len(anchors)],) if context in ("product", "cart") else (),
                customer_id=customers[i % len(customers)],
                limit=8,
            )
            start = time.perf_counter()
            service.recommend(params)
            total_ms.append((time.perf_counter() - start) * 1000)
        warm = len(asks)  # the first round loads models and warms SQLite's page cache
        for label, values in (("rules step", rules_ms[warm:]), ("whole request", total_ms[warm:])):
            p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
            print(f"  {label:<14} p50 {p50:.3f} ms  p99 {p99:.3f} ms  ({len(values)} requests)")


def bench_relevance(orders: Path | None, split: str, k: int) -> None:
    """NDCG/HR@k of the hybrid before and after the default rules, on a temporal split."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        db = open_shop_db(data_dir, "demo")
        if orders is None:
            generate_demo_shop(db, seed=7, n_customers=1500, days=365)
        else:
            import_file(db, "orders", orders)
        db.close()
        data = load_training_data(load_settings({}, data_dir=data_dir), "demo")
    when = datetime.fromisoformat(split).replace(tzinfo=UTC)
    parts = split_at(data, when, k)
    models = fit_shop_models(parts.train)
    # The evaluation's own rules path (what `shoprec evaluate` reports as hybrid+rules).
    answer = rules_answerer(models, offline_rules(parts.train, when))
    print(f"relevance before/after rules, split {split}, K={k}:")
    for task, queries in (
        ("next_purchase (home/for_you)", parts.next_purchase),
        ("fbt", parts.fbt),
    ):
        plain = score_task(models, queries, k)
        after = score_task(models, queries, k, answer)
        kept = after["ndcg"] / plain["ndcg"] if plain["ndcg"] else 0.0
        print(
            f"  {task:<30} NDCG {plain['ndcg']:.4f} -> {after['ndcg']:.4f} ({kept:.0%} kept), "
            f"HR {plain['hr']:.3f} -> {after['hr']:.3f}, coverage {plain['coverage']:.2f} -> "
            f"{after['coverage']:.2f}, diversity {plain['diversity']:.2f} -> "
            f"{after['diversity']:.2f} ({int(plain['queries'])} queries)"
        )


def main(argv: list[str]) -> None:
    """Parse options, run both parts, print the figures and how to reproduce them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="calls per engine figure")
    parser.add_argument("--requests", type=int, default=600, help="served requests")
    parser.add_argument("--orders", type=Path, default=None, help="orders file (else demo)")
    parser.add_argument("--split", default="2026-09-01", help="evaluation split date")
    parser.add_argument("--k", type=int, default=10, help="list length for relevance")
    parser.add_argument(
        "--only", choices=("speed", "relevance"), default=None, help="run one part only"
    )
    args = parser.parse_args(argv)
    if args.only != "relevance":
        bench_engine(args.runs)
        print("served personal requests (no cache), demo shop, 5 contexts/slots, limit 8:")
        bench_service(args.requests)
    if args.only != "speed":
        bench_relevance(args.orders, args.split, args.k)
    print("reproduce: nice -n 10 .venv/bin/python -P bench/rules.py " + " ".join(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
