"""Benchmark: training time and peak memory of a generated large shop, by size, with the local
engine (`shoprec train`) and the Spark engine (`shoprec train --engine spark`), and whether
the two engines' models serve the same lists.

Run: .venv/bin/python -P bench/scale.py                  # 10k, 100k, 1M orders, both engines
     .venv/bin/python -P bench/scale.py --lines 1000000  # one size in order lines (~5 per order)
     .venv/bin/python -P bench/scale.py --orders 100000 --products 300000 --engine local
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
--engine local|spark|both (default both); --products N (default 100,000); --orders and
--lines repeat for several sizes; --timeout S stops any one step after S seconds. The Spark
engine runs on SHOPREC_SPARK_MASTER (default local[2]) and needs pyspark and Java 17.

Each step runs in a fresh process, so a peak belongs to that step alone: a generator writes
the shop straight into a SQLite store (executemany in batches, secondary indexes built after
the load, like a bulk import); then `train_shop` trains it with each engine in turn, every
model's fit (and each Spark step: session start, Parquet export, the job's pairs and content
steps, the job in total) wrapped to record its wall time, the Python process's CPU time and
peak RSS, and the peak RSS of the JVM below it and of the whole process tree (sampled every
20 ms from /proc); with both engines, a last process loads both model folders and asks each
for every slot's top 10 anchored on 200 sampled products, each with one of 200 sampled
customers.

Printed per size: the rows generated; per engine a table of steps (wall s, CPU s, peak RSS
of Python, JVM and tree in MB), the train_shop total, the artifacts' size and each model's
trust line; then "equal lists: N/M" (lists whose product ids are the same, in order, with
the mean overlap and the slots that differ); at the end one line per engine and size and
the command that reproduces the run.

The shop is shaped like a real one: 100,000 products in categories of Zipf-distributed size,
product popularity Zipf within and across categories, baskets of 1-12 items (about 5 lines
per order) mostly drawn from one category, repeat customers (Zipf order counts, each with a
favourite category), 20% guest orders, two years of timestamps, and storefront view
sessions (one view per order on average).
"""

from __future__ import annotations

import argparse
import json
import os
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
from engine.base import CONTEXT_SLOTS, RecommendationRequest
from engine.shop_artifacts import load_shop_models
from storage.db import models_dir, open_shop_db
from worker.training import ENGINES

SHOP = "scale"
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 730
BATCH_ORDERS = 50_000
LINES_PER_ORDER = 5.015  # distinct order lines per generated order, measured at 20k orders
COMPARE_SAMPLE = 200  # anchor products and customers per slot in the engines' comparison
CHILD_MODES = ("generate", "train", "compare")
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


