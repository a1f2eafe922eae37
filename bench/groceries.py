"""Benchmark: frequently bought together on the Groceries basket data set (9,835 baskets).

Run: PYTHONPATH=. .venv/bin/python -P bench/groceries.py [--file PATH] [--k 8] [--data-dir DIR]
Reads ../shared/datasets/groceries/groceries.csv (one basket per line, items comma-separated,
no header) at run time and skips with a message when it is absent. Each basket becomes a
guest order, 30 minutes after the previous one, so the 80% point falls on a midnight: the
split date. Products are written with their name as title (what a grocery shop shows). The
files go through the `shoprec` CLI (import products, import orders, train, evaluate), so the
figures are what an operator gets: FBT HR@K and coverage per strategy, the weights training
chose and its validation table. (-P: bench/ is not put on sys.path.)
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

# ../shared/datasets beside the checkout (a worktree one level deeper looks one more up).
CANDIDATES = [
    Path(__file__).resolve().parents[up] / "shared/datasets/groceries/groceries.csv"
    for up in (2, 3)
]
DEFAULT_FILE = next((p for p in CANDIDATES if p.exists()), CANDIDATES[0])
SPLIT = datetime(2026, 7, 1, tzinfo=UTC)
GAP = timedelta(minutes=30)
SHOP = "groceries"


def write_canonical(source: Path, folder: Path) -> tuple[Path, Path, int]:
    """products.csv and orders.csv in the canonical layout; returns (products, orders, n)."""
    with source.open(newline="") as handle:
        baskets = [[i.strip() for i in row if i.strip()] for row in csv.reader(handle)]
    baskets = [b for b in baskets if b]
    start = SPLIT - GAP * int(len(baskets) * 0.8)
    orders = folder / "orders.csv"
    names: set[str] = set()
    with orders.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["order_id", "customer_id", "created_at", "product_id", "quantity", "unit_price"]
        )
        for number, basket in enumerate(baskets):
            stamp = (start + GAP * number).strftime("%Y-%m-%dT%H:%M:%SZ")
            for item in dict.fromkeys(basket):
                names.add(item)
                out.writerow([f"g{number:05d}", "", stamp, item, 1, "1.00"])
    products = folder / "products.csv"
    with products.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["product_id", "title", "price"])
        for item in sorted(names):
            out.writerow([item, item, "1.00"])
    return products, orders, len(baskets)


def shoprec(data_dir: Path, *args: str) -> str:
    """Run one `shoprec` command in a child process; its stdout."""
    command = [
        sys.executable,
        "-c",
        "from plugin.cli.main import main; main()",
        "--data-dir",
        str(data_dir),
        "--shop",
        SHOP,
    ]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    if not args.file.exists():
        print(f"skipped: {args.file} is absent (the Groceries data set is not shipped)")
        return 0
    with tempfile.TemporaryDirectory(prefix="groceries-") as tmp:
        folder = Path(tmp)
        data_dir = args.data_dir or folder / "data"
        products, orders, n = write_canonical(args.file, folder)
        shoprec(data_dir, "import", "products", str(products))
        shoprec(data_dir, "import", "orders", str(orders))
        print(f"{n} baskets imported as guest orders 30 minutes apart; split {SPLIT.date()}")
        print(shoprec(data_dir, "train"))
        report = json.loads(
            shoprec(
                data_dir,
                "evaluate",
                "--split-date",
                str(SPLIT.date()),
                "--k",
                str(args.k),
                "--json",
            )
        )
    fbt = report["tasks"]["fbt"]
    queries = int(next(iter(fbt.values()))["queries"])
    print(f"frequently bought together, K={args.k}: {queries} queries")
    print(f"{'strategy':<14}{'HR@' + str(args.k):>10}{'coverage':>10}")
    for name in ("confidence", "popularity", "rules", "content", "hybrid"):
        if name in fbt:
            print(f"{name:<14}{fbt[name]['hr']:>10.3f}{fbt[name]['coverage']:>10.3f}")
    print(
        f"reproduce: PYTHONPATH=. python -P bench/groceries.py --k {args.k} "
        f"(evaluate took {report['seconds']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
