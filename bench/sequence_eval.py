"""Benchmark: the sequence model against EASE on UCI Online Retail, and what validation gives it.

Run: PYTHONPATH=. .venv/bin/python -P bench/sequence_eval.py [--split 2011-09-01] [--file PATH]
Imports the file into a temporary store with shoprec's own importer, cuts it at the split
(engine.holdout.split_at, as `shoprec evaluate` does), fits every model on the orders before
it (the sequence model too, wherever validation puts it) and prints, on the for_you
next-purchase cases after the split: NDCG@10, HR@10 and coverage of taste (EASE) alone, the
sequence model alone, and the hybrid as served with the weights the shop's own validation
chose; then the validation's line on the sequence model (its weight, its NDCG@10 alone on
the shop's newest orders, and why when 0) and the sequence model's fit time.
Needs the `embeddings` extra (PyTorch). (-P: bench/ is not put on sys.path.)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from config import load_settings
from engine.evaluation import score_task
from engine.holdout import split_at
from engine.shop_fit import fit_shop_models
from storage.db import open_shop_db
from worker.imports import import_file
from worker.training import load_training_data

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2] / "shared/datasets/online_retail/online_retail.csv.gz"
)
SHOP = "bench"
K = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--split", default="2011-09-01")
    args = parser.parse_args()
    if not args.file.is_file():
        sys.exit(f"{args.file} is absent: the shared datasets live beside the checkout")
    split = datetime.fromisoformat(args.split).replace(tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({}, data_dir=Path(folder))
        db = open_shop_db(settings.data_dir, SHOP)
        try:
            import_file(db, "orders", args.file)
        finally:
            db.close()
        data = load_training_data(settings, SHOP)
    parts = split_at(data, split, K)
    start = time.perf_counter()
    models = fit_shop_models(parts.train, fit_all=True)
    seconds = time.perf_counter() - start
    out = sys.stdout
    out.write(f"Online Retail split {args.split}: {len(parts.next_purchase)} for_you cases\n")
    for name, weights in (("taste (EASE)", "taste"), ("sequence", "sequence"), ("hybrid", None)):
        variant = (
            models
            if weights is None
            else models.with_weights({"home": {weights: 1.0}}, adaptive=False)
        )
        m = score_task(variant, parts.next_purchase, K)
        out.write(
            f"  {name:14s} NDCG@{K} {m['ndcg']:.4f}  HR@{K} {m['hr']:.4f}  "
            f"coverage {m['coverage']:.4f}\n"
        )
    report = models.validation.get("home/for_you", {})
    out.write(f"validation's for_you weights: {json.dumps(report.get('weights'))}\n")
    out.write(f"validation on the sequence model: {json.dumps(report.get('sequence'))}\n")
    summary = {s.name: s for s in models.describe()}["sequence"]
    out.write(f"sequence model: {summary.why} ({summary.fit_seconds:.1f}s full fit)\n")
    out.write(f"fit_shop_models: {seconds:.1f}s\n")


if __name__ == "__main__":
    main()
