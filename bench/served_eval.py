"""Benchmark: relevance of the lists the storefront API serves, measured from outside.

Run: PYTHONPATH=. .venv/bin/python -P bench/served_eval.py DATASET [--split YYYY-MM-DD]
     [--keep DIR] [--workers 2] [--replay [--step day|week]]
DATASET: groceries | online_retail | demo | demo_sku (the demo shop with SKU-code titles).
A black box: nothing of engine/ is imported. The data set's orders before the split (and
events, and the catalog as it stood then) are written as canonical CSV files, imported with
`shoprec import`, trained with `shoprec train`, and served by `shoprec serve` (gunicorn) on a
free port. Then every held-out case asks GET /api/v1/recommendations as the widget does:
- product page: context=product, frequently_bought_together, the anchor, limit 8 (the
  product context's list length), no shopper (a shared, cached answer);
- home page: context=home, for_you, limit 12, the shopper's signed customer_token (made
  with the shop's identity secret, `shoprec identity secret`) and `exclude` = what the
  shopper bought before the split (the widget sends at most 100: the most recent).
Cases and metrics are those of bench/groceries.py and `shoprec evaluate`: each item of each
held-out order with 2+ distinct items is an FBT case (a hit: another item of the order in
the first 8); each shopper with history who buys something new after the split is a for_you
case (NDCG@10 over those new items). Coverage: the share of the catalog shown in any list.
Timestamps are moved by whole days so the split falls on today (UTC midnight): the server
runs on the wall clock, so the shop is served as it would have been the day after training.

--replay: what a shop running shoprec serves, not a model trained once. The held-out period
is walked in time order, a day (or --step week) at a time: that step's cases are asked first
(the same cases, requests and K as above; a for_you case on the day of the shopper's first
order after the split, when their history is still the pre-split one), then that step's order
lines are delivered as a shop's nightly export would be (`shoprec import orders`, plus
`shoprec import products` for products created in it), then `shoprec train --if-due` retrains
when the retrain schedule (the worker's own decision) says so. The server keeps running
throughout, so live popularity, recent pairs and each retrain reach the answers as they
would in a shop. The wall clock does not move with the replay: the schedule's age rule
(nightly) never fires, only its growth and product-set rules, so retrains here are fewer than
a shop with a worker gets; and live popularity refreshes a shop's counts at most every 30 s,
so a step shorter than that may serve the previous step's counts (recent pairs are read at
once). Held-out orders are dated after the wall clock's today (the split falls on today, as
above); live popularity treats them as bought now.
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import hmac
import json
import math
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/datasets beside the checkout (a worktree one level deeper looks one more up).
_CANDIDATES = [ROOT.parents[up] / "shared/datasets" for up in (0, 1)]
DATASETS = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
SHOP = "served"
FBT_K, HOME_LIMIT, NDCG_K = 8, 12, 10
MAX_EXCLUDE = 100  # what the storefront API accepts in `exclude`
PRODUCT_CODE = re.compile(r"\d{5}[A-Z]*")
DEFAULT_SPLITS = {
    "groceries": "2026-07-01",
    "online_retail": "2011-09-01",
    "demo": "2026-08-01",
    "demo_sku": "2026-08-01",
}


@dataclass
class Shop:
    """A data set in canonical rows: products, order lines (paid only) and events."""

    products: list[dict[str, str]]
    lines: list[dict[str, str]]  # order_id, customer_id, created_at, product_id, qty, price
    events: list[dict[str, str]] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def groceries(split: datetime) -> Shop:
    """Each basket a guest order, 30 minutes after the previous; 80% of them before the split
    (exactly as bench/groceries.py writes them)."""
    source = DATASETS / "groceries/groceries.csv"
    with source.open(newline="") as handle:
        baskets = [[i.strip() for i in row if i.strip()] for row in csv.reader(handle)]
    baskets = [b for b in baskets if b]
    gap = timedelta(minutes=30)
    start = split - gap * int(len(baskets) * 0.8)
    lines, names = [], set()
    for number, basket in enumerate(baskets):
        stamp = _iso(start + gap * number)
        for item in dict.fromkeys(basket):
            names.add(item)
            lines.append(_line(f"g{number:05d}", "", stamp, item, "1", "1.00"))
    products = [{"product_id": n, "title": n, "price": "1.00"} for n in sorted(names)]
    return Shop(products, lines)


def _line(order: str, customer: str, stamp: str, product: str, qty: str, price: str) -> dict:
    return {
        "order_id": order,
        "customer_id": customer,
        "created_at": stamp,
        "product_id": product,
        "quantity": qty,
        "unit_price": price,
    }


def online_retail(split: datetime) -> Shop:
    """UCI Online Retail read as its importer reads it: product stock codes only, no
    cancellations, no zero-price or negative lines; title and price the latest seen."""
    source = DATASETS / "online_retail/online_retail.csv.gz"
    lines, latest = [], {}
    with gzip.open(source, "rt", newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            code = row["StockCode"].strip().upper()
            invoice = row["InvoiceNo"].strip()
            if not PRODUCT_CODE.fullmatch(code) or invoice[:1] in "Cc":
                continue
            qty, price = int(float(row["Quantity"])), float(row["UnitPrice"])
            if qty <= 0 or price <= 0:
                continue
            stamp = _iso(datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M:%S"))
            customer = row["CustomerID"].strip().removesuffix(".0")
            lines.append(_line(invoice, customer, stamp, code, str(qty), f"{price:.2f}"))
            title = row["Description"].strip()
            if code not in latest or stamp >= latest[code][0]:
                latest[code] = (stamp, title or latest.get(code, ("", code))[1], price)
    products = [
        {"product_id": c, "title": t or c, "price": f"{p:.2f}"} for c, (_, t, p) in latest.items()
    ]
    return Shop(products, lines)


def demo(split: datetime, sku: bool = False) -> Shop:
    """The generated demo shop (seed 7, 2,000 customers, a year to 2026-11-01), read from the
    store the generator writes; sku: every title an SKU code and no other text."""
    from demo.shop import generate_demo_shop
    from storage.db import open_shop_db  # the generator writes a store: the data source here

    with tempfile.TemporaryDirectory(prefix="served-demo-") as tmp:
        db = open_shop_db(Path(tmp), "demo")
        generate_demo_shop(db, seed=7, n_customers=2000, now=datetime(2026, 11, 1, tzinfo=UTC))
        db.close()
        con = sqlite3.connect(next(Path(tmp).rglob("*.db")))
        con.row_factory = sqlite3.Row
        products = [dict(r) for r in con.execute("select * from products order by product_id")]
        lines = [
            _line(
                r["order_id"],
                r["customer_id"] or "",
                r["created_at"],
                r["product_id"],
                str(r["quantity"]),
                str(r["unit_price"]),
            )
            for r in con.execute(
                "select l.* from order_lines l join orders o using (order_id) "
                "where o.status != 'cancelled' and l.quantity > 0"
            )
        ]
        events = [
            {k: r[k] or "" for k in ("ts", "customer_id", "session_id", "type", "product_id")}
            for r in con.execute("select * from events")
        ]
        con.close()
    columns = ("product_id", "title", "description", "category", "tags", "vendor", "price")
    rows = []
    for number, p in enumerate(products):
        row = {k: "" if p.get(k) is None else str(p[k]) for k in (*columns, "created_at")}
        if sku:
            row.update(title=f"SKU-{40_000 + 7 * number:06d}", description="", tags="")
            row.update(vendor="", category="")
        rows.append(row)
    return Shop(rows, lines, events)


def load(name: str, split: datetime) -> Shop:
    if name == "groceries":
        return groceries(split)
    if name == "online_retail":
        return online_retail(split)
    if name in ("demo", "demo_sku"):
        return demo(split, sku=name == "demo_sku")
    raise SystemExit(f"unknown data set {name!r}: one of {sorted(DEFAULT_SPLITS)}")


@dataclass(frozen=True)
class Cases:
    """Held-out cases: FBT (anchor -> other items of each later order) and for_you
    (customer -> (past purchases newest first, new items bought after the split))."""

    fbt: list[tuple[str, frozenset[str]]]
    for_you: list[tuple[str, list[str], frozenset[str]]]
    # Per FBT case (same order): the month of its order, and whether its anchor sold before
    # the split (a product first sold after it has no pairs of its own when served).
    fbt_month: list[str] = field(default_factory=list)
    fbt_sold: list[bool] = field(default_factory=list)
    # The day (YYYY-MM-DD, before any shift) of each FBT case's order, and of each for_you
    # case's first order after the split: when --replay asks it.
    fbt_day: list[str] = field(default_factory=list)
    for_you_day: list[str] = field(default_factory=list)


def split_cases(shop: Shop, split: datetime) -> tuple[Shop, Cases]:
    """The shop as it stood at the split, and the cases of what came after."""
    cut = _iso(split)
    before = [r for r in shop.lines if _stamp(r["created_at"]) < cut]
    after = [r for r in shop.lines if _stamp(r["created_at"]) >= cut]
    orders: dict[str, set[str]] = {}
    order_day: dict[str, str] = {}
    for r in after:
        orders.setdefault(r["order_id"], set()).add(r["product_id"])
        order_day.setdefault(r["order_id"], _stamp(r["created_at"])[:10])
    keys = [
        (order, anchor)
        for order, items in sorted(orders.items())
        if len(items) >= 2
        for anchor in sorted(items)
    ]
    fbt = [(anchor, frozenset(orders[order]) - {anchor}) for order, anchor in keys]
    sold = {r["product_id"] for r in before}
    past: dict[str, dict[str, str]] = {}
    for r in before:
        if r["customer_id"]:
            bought = past.setdefault(r["customer_id"], {})
            bought[r["product_id"]] = max(bought.get(r["product_id"], ""), r["created_at"])
    later: dict[str, set[str]] = {}
    first_day: dict[str, str] = {}
    for r in after:
        if r["customer_id"]:
            later.setdefault(r["customer_id"], set()).add(r["product_id"])
            day = _stamp(r["created_at"])[:10]
            first_day[r["customer_id"]] = min(first_day.get(r["customer_id"], day), day)
    for_you, for_you_day = [], []
    for customer in sorted(set(past) & set(later)):
        new = frozenset(later[customer] - set(past[customer]))
        if new:
            history = sorted(past[customer], key=lambda p: past[customer][p], reverse=True)
            for_you.append((customer, history, new))
            for_you_day.append(first_day[customer])
    catalog = [p for p in shop.products if not p.get("created_at") or p["created_at"] < cut]
    events = [e for e in shop.events if _stamp(e["ts"]) < cut]
    fbt_day = [order_day[order] for order, _ in keys]
    fbt_sold = [anchor in sold for _, anchor in keys]
    fbt_month = [day[:7] for day in fbt_day]
    cases = Cases(fbt, for_you, fbt_month, fbt_sold, fbt_day, for_you_day)
    return Shop(catalog, before, events), cases


def _stamp(text: str) -> str:
    """An ISO timestamp comparable as text with _iso's (naive ones are UTC)."""
    return _iso(_parse(text)) if not text.endswith("Z") else text


