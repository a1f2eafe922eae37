"""Benchmark: training time, peak memory and serving latency on UCI Online Retail.

Run: .venv/bin/python bench/train.py [--requests 4000] [--file PATH]
Prints train wall time, per-model fit seconds and size, peak RSS, and p50/p99 latency of
ShopModels.recommend (product FBT, cart, home for_you) on the loaded (saved) models.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from engine.base import RecommendationRequest
from engine.shop_models import fit_shop_models, load_shop_models
from engine.training_data import TrainingData

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2] / "shared/datasets/online_retail/online_retail.csv.gz"
)
NON_PRODUCT = {
    "POST",
    "DOT",
    "M",
    "m",
    "BANK CHARGES",
    "C2",
    "AMAZONFEE",
    "D",
    "CRUK",
    "PADS",
    "B",
    "S",
}


def load_online_retail(path: Path) -> TrainingData:
    """Online Retail as TrainingData: purchases only (no returns, fees or postage)."""
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    df = df[~df["InvoiceNo"].str.startswith("C") & (df["Quantity"] > 0) & (df["UnitPrice"] > 0)]
    df = df[~df["StockCode"].isin(NON_PRODUCT) & ~df["StockCode"].str.startswith("gift_")]
    customer = df["CustomerID"].str.replace(r"\.0$", "", regex=True)
    created = pd.to_datetime(df["InvoiceDate"]).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    purchases = pd.DataFrame(
        {
            "order_id": df["InvoiceNo"],
            "customer_id": customer.where(customer.notna(), None),
            "product_id": df["StockCode"],
            "quantity": df["Quantity"],
            "unit_price": df["UnitPrice"],
            "created_at": created,
        }
    )
    named = df.groupby("StockCode").agg(
        title=("Description", "last"), price=("UnitPrice", "median")
    )
    products = pd.DataFrame(
        {
            "product_id": named.index,
            "title": named["title"].fillna("").values,
            "description": "",
            "category": "",
            "tags": "",
            "vendor": "",
            "price": named["price"].values,
        }
    )
    events = pd.DataFrame(columns=["ts", "customer_id", "session_id", "type", "product_id"])
    now = datetime.fromisoformat(purchases["created_at"].max()).astimezone(UTC)
    return TrainingData(products, purchases, events, now)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    start = time.perf_counter()
    data = load_online_retail(args.file)
    loaded = time.perf_counter()
    models = fit_shop_models(data)
    trained = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        written = models.save(Path(folder))
        served = load_shop_models(Path(folder))
    requests = _requests(served, args.requests)
    for request in requests[:100]:  # warm caches
        served.recommend(request)
    latency = []
    for request in requests:
        t = time.perf_counter()
        served.recommend(request)
        latency.append((time.perf_counter() - t) * 1000)
    lat = np.asarray(latency)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = sys.stdout
    out.write(
        f"data: {len(data.products)} products, {len(data.purchases)} purchase lines "
        f"(load {loaded - start:.1f} s)\n"
    )
    out.write(
        f"train wall time: {trained - loaded:.1f} s; peak RSS {rss_mb:.0f} MB; "
        f"artifacts {sum(written.values()) / 2**20:.1f} MB\n"
    )
    for m in models.describe():
        out.write(
            f"  {m.name:<14}{m.fit_seconds:>7.2f} s {m.size_bytes / 2**20:>8.1f} MB  "
            f"trusted={m.trusted}  {m.why}\n"
        )
    out.write(
        f"serve ({len(requests)} requests: product FBT, cart, home for_you; limit 10): "
        f"p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms\n"
    )
    out.write("reproduce: .venv/bin/python bench/train.py\n")


if __name__ == "__main__":
    main()