def _statm_mb(pid: int | str) -> float:
    """Resident memory of one process now, in MB (0 when it has just exited)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children of any of its threads, recursively)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(c) for c in children.read().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def _is_java(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip() == "java"
    except OSError:
        return False


class RssSampler:
    """Peak resident memory of nested phases, sampled from /proc by a thread.

    Three figures per phase: this process (the Python driver), the java processes below it
    (Spark's JVM in local mode: driver and executors in one), and the whole process tree at
    one instant (Python, JVM, Spark's Python workers, and the sentence-embedding process
    content training starts beside it, which runs under both engines).
    """

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self._active: list[dict[str, float]] = []
        self._lock = threading.Lock()
        self._java: set[int] = set()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()

    @staticmethod
    def rss_mb() -> float:
        """Resident memory of this process now, in MB."""
        return _statm_mb("self")

    def _sample(self) -> None:
        own = self.rss_mb()
        java = rest = 0.0
        for pid in _descendants(os.getpid()):
            if pid not in self._java and _is_java(pid):
                self._java.add(pid)
            if pid in self._java:
                java += _statm_mb(pid)
            else:
                rest += _statm_mb(pid)
        with self._lock:
            for result in self._active:
                result["peak_mb"] = max(result["peak_mb"], own)
                result["jvm_peak_mb"] = max(result["jvm_peak_mb"], java)
                result["tree_peak_mb"] = max(result["tree_peak_mb"], own + java + rest)

    def _run(self) -> None:
        while True:
            self._sample()
            time.sleep(self.period_s)

    @contextmanager
    def phase(self) -> Iterator[dict[str, float]]:
        """Measure one phase: the yielded dict holds 'seconds', 'cpu_s', 'peak_mb',
        'jvm_peak_mb' and 'tree_peak_mb' on exit.

        CPU seconds (this process's threads; not the JVM's) are printed beside wall seconds
        because the machine may be shared: wall time then includes waiting for a core, CPU
        time does not.
        """
        now = self.rss_mb()
        result = {"peak_mb": now, "jvm_peak_mb": 0.0, "tree_peak_mb": now}
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
    """Wrap the loader, every fit function and the Spark steps train_shop calls, recording
    each one's phase (a step one engine does not call is not printed for it)."""

    def wrap(module: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with sampler.phase() as result:
                value = inner(*args, **kwargs)
            phases[label] = result
            return value

        setattr(module, name, timed)

    wrap(training, "load_training_data", "load from SQLite")
    wrap(training, "fit_shop_models", "fit models")
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
    try:
        import spark_engine.job as job
        import spark_engine.session as session
        import worker.spark_training as spark_training
    except ImportError:  # no pyspark: the local engine alone can run
        return
    # fit_on_spark imports spark_session and run_job when called, so patching their modules
    # is enough; the job's own steps are module globals of spark_engine.job. Popularity and
    # the Gram matrix are lazy frames written inside run_job: they are the job's remainder.
    wrap(session, "spark_session", "spark: start session")
    wrap(spark_training, "export_for_spark", "spark: export Parquet")
    wrap(job, "run_job", "spark: job total")
    wrap(job, "training_data_from_export", "  job: read export")
    wrap(job, "write_tables", "  job: pairs tables")
    wrap(job, "content_neighbours", "  job: content")
    wrap(spark_training, "fit_shop_models", "fit models")
    wrap(spark_training, "fit_on_spark", "spark: all (to fitted models)")


def _assembly(phases: dict[str, dict[str, float]]) -> None:
    """The Spark engine's step between the job and the fit (reading its tables back onto the
    item space), which has no function of its own to wrap: its wall time is what the whole
    engine took less its other steps; its peak is the engine's when no other step reached it.
    """
    whole = phases.get("spark: all (to fitted models)")
    if whole is None:
        return
    steps = ("spark: start session", "spark: export Parquet", "spark: job total", "fit models")
    known = [phases[s] for s in steps if s in phases]
    seconds = whole["seconds"] - sum(p["seconds"] for p in known)
    peak = max((p["peak_mb"] for p in known), default=0.0)
    note = "" if whole["peak_mb"] <= peak else f"   (the engine's peak, {whole['peak_mb']:.0f} MB)"
    phases["spark: assemble tables (rest)"] = {"seconds": seconds, "note": note}


def train_one(data_dir: Path, engine: str) -> dict[str, Any]:
    """Train the generated shop in `data_dir` with one engine in this process."""
    settings = load_settings({}, data_dir=data_dir)
    sampler = RssSampler()
    phases: dict[str, dict[str, float]] = {}
    _instrument(sampler, phases)
    base_mb = sampler.rss_mb()
    with sampler.phase() as total:
        report = training.train_shop(settings, SHOP, engine=engine)
    _assembly(phases)
    phases["save artifacts"] = {"seconds": report.save_seconds}
    return {
        "engine": engine,
        "base_mb": base_mb,
        "phases": phases,
        "total": total,
        "artifacts_mb": sum(report.files.values()) / 2**20,
        "models": [(m.name, m.trusted, m.why) for m in report.models],
    }


def compare(first: Path, second: Path, n: int = COMPARE_SAMPLE) -> dict[str, Any]:
    """Served lists of two trained model folders, request by request: every slot of every
    context, top 10, anchored on each of `n` sampled products with one of `n` sampled
    customers. A list is equal when its product ids are, in order."""
    a, b = load_shop_models(first), load_shop_models(second)
    rng = np.random.default_rng(1)
    items = a.item_ids
    anchors = [str(p) for p in rng.choice(items, min(n, items.size), replace=False)]
    known = a.taste.customer_ids
    customers = [str(c) for c in rng.choice(known, min(n, known.size), replace=False)]
    customers += [None] * (len(anchors) - len(customers))
    asked = equal = 0
    overlap = 0.0
    differ: dict[str, int] = {}
    start = time.perf_counter()
    for context, slots in CONTEXT_SLOTS.items():
        for slot in slots:
            for anchor, customer in zip(anchors, customers, strict=True):
                request = RecommendationRequest(
                    context, slot, product_ids=(anchor,), customer_id=customer, limit=10
                )
                mine = [r.product_id for r in a.recommend(request)]
                theirs = [r.product_id for r in b.recommend(request)]
                asked += 1
                if mine == theirs:
                    equal += 1
                else:
                    differ[slot] = differ.get(slot, 0) + 1
                shared = len(set(mine) & set(theirs))
                overlap += shared / max(len(mine), len(theirs)) if mine or theirs else 1.0
    return {
        "asked": asked,
        "equal": equal,
        "overlap": overlap / max(asked, 1),
        "differ": differ,
        "seconds": time.perf_counter() - start,
    }


def _child(args: list[str], timeout: float | None) -> dict[str, Any]:
    """Run this script in a fresh process with `args`; its JSON answer."""
    child = subprocess.run(
        [sys.executable, "-P", __file__, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if child.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{child.stderr[-4000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def print_generated(orders: int, written: dict[str, float]) -> None:
    """The generated shop's size."""
    sys.stdout.write(
        f"\n== {orders:,} orders: {written['products']:,} products, {written['lines']:,} "
        f"lines, {written['views']:,} views (generated and written in "
        f"{written['seconds']:.0f} s)\n"
    )


def print_one(result: dict[str, Any]) -> None:
    """One engine's figures for one size, human-readable."""
    out = sys.stdout
    out.write(f"  -- engine {result['engine']}\n")
    head = (
        f"  {'phase':<30}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'JVM MB':>9}{'tree MB':>9}\n"
    )
    out.write(head)
    for name, phase in result["phases"].items():
        if "cpu_s" not in phase:
            out.write(f"  {name:<30}{phase['seconds']:>9.1f}{phase.get('note', '')}\n")
            continue
        jvm = f"{phase['jvm_peak_mb']:>9.0f}{phase['tree_peak_mb']:>9.0f}"
        out.write(
            f"  {name:<30}{phase['seconds']:>9.1f}{phase['cpu_s']:>9.1f}"
            f"{phase['peak_mb']:>13.0f}{jvm}\n"
        )
    t = result["total"]
    out.write(
        f"  {'train_shop total':<30}{t['seconds']:>9.1f}{t['cpu_s']:>9.1f}"
        f"{t['peak_mb']:>13.0f}{t['jvm_peak_mb']:>9.0f}{t['tree_peak_mb']:>9.0f}\n"
        f"  (RSS before training {result['base_mb']:.0f} MB; artifacts "
        f"{result['artifacts_mb']:.0f} MB; CPU s is the Python process's only)\n"
    )
    for name, trusted, why in result["models"]:
        out.write(f"  {name}: trusted={trusted}; {why}\n")


def run_size(
    orders: int, products: int, engines: list[str], timeout: float | None
) -> dict[str, Any]:
    """Generate one size, train it with each engine and compare: each in a fresh process,
    so a peak RSS belongs to that step alone. Every model folder is kept apart for the
    comparison (a second training would replace the first's)."""
    row: dict[str, Any] = {"orders": orders, "products": products, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="shoprec-scale-") as folder:
        data = Path(folder)
        written = _child(
            ["--child", "generate", "--data-dir", folder, "--orders", str(orders)]
            + ["--products", str(products)],
            timeout,
        )
        row["written"] = written
        print_generated(orders, written)
        sys.stdout.flush()
        kept: dict[str, Path] = {}
        for engine in engines:
            try:
                result = _child(
                    ["--child", "train", "--data-dir", folder, "--engine", engine], timeout
                )
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                sys.stdout.write(f"  -- engine {engine} FAILED: {exc}\n")
                row["runs"][engine] = {"failed": str(exc)[:300]}
                continue
            row["runs"][engine] = result
            print_one(result)
            trained = models_dir(load_settings({}, data_dir=data), SHOP)
            kept[engine] = trained.rename(trained.with_name(f"models-{engine}"))
            sys.stdout.flush()
        if len(kept) == 2:
            same = _child(
                ["--child", "compare", "--data-dir", folder] + [str(kept[e]) for e in ENGINES],
                timeout,
            )
            row["compare"] = same
            sys.stdout.write(
                f"  equal lists: {same['equal']}/{same['asked']} (local vs spark, top 10, "
                f"every slot x {COMPARE_SAMPLE} products and customers; mean overlap "
                f"{same['overlap']:.3f}; differing per slot: {same['differ'] or 'none'})\n"
            )
    return row


def _child_main(args: argparse.Namespace) -> None:
    data = Path(args.data_dir)
    if args.child == "generate":
        settings = load_settings({}, data_dir=data)
        answer: dict[str, Any] = write_shop(settings.data_dir, args.products, args.orders[0])
    elif args.child == "train":
        answer = train_one(data, args.engine)
    else:
        answer = compare(Path(args.models[0]), Path(args.models[1]))
    sys.stdout.write("\n" + json.dumps(answer) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, action="append", help="one size (repeatable)")
    parser.add_argument(
        "--lines",
        type=int,
        action="append",
        help=f"one size in order lines (~{LINES_PER_ORDER} per order)",
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--engine", choices=(*ENGINES, "both"), default="both")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per step")
    parser.add_argument("--child", choices=CHILD_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("models", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(args)
        return
    sizes = list(args.orders or [])
    sizes += [max(1, round(n / LINES_PER_ORDER)) for n in args.lines or []]
    sizes = sizes or [10_000, 100_000, 1_000_000]
    engines = list(ENGINES) if args.engine == "both" else [args.engine]
    rows = [run_size(orders, args.products, engines, args.timeout) for orders in sizes]
    sys.stdout.write(
        "\ngrowth: engine, orders, lines, products -> train wall s, peak RSS MB "
        "(Python; JVM; tree), equal lists\n"
    )
    for row in rows:
        same = row.get("compare")
        equality = f"{same['equal']}/{same['asked']}" if same else "-"
        for engine, run in row["runs"].items():
            head = (
                f"  {engine:<6}{row['orders']:>11,}{row['written']['lines']:>12,}"
                f"{row['products']:>9,}"
            )
            if "failed" in run:
                sys.stdout.write(f"{head}  failed\n")
                continue
            t = run["total"]
            sys.stdout.write(
                f"{head}{t['seconds']:>9.1f} s{t['peak_mb']:>8.0f}{t['jvm_peak_mb']:>8.0f}"
                f"{t['tree_peak_mb']:>8.0f} MB  {equality}\n"
            )
    flags = [f"--orders {o}" for o in args.orders or []]
    flags += [f"--lines {n}" for n in args.lines or []]
    if args.products != 100_000:
        flags.append(f"--products {args.products}")
    if args.engine != "both":
        flags.append(f"--engine {args.engine}")
    sys.stdout.write(
        "reproduce: SHOPREC_SPARK_MASTER=local[2] .venv/bin/python -P bench/scale.py "
        + " ".join(flags)
        + "\n"
    )


if __name__ == "__main__":
    main()