HEADERS = {
    "orders": list(_line("", "", "", "", "", "")),
    "events": ["ts", "customer_id", "session_id", "type", "product_id"],
}
STAMPS = {"products": "created_at", "orders": "created_at", "events": "ts"}


def write_table(folder: Path, name: str, rows: list[dict[str, str]], shift: timedelta) -> Path:
    """`name`.csv (products, orders or events) in the canonical layout, moved by shift."""
    stamp = STAMPS[name]
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as handle:
        out = csv.DictWriter(handle, HEADERS.get(name) or list(rows[0]), extrasaction="ignore")
        out.writeheader()
        for row in rows:
            moved = _iso(_parse(row[stamp]) + shift) if row.get(stamp) else ""
            out.writerow({**row, stamp: moved})
    return path


def write_csvs(shop: Shop, folder: Path, shift: timedelta) -> dict[str, Path]:
    """products.csv, orders.csv (and events.csv) in the canonical layout, moved by shift."""
    tables = {"products": shop.products, "orders": shop.lines, "events": shop.events}
    return {name: write_table(folder, name, rows, shift) for name, rows in tables.items() if rows}


def shoprec(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """One `shoprec` command in a child process; its stdout."""
    command = [sys.executable, "-c", "from plugin.cli import main; main()"]
    command += ["--data-dir", str(data_dir), "--shop", SHOP, *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"shoprec {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def token(secret: str, customer: str, ttl: int = 3600) -> str:
    """A v1 customer_token (plugin/shopper_tokens.py's format, made as a shop's server
    would: three lines in any language)."""
    expiry = int(time.time()) + ttl
    encoded = base64.urlsafe_b64encode(customer.encode()).decode().rstrip("=")
    mac = hmac.new(secret.encode(), f"{SHOP}\n{customer}\n{expiry}".encode(), hashlib.sha256)
    return f"v1.{encoded}.{expiry}.{mac.hexdigest()}"


class Server:
    """`shoprec serve` on a free port, stopped on exit."""

    def __init__(self, data_dir: Path, workers: int, env: dict[str, str]) -> None:
        self.port = free_port()
        command = [sys.executable, "-c", "from plugin.cli import main; main()"]
        command += ["--data-dir", str(data_dir), "serve", "--port", str(self.port)]
        command += ["--workers", str(workers)]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit("shoprec serve exited before answering") from None
                time.sleep(0.1)
        raise SystemExit("shoprec serve did not answer /healthz in 60 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def ask(self, params: list[tuple[str, str]]) -> list[str]:
        query = urllib.parse.urlencode([("shop", SHOP), *params])
        url = f"{self.base}/api/v1/recommendations?{query}"
        for attempt in range(5):
            try:
                with urllib.request.urlopen(url, timeout=60) as answer:
                    return [i["product_id"] for i in json.load(answer)["items"]]
            except urllib.error.HTTPError as exc:
                if exc.code != 429 or attempt == 4:
                    raise
                time.sleep(1.0)
        return []


def served_lists(
    server: Server, requests: dict[str, list[tuple[str, str]]], threads: int = 4
) -> dict[str, list[str]]:
    keys = list(requests)
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(lambda k: server.ask(requests[k]), keys))
    return dict(zip(keys, answers, strict=True))


def score(
    cases: Iterator[tuple[str, frozenset[str]]], lists: dict[str, list[str]], k: int, n: int
) -> dict[str, float]:
    """HR@k, NDCG@k, coverage (of n catalog items) and the number of cases."""
    discount = [1.0 / math.log2(pos + 2) for pos in range(k)]
    hr = ndcg = 0.0
    count = 0
    shown: set[str] = set()
    for key, relevant in cases:
        ranked = lists[key][:k]
        shown.update(ranked)
        hits = [pos for pos, item in enumerate(ranked) if item in relevant]
        hr += 1.0 if hits else 0.0
        ndcg += sum(discount[p] for p in hits) / sum(discount[: min(len(relevant), k)])
        count += 1
    return {
        "hr": hr / max(count, 1),
        "ndcg": ndcg / max(count, 1),
        "coverage": len(shown) / max(n, 1),
        "cases": float(count),
    }


def per_case(ranked: list[str], relevant: frozenset[str], k: int) -> tuple[float, float]:
    """(hit, NDCG@k) of one list."""
    hits = [pos for pos, item in enumerate(ranked[:k]) if item in relevant]
    ideal = sum(1.0 / math.log2(p + 2) for p in range(min(len(relevant), k)))
    return float(bool(hits)), sum(1.0 / math.log2(p + 2) for p in hits) / ideal


def print_breakdown(
    cases: Cases, fbt_keys: list[str], home_keys: list[str], lists: dict[str, list[str]]
) -> None:
    """FBT HR@8 per month of the held-out orders and per kind of anchor, and for_you NDCG@10
    per month of the shopper's first order after the split: where hits are lost (a list
    trained once drifts as the season moves; new products have no pairs)."""
    groups: dict[str, list[float]] = {}
    for (_, relevant), key, month, sold in zip(
        cases.fbt, fbt_keys, cases.fbt_month, cases.fbt_sold, strict=True
    ):
        hit, _ = per_case(lists[key], relevant, FBT_K)
        for name in (month, "anchor sold before the split" if sold else "anchor new after it"):
            tally = groups.setdefault(name, [0, 0.0])
            tally[0] += 1
            tally[1] += hit
    if groups:
        print(f"{'product FBT by':<34}{'cases':>7}{'HR':>8}")
        for name in sorted(groups, key=lambda k: (not k[:1].isdigit(), k)):
            count, hits = groups[name]
            print(f"  {name:<32}{int(count):>7}{hits / count:>8.4f}")
    months: dict[str, list[float]] = {}
    for (_, _, new), key, day in zip(cases.for_you, home_keys, cases.for_you_day, strict=True):
        _, gain = per_case(lists[key], new, NDCG_K)
        tally = months.setdefault(day[:7], [0, 0.0])
        tally[0] += 1
        tally[1] += gain
    if months:
        print(f"{'home for_you by first order in':<34}{'cases':>7}{'NDCG':>8}")
        for name in sorted(months):
            count, gain = months[name]
            print(f"  {name:<32}{int(count):>7}{gain / count:>8.4f}")


def fbt_request(anchor: str) -> list[tuple[str, str]]:
    """A product page's frequently-bought-together request, as the widget sends it."""
    return [
        ("context", "product"),
        ("slot", "frequently_bought_together"),
        ("product_id", anchor),
        ("limit", str(FBT_K)),
    ]


def home_request(secret: str, customer: str, history: list[str]) -> list[tuple[str, str]]:
    """A signed-in shopper's home for_you request, their purchases as `exclude`."""
    return [
        ("context", "home"),
        ("slot", "for_you"),
        ("limit", str(HOME_LIMIT)),
        ("customer_token", token(secret, customer)),
        *(("exclude", p) for p in history[:MAX_EXCLUDE]),
    ]


def step_of(day: str, split: datetime, step: str) -> str:
    """The replay step a day (YYYY-MM-DD) falls in: itself, or the first day of its week
    counted from the split."""
    if step == "day":
        return day
    offset = (datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC) - split).days
    return (split + timedelta(days=7 * (offset // 7))).strftime("%Y-%m-%d")


@dataclass
class Replay:
    """What a replay asked and did: lists per case key, and the retrains the schedule ran."""

    fbt_keys: list[str]
    home_keys: list[str]
    lists: dict[str, list[str]]
    retrains: list[str]
    steps: int
    requests: int
    train_s: float


def replay(
    server: Server,
    data_dir: Path,
    env: dict[str, str],
    full: Shop,
    cases: Cases,
    secret: str,
    split: datetime,
    shift: timedelta,
    step: str,
    folder: Path,
) -> Replay:
    """Walk the held-out period step by step: ask that step's cases, deliver its orders
    (`shoprec import orders`) and new products, then `shoprec train --if-due`."""
    cut = _iso(split)
    after = [r for r in full.lines if _stamp(r["created_at"]) >= cut]
    fbt_keys = [
        f"f|{step_of(day, split, step)}|{anchor}"
        for (anchor, _), day in zip(cases.fbt, cases.fbt_day, strict=True)
    ]
    home_keys = [
        f"h|{step_of(day, split, step)}|{customer}"
        for (customer, _, _), day in zip(cases.for_you, cases.for_you_day, strict=True)
    ]
    home_by_key = {key: home for key, home in zip(home_keys, cases.for_you, strict=True)}
    lines: dict[str, list[dict[str, str]]] = {}
    for r in after:
        lines.setdefault(step_of(_stamp(r["created_at"])[:10], split, step), []).append(r)
    products: dict[str, list[dict[str, str]]] = {}
    for p in full.products:
        if p.get("created_at") and _stamp(p["created_at"]) >= cut:
            products.setdefault(step_of(_stamp(p["created_at"])[:10], split, step), []).append(p)
    due: dict[str, dict[str, None]] = {}  # step -> its case keys, in order, once each
    for key in (*fbt_keys, *home_keys):
        due.setdefault(key.split("|")[1], {})[key] = None
    scored: dict[str, list[tuple[str, frozenset[str], int]]] = {}  # step -> its cases
    for key, (_, relevant) in zip(fbt_keys, cases.fbt, strict=True):
        scored.setdefault(key.split("|")[1], []).append((key, relevant, FBT_K))
    for key, (_, _, new) in zip(home_keys, cases.for_you, strict=True):
        scored.setdefault(key.split("|")[1], []).append((key, new, NDCG_K))
    running = {FBT_K: [0, 0.0], NDCG_K: [0, 0.0]}  # so far: cases, hits (FBT) / NDCG sum
    steps = sorted({*lines, *products, *due})
    lists: dict[str, list[str]] = {}
    retrains: list[str] = []
    requests = 0
    train_s = 0.0
    for number, current in enumerate(steps):
        keys = due.get(current, {})
        asked = {k: fbt_request(k.split("|", 2)[2]) for k in keys if k.startswith("f|")}
        for key in keys:
            if key in home_by_key:
                customer, history, _ = home_by_key[key]
                asked[key] = home_request(secret, customer, history)
        lists.update(served_lists(server, asked))
        requests += len(asked)
        for key, relevant, k in scored.get(current, []):
            hit, gain = per_case(lists[key], relevant, k)
            running[k][0] += 1
            running[k][1] += hit if k == FBT_K else gain
        delivered = Shop(products.get(current, []), lines.get(current, []))
        if delivered.products:
            path = write_table(folder, "products", delivered.products, shift)
            shoprec(data_dir, "import", "products", str(path), env=env)
        if delivered.lines:
            path = write_table(folder, "orders", delivered.lines, shift)
            shoprec(data_dir, "import", "orders", str(path), env=env)
        t0 = time.perf_counter()
        answer = shoprec(data_dir, "train", "--if-due", env=env)
        verdict = answer.splitlines()[0] if answer else ""
        if verdict.startswith("retrain due"):
            train_s += time.perf_counter() - t0
            retrains.append(f"{current}: {verdict.removeprefix('retrain due: ')}")
        (fbt_n, hits), (home_n, gains) = running[FBT_K], running[NDCG_K]
        print(
            f"[replay {number + 1}/{len(steps)}] {current}: {len(asked)} requests, "
            f"{len(delivered.lines)} order lines delivered, {verdict}; so far FBT HR@{FBT_K} "
            f"{hits / max(fbt_n, 1):.4f} ({fbt_n}), for_you NDCG@{NDCG_K} "
            f"{gains / max(home_n, 1):.4f} ({home_n})",
            file=sys.stderr,
            flush=True,
        )
    return Replay(fbt_keys, home_keys, lists, retrains, len(steps), requests, train_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dataset", choices=sorted(DEFAULT_SPLITS))
    parser.add_argument("--split", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="Data dir to keep (default: temp).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--replay",
        action="store_true",
        help="Walk the held-out period in time order: ask, deliver the orders, retrain when due.",
    )
    parser.add_argument("--step", choices=("day", "week"), default="day", help="Replay step.")
    args = parser.parse_args()
    split_text = args.split or DEFAULT_SPLITS[args.dataset]
    split = datetime.strptime(split_text, "%Y-%m-%d").replace(tzinfo=UTC)
    if args.dataset in ("groceries", "online_retail"):
        source = DATASETS / ("groceries" if args.dataset == "groceries" else "online_retail")
        if not source.exists():
            print(f"skipped: {source} is absent (the data set is not shipped)")
            return 0
    started = time.perf_counter()
    full = load(args.dataset, split)
    shop, cases = split_cases(full, split)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    shift = timedelta(days=(today - split).days)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.setdefault("PYTHONPATH", str(ROOT))
    run: Replay | None = None
    with tempfile.TemporaryDirectory(prefix="served-eval-") as tmp:
        folder = Path(tmp)
        data_dir = args.keep or folder / "data"
        paths = write_csvs(shop, folder, shift)
        for name, path in paths.items():
            shoprec(data_dir, "import", name, str(path), env=env)
        t0 = time.perf_counter()
        trained = shoprec(data_dir, "train", env=env)
        train_s = time.perf_counter() - t0
        secret = shoprec(data_dir, "identity", "secret", env=env).strip()
        with Server(data_dir, args.workers, env) as server:
            t0 = time.perf_counter()
            if args.replay:
                run = replay(
                    server, data_dir, env, full, cases, secret, split, shift, args.step, folder
                )
                fbt_keys, home_keys, lists = run.fbt_keys, run.home_keys, run.lists
            else:
                fbt_keys = [anchor for anchor, _ in cases.fbt]
                home_keys = [customer for customer, _, _ in cases.for_you]
                requests = {a: fbt_request(a) for a in dict.fromkeys(fbt_keys)}
                for customer, history, _ in cases.for_you:
                    requests[customer] = home_request(secret, customer, history)
                lists = served_lists(server, requests)
            ask_s = time.perf_counter() - t0
    n = len(shop.products)
    fbt = score(iter(zip(fbt_keys, (r for _, r in cases.fbt), strict=True)), lists, FBT_K, n)
    home_cases = zip(home_keys, (new for _, _, new in cases.for_you), strict=True)
    home = score(iter(home_cases), lists, NDCG_K, n)
    print(trained.rstrip())
    mode = (
        f"replay by {args.step}: {run.steps} steps, {run.requests} requests, "
        f"{len(run.retrains)} retrains ({run.train_s:.0f} s of them) in {ask_s:.0f} s"
        if run
        else f"trained once; {len(lists)} requests in {ask_s:.1f} s"
    )
    print(
        f"\n{args.dataset}, split {split_text}: {len(shop.lines)} order lines before it, "
        f"{n} products; train {train_s:.1f} s; {mode}"
    )
    if run:
        for line in run.retrains:
            print(f"  retrain {line}")
    print(f"{'served list':<28}{'cases':>7}{'HR':>8}{'NDCG':>8}{'coverage':>10}")
    for label, m in ((f"product FBT @{FBT_K}", fbt), (f"home for_you @{NDCG_K}", home)):
        print(
            f"{label:<28}{int(m['cases']):>7}{m['hr']:>8.4f}{m['ndcg']:>8.4f}{m['coverage']:>10.4f}"
        )
    print_breakdown(cases, fbt_keys, home_keys, lists)
    flags = f" --replay --step {args.step}" if run else ""
    print(
        f"reproduce: PYTHONPATH=. python -P bench/served_eval.py {args.dataset} "
        f"--split {split_text}{flags} ({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
