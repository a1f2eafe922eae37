"""Benchmark: offline relevance of a generated demo shop, and of the same shop with SKU titles.

Run: PYTHONPATH=. .venv/bin/python -P bench/demo_relevance.py [--seed 7] [--customers 2000]
     [--split 2026-08-01] [--k 8]
Generates the demo shop (generate_demo_shop, 365 days to 2026-11-01) into a temporary store
and evaluates it at the split (engine.evaluation, what `shoprec evaluate` runs); then
rewrites its catalog so every title is an SKU code and nothing else describes a product (no
description, tags, vendor or category: a catalog exported by an ERP) and evaluates again.
Prints FBT HR@K / coverage and for_you NDCG@K per strategy, and the weights training chose
per slot on each (content should get 0 on the SKU catalog, its titles say nothing).
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from config import load_settings
from demo.shop import generate_demo_shop
from engine.evaluation import evaluate_split
from engine.holdout import split_at
from engine.shop_fit import fit_shop_models
from storage.catalog import read_products_frame, upsert_products
from storage.db import open_shop_db
from worker.training import load_training_data, validation_lines

SHOP = "demo"


def sku_catalog(db) -> int:  # type: ignore[no-untyped-def]
    """Every product's title becomes an SKU code; its other text is cleared."""
    products = read_products_frame(db)
    rows = []
    for number, row in enumerate(products.to_dict("records")):
        row.update(
            title=f"SKU-{40_000 + 7 * number:06d}",
            description="",
            tags="",
            vendor="",
            category="",
        )
        rows.append(row)
    return upsert_products(db, rows)


def report(data_dir: Path, split: datetime, k: int, label: str) -> None:
    """Evaluate the shop at the split and print the figures and the chosen weights."""
    data = load_training_data(load_settings({}, data_dir=data_dir), SHOP)
    results = evaluate_split(data, split, k, with_rules=False)
    print(f"\n{label}: split {split.date()}, K={k}")
    print(f"{'strategy':<12}{'FBT HR':>9}{'coverage':>10}{'for_you NDCG':>14}{'coverage':>10}")
    for name, fbt in results["fbt"].items():
        nxt = results["next_purchase"][name]
        print(
            f"{name:<12}{fbt['hr']:>9.3f}{fbt['coverage']:>10.3f}"
            f"{nxt['ndcg']:>14.3f}{nxt['coverage']:>10.3f}"
        )
    chosen = fit_shop_models(split_at(data, split, k).train)
    print("\n".join(validation_lines(chosen.validation)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--split", default="2026-08-01")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--only-sku", action="store_true", help="Skip the named catalog.")
    args = parser.parse_args()
    split = datetime.strptime(args.split, "%Y-%m-%d").replace(tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="demo-relevance-") as tmp:
        data_dir = Path(tmp)
        db = open_shop_db(data_dir, SHOP)
        try:
            generate_demo_shop(db, seed=args.seed, n_customers=args.customers)
            if not args.only_sku:
                report(data_dir, split, args.k, f"demo shop seed {args.seed}, {args.customers}")
            sku_catalog(db)
        finally:
            db.close()
        report(data_dir, split, args.k, "the same shop, titles are SKU codes, no other text")
    print(
        f"\nreproduce: PYTHONPATH=. python -P bench/demo_relevance.py --seed {args.seed} "
        f"--customers {args.customers} --split {args.split} --k {args.k}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
