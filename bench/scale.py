"""Benchmark: training time and peak memory of a generated large shop, by number of orders.

Run: .venv/bin/python -P bench/scale.py                 # 10k, 100k and 1M orders (minutes)
     .venv/bin/python -P bench/scale.py --orders 100000  # one size
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
Each size runs in a fresh process: a generator writes the shop straight into its SQLite store
(executemany in batches, secondary indexes built after the load, like a bulk import), then
`train_shop` (what `shoprec train` runs) trains it, with every model's fit wrapped to record
its wall time and the peak RSS reached while it ran (sampled every 20 ms from /proc).

The shop is shaped like a real one: 100,000 products in categories of Zipf-distributed size,
product popularity Zipf within and across categories, baskets of 1-12 items (about 5 lines
per order) mostly drawn from one category, repeat customers (Zipf order counts, each with a
favourite category), 20% guest orders, two years of timestamps, and storefront view
sessions (one view per order on average).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import engine.shop_fit as shop_fit
import worker.training as training
from config import load_settings
from storage.db import open_shop_db

SHOP = "scale"
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 730
BATCH_ORDERS = 50_000
WORDS = (
    "cotton linen wool silk denim leather canvas velvet bamboo ceramic glass steel oak walnut "
    "classic modern vintage rustic minimal bold soft slim large small round square striped "
    "floral plain knit woven printed red blue green black white grey pink navy olive cream "
    "shirt dress skirt jacket coat scarf hat bag wallet belt mug bowl plate lamp vase candle "
    "cushion throw rug towel sheet pillow frame clock mirror shelf basket tray jar bottle"
).split()
SIZE_PMF = np.exp(-np.arange(1, 13) / 9.0)  # basket sizes 1..12: ~5.0 distinct items per order


def _zipf_index(
    rng: np.random.Generator, n: int | np.ndarray, size: int, skew: float
) -> np.ndarray:
    """Indexes in [0, n), index 0 most likely (a power law: floor(n * u^skew)); n may vary."""
    return np.minimum((n * rng.random(size) ** skew).astype(np.int64), np.asarray(n) - 1)


def _iso(seconds: np.ndarray) -> list[str]:
    base = np.datetime64(START.replace(tzinfo=None), "s")
    stamps = (base + seconds.astype("timedelta64[s]")).astype(str)
    return [s + "+00:00" for s in stamps.tolist()]


class ShopGenerator:
    """A synthetic shop's catalog, customers, orders and views, generated in batches."""

    def __init__(self, products: int, orders: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.n_products, self.n_orders = products, orders
        self.n_categories = max(2, products // 500)
        self.n_customers = max(10, orders // 5)
        rng = self.rng
        # Category sizes and popularities are both Zipf; products are laid out by category.
        weights = 1.0 / np.arange(1, self.n_categories + 1) ** 0.9
        sizes = np.maximum(1, np.floor(weights / weights.sum() * products)).astype(np.int64)
        sizes[0] += products - sizes.sum()
        self.category_of = np.repeat(np.arange(self.n_categories), sizes)
        self.category_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.category_size = sizes
        self.category_pop = rng.permutation(weights / weights.sum())
        self.global_rank = rng.permutation(products)  # global best sellers, any category
        self.prices = np.round(np.exp(rng.normal(3.0, 0.8, products)), 2)
        self.favourite = rng.choice(self.n_categories, self.n_customers, p=self.category_pop)

    def products(self) -> list[tuple[Any, ...]]:
        """Rows for the products table: text from a vocabulary of ~3,000 made-up words."""
        rng, n = self.rng, self.n_products
        syllables = np.asarray(["ka", "lo", "mi", "ren", "to", "sa", "vel", "ni", "dor", "ba"])
        made_up = {"".join(rng.choice(syllables, rng.integers(2, 4))) for _ in range(6000)}
        vocab = np.asarray(sorted(made_up) + WORDS)
        # Each category has its own words, so titles within a category share vocabulary.
        category_words = rng.integers(0, vocab.size, (self.n_categories, 12))
        category_names = [" ".join(vocab[w[:2]]) for w in category_words]
        vendors = vocab[rng.integers(0, vocab.size, 400)]
        now = START.isoformat()
        rows = []
        for i in range(n):
            c = self.category_of[i]
            own = vocab[category_words[c][rng.integers(2, 12, 3)]]
            free = vocab[rng.integers(0, vocab.size, 3)]
            title = f"{own[0]} {free[0]} {own[1]} {free[1]}"
            desc = f"<p>A {own[2]} {free[2]} from the {category_names[c]} range.</p>"
            rows.append(
                (
                    f"P{i:06d}",
                    title,
                    desc,
                    category_names[c],
                    f"{own[0]}|{free[2]}",
                    str(vendors[i % vendors.size]),
                    float(self.prices[i]),
                    now,
                )
            )
        return rows

    def order_batches(self) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """(orders rows, order_lines rows) per batch of BATCH_ORDERS orders."""
        for start in range(0, self.n_orders, BATCH_ORDERS):
            yield self._batch(start, min(start + BATCH_ORDERS, self.n_orders))

    def _batch(self, lo: int, hi: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        rng, n = self.rng, hi - lo
        customer = _zipf_index(rng, self.n_customers, n, 2.0)
        guest = rng.random(n) < 0.2
        category = np.where(
            rng.random(n) < 0.6,
            self.favourite[customer],
            rng.choice(self.n_categories, n, p=self.category_pop),
        )
        seconds = np.sort(rng.integers(0, DAYS * 86400, n)) if n else np.zeros(0, np.int64)
        size = rng.choice(np.arange(1, 13), n, p=SIZE_PMF / SIZE_PMF.sum())
        order = np.repeat(np.arange(n), size)
        line_cat = category[order]
        in_category = rng.random(order.size) < 0.75
        rank = _zipf_index(rng, self.category_size[line_cat], order.size, 2.5)
        from_cat = self.category_start[line_cat] + rank
        popular = self.global_rank[_zipf_index(rng, self.n_products, order.size, 3.0)]
        product = np.where(in_category, from_cat, popular)
        key = np.unique(order.astype(np.int64) * self.n_products + product)
        order, product = key // self.n_products, key % self.n_products
        stamps = _iso(seconds)
        order_ids = [f"O{lo + i:08d}" for i in range(n)]
        customer_ids = [None if g else f"C{c:07d}" for g, c in zip(guest, customer, strict=True)]
        orders = [
            (order_ids[i], customer_ids[i], stamps[i], "paid", "", "bench", stamps[i])
            for i in range(n)
        ]
        quantity = rng.integers(1, 4, order.size)
        lines = [
            (
                order_ids[o],
                f"P{p:06d}#1",
                f"P{p:06d}",
                customer_ids[o],
                stamps[o],
                int(q),
                float(self.prices[p]),
            )
            for o, p, q in zip(order.tolist(), product.tolist(), quantity.tolist(), strict=True)
        ]
        return orders, lines

    def view_rows(self) -> Iterator[list[tuple[Any, ...]]]:
        """Events rows (views in sessions of 1-8 products of one category), in batches."""
        rng = self.rng
        sessions = max(1, self.n_orders // 4)
        for lo in range(0, sessions, BATCH_ORDERS):
            n = min(BATCH_ORDERS, sessions - lo)
            customer = _zipf_index(rng, self.n_customers, n, 2.0)
            known = rng.random(n) < 0.5
            category = self.favourite[customer]
            length = rng.integers(1, 9, n)
            session = np.repeat(np.arange(n), length)
            cat = category[session]
            rank = _zipf_index(rng, self.category_size[cat], session.size, 2.0)
            product = self.category_start[cat] + rank
            seconds = rng.integers(0, DAYS * 86400, n)[session] + np.arange(session.size) % 600
            stamps = _iso(seconds)
            yield [
                (
                    f"v{lo}-{j}",
                    stamps[j],
                    f"C{customer[s]:07d}" if known[s] else None,
                    f"S{lo + s:08d}",
                    "view",
                    f"P{p:06d}",
                )
                for j, (s, p) in enumerate(zip(session.tolist(), product.tolist(), strict=True))
            ]


def write_shop(data_dir: Path, products: int, orders: int) -> dict[str, float]:
    """Generate the shop into a fresh store; returns row counts and seconds."""
    start = time.perf_counter()
    gen = ShopGenerator(products, orders)
    db = open_shop_db(data_dir, SHOP)
    conn = db.conn
    # A bulk load: indexes are built once at the end instead of per row, as a DBA would.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('products', 'orders', 'order_lines', 'events')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("PRAGMA synchronous = OFF")
    counts = {"products": products, "orders": orders, "lines": 0, "views": 0}
    with conn:
        conn.executemany(
            "INSERT INTO products (product_id, title, description, category, tags, vendor, "
            "price, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            gen.products(),
        )
    for order_rows, line_rows in gen.order_batches():
        with conn:
            conn.executemany(
                "INSERT INTO orders (order_id, customer_id, created_at, status, country, source, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                order_rows,
            )
            conn.executemany(
                "INSERT INTO order_lines (order_id, line_key, product_id, customer_id, "
                "created_at, quantity, unit_price) VALUES (?, ?, ?, ?, ?, ?, ?)",
                line_rows,
            )
        counts["lines"] += len(line_rows)
    for view_rows in gen.view_rows():
        with conn:
            conn.executemany(
                "INSERT INTO events (event_key, ts, customer_id, session_id, type, product_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                view_rows,
            )
        counts["views"] += len(view_rows)
    with conn:
        for _, sql in indexes:
            conn.execute(sql)
    db.close()
    counts["seconds"] = time.perf_counter() - start
    return counts


class RssSampler:
    """Peak resident memory of nested phases, sampled from /proc/self/statm by a thread."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self._active: list[dict[str, float]] = []
        self._lock = threading.Lock()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()

    @staticmethod
    def rss_mb() -> float:
        """Resident memory of this process now, in MB."""
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 2**20

    def _sample(self) -> None:
        rss = self.rss_mb()
        with self._lock:
            for result in self._active:
                result["peak_mb"] = max(result["peak_mb"], rss)

    def _run(self) -> None:
        while True:
            self._sample()
            time.sleep(self.period_s)

    @contextmanager
    def phase(self) -> Iterator[dict[str, float]]:
        """Measure one phase: the yielded dict holds 'seconds', 'cpu_s', 'peak_mb' on exit.

        CPU seconds (all threads) are printed beside wall seconds because the machine may be
        shared: wall time then includes waiting for a core, CPU time does not.
        """
        result = {"peak_mb": self.rss_mb()}
        with self._lock:
            self._active.append(result)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield result
        finally:
            self._sample()
            result["seconds"] = time.perf_counter() - start
            result["cpu_s"] = time.process_time() - cpu
            with self._lock:
                self._active.remove(result)


def _instrument(sampler: RssSampler, phases: dict[str, dict[str, float]]) -> None:
    """Wrap the loader and every fit function train_shop calls, recording each one's phase."""

    def wrap(module: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with sampler.phase() as result:
                value = inner(*args, **kwargs)
            phases[label] = result
            return value

        setattr(module, name, timed)

    wrap(training, "load_training_data", "load from SQLite")
    # The fitting functions as engine.shop_fit calls them (the last call of each is kept:
    # the full fit, after validation's fits on the older orders).
    wrap(shop_fit, "prepare_interactions", "prepare matrices")
    for name, label in (
        ("item_features", "content features"),
        ("fit_content", "content"),
        ("start_embedding_content_model", "content (embeddings started)"),
        ("validate_shop", "validation"),
        ("fit_popularity", "popularity"),
        ("fit_collaborative", "collaborative"),
        ("fit_association", "rules"),
        ("fit_taste", "taste"),
    ):
        wrap(shop_fit, name, label)


def run_one(products: int, orders: int) -> dict[str, Any]:
    """Generate and train one size in this process; the figures as a dict."""
    with tempfile.TemporaryDirectory(prefix="shoprec-scale-") as folder:
        settings = load_settings({}, data_dir=Path(folder))
        written = write_shop(settings.data_dir, products, orders)
        sampler = RssSampler()
        phases: dict[str, dict[str, float]] = {}
        _instrument(sampler, phases)
        base_mb = sampler.rss_mb()
        with sampler.phase() as total:
            report = training.train_shop(settings, SHOP)
    return {
        "written": written,
        "base_mb": base_mb,
        "phases": phases,
        "total": total,
        "artifacts_mb": sum(report.files.values()) / 2**20,
        "models": [(m.name, m.trusted, m.why) for m in report.models],
    }


def print_one(products: int, orders: int, result: dict[str, Any]) -> None:
    """One size's figures, human-readable."""
    w, out = result["written"], sys.stdout
    out.write(
        f"\n== {orders:,} orders: {w['products']:,} products, {w['lines']:,} lines, "
        f"{w['views']:,} views (generated and written in {w['seconds']:.0f} s)\n"
    )
    out.write(f"  {'phase':<18}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}\n")
    for name, phase in result["phases"].items():
        out.write(
            f"  {name:<18}{phase['seconds']:>9.1f}{phase['cpu_s']:>9.1f}{phase['peak_mb']:>13.0f}\n"
        )
    total = result["total"]
    out.write(
        f"  {'train_shop total':<18}{total['seconds']:>9.1f}{total['cpu_s']:>9.1f}"
        f"{total['peak_mb']:>13.0f}   "
        f"(RSS before training {result['base_mb']:.0f} MB; artifacts "
        f"{result['artifacts_mb']:.0f} MB)\n"
    )
    for name, trusted, why in result["models"]:
        out.write(f"  {name}: trusted={trusted}; {why}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, action="append", help="one size (repeatable)")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    sizes = args.orders or [10_000, 100_000, 1_000_000]
    if args.json:
        json.dump(run_one(args.products, sizes[0]), sys.stdout)
        return
    rows = []
    for orders in sizes:
        # A fresh process per size: peak RSS then belongs to that size alone.
        child = subprocess.run(
            [sys.executable, "-P", __file__, "--json", "--orders", str(orders)]
            + ["--products", str(args.products)],
            capture_output=True,
            text=True,
        )
        if child.returncode:
            sys.exit(f"{orders} orders failed:\n{child.stderr}")
        result = json.loads(child.stdout)
        print_one(args.products, orders, result)
        rows.append((orders, result))
        sys.stdout.flush()
    sys.stdout.write("\ngrowth: orders -> train wall seconds, CPU seconds, peak RSS MB\n")
    for orders, result in rows:
        t = result["total"]
        sys.stdout.write(
            f"  {orders:>9,}  {t['seconds']:8.1f} s  {t['cpu_s']:8.1f} s  {t['peak_mb']:8.0f} MB\n"
        )
    flags = " ".join(f"--orders {o}" for o in args.orders or [])
    sys.stdout.write(f"reproduce: .venv/bin/python -P bench/scale.py {flags}".rstrip() + "\n")


if __name__ == "__main__":
    main()
