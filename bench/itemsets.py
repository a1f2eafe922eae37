"""Benchmark: frequent itemsets on UCI Online Retail baskets, shoprec vs mlxtend vs pyfim.

Run: .venv/bin/python -P bench/itemsets.py [--min-support 0.005] [--max-len N] [--repeat 3]
The baskets are built the way `shoprec train` sees them: the CSV goes through shoprec's
importer into a temporary store, then the training loader (engine.training_data). Times the
frequent-itemset step of mlxtend's fpgrowth (once: it is the slow one), of engine.itemsets
(best of --repeat, with and without building mlxtend's table) and of pyfim's C FP-growth
(best of --repeat) at the same absolute support count, and checks that all three find the
same itemsets. pyfim is optional (`pip install pyfim`, not a project dependency).
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import scipy.sparse as sp
from mlxtend.frequent_patterns import fpgrowth

from config import load_settings
from engine.itemsets import count_itemsets, frequent_itemsets, min_count_for
from engine.training_data import build_item_space, prepare_interactions
from storage.db import open_shop_db
from worker.imports import import_file
from worker.training import load_training_data

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2] / "shared/datasets/online_retail/online_retail.csv.gz"
)


def load_baskets(path: Path) -> sp.csr_matrix:
    """Order baskets (orders x items) of the file, through the importer and training loader."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({}, data_dir=Path(folder))
        db = open_shop_db(settings.data_dir, "bench")
        try:
            import_file(db, "orders", path)
        finally:
            db.close()
        data = load_training_data(settings, "bench")
    return prepare_interactions(data, build_item_space(data)).baskets


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest of `repeat` runs (seconds) and the last result: the machine is shared."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def sizes(itemsets: list[frozenset[int]] | pd.Series) -> dict[int, int]:
    """Number of itemsets per size."""
    return dict(sorted(Counter(len(s) for s in itemsets).items()))


def run_pyfim(baskets: sp.csr_matrix, min_count: int, max_len: int | None, repeat: int):
    """(seconds, itemsets) of pyfim's fpgrowth, or None when pyfim is not installed."""
    try:
        import fim  # type: ignore[import-not-found]
    except ImportError:
        return None
    ptr, idx = baskets.indptr, baskets.indices
    transactions = [idx[ptr[r] : ptr[r + 1]].tolist() for r in range(baskets.shape[0])]
    options = {"target": "s", "supp": -min_count, "zmin": 1, "report": "a"}
    if max_len:
        options["zmax"] = max_len
    seconds, found = best_of(repeat, lambda: fim.fpgrowth(transactions, **options))
    return seconds, {frozenset(items): count for items, count in found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--min-support", type=float, default=0.005)
    parser.add_argument("--max-len", type=int, default=None, help="largest itemset (all)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.file.is_file():
        sys.exit(f"{args.file} is absent: the shared datasets live beside the checkout")
    baskets = load_baskets(args.file)
    n = baskets.shape[0]
    min_count = min_count_for(args.min_support, n)
    out = sys.stdout
    out.write(
        f"{n} baskets x {baskets.shape[1]} items, {baskets.nnz} lines; min_support "
        f"{args.min_support} (= {min_count} baskets), max_len {args.max_len or 'all'}\n"
    )
    frame = pd.DataFrame.sparse.from_spmatrix(baskets.astype(bool))
    start = time.perf_counter()
    theirs = fpgrowth(frame, min_support=args.min_support, max_len=args.max_len)
    t_mlxtend = time.perf_counter() - start
    t_count, _ = best_of(args.repeat, lambda: count_itemsets(baskets, min_count, args.max_len))
    t_ours, ours = best_of(
        args.repeat, lambda: frequent_itemsets(baskets, args.min_support, args.max_len)
    )
    same = dict(zip(ours["itemsets"], ours["support"], strict=True)) == dict(
        zip(theirs["itemsets"], theirs["support"], strict=True)
    )
    out.write(f"  mlxtend fpgrowth        {t_mlxtend:8.3f} s  {sizes(theirs['itemsets'])}\n")
    out.write(
        f"  shoprec engine.itemsets {t_ours:8.3f} s  {sizes(ours['itemsets'])}  "
        f"(counting alone {t_count:.3f} s); same itemsets and supports as mlxtend: {same}\n"
    )
    pyfim = run_pyfim(baskets, min_count, args.max_len, args.repeat)
    if pyfim is None:
        out.write("  pyfim not installed (pip install pyfim to compare)\n")
    else:
        t_fim, found = pyfim
        same_fim = found == {
            s: round(v * n) for s, v in zip(ours["itemsets"], ours["support"], strict=True)
        }
        out.write(
            f"  pyfim fpgrowth (C)      {t_fim:8.3f} s  {sizes(list(found))}; same itemsets "
            f"and counts as shoprec: {same_fim}\n"
        )
        out.write(
            f"  shoprec / pyfim: {t_ours / t_fim:.1f}x (table built), "
            f"{t_count / t_fim:.1f}x (counting alone); mlxtend / shoprec: "
            f"{t_mlxtend / t_ours:.0f}x\n"
        )
    out.write(
        "reproduce: .venv/bin/python -P bench/itemsets.py"
        + (f" --min-support {args.min_support}" if args.min_support != 0.005 else "")
        + (f" --max-len {args.max_len}" if args.max_len else "")
        + "\n"
    )


if __name__ == "__main__":
    main()
