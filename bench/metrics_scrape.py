"""Benchmark: what /metrics costs with many shops, and what the request hooks add.

Run: .venv/bin/python -P bench/metrics_scrape.py [--shops 200] [--receipts 2000] [--requests 2000]

Makes `--shops` shop stores, each with `--receipts` webhook receipts (a tenth pending) and a
few email deliveries, then times cold scrapes of /metrics through the test client (each
reads every store with its one query; a warm scrape within 5 s is served from memory), a
warm one, and the mean time of `--requests` GET /api/v1/ping (timed, counted, request id
bound) next to the same calls on a bare Flask app answering the same JSON (no hooks).
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from flask import Flask, jsonify

from config import load_settings
from plugin import create_app
from storage.db import open_shop_db
from storage.receipts import mark_receipt, store_receipt


def _fill(data_dir: Path, shops: int, receipts: int) -> None:
    for n in range(shops):
        db = open_shop_db(data_dir, f"shop{n:04d}")
        with db.conn:
            for i in range(receipts):
                receipt_id, _ = store_receipt(db, "shopify", "orders/create", f"d-{i}", {}, b"{}")
                if i % 10:
                    mark_receipt(db, receipt_id, "processed")
        db.close()


def _mean_ms(client: object, path: str, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        client.get(path)  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        _fill(data_dir, args.shops, args.receipts)
        cold = []
        for _ in range(5):
            client = create_app(load_settings({}, data_dir=data_dir)).test_client()
            start = time.perf_counter()
            assert client.get("/metrics").status_code == 200
            cold.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        client.get("/metrics")
        warm = (time.perf_counter() - start) * 1000
        hooked = _mean_ms(client, "/api/v1/ping", args.requests)
        bare = Flask(__name__)
        bare.get("/api/v1/ping")(lambda: jsonify({"ok": True}))
        plain = _mean_ms(bare.test_client(), "/api/v1/ping", args.requests)
    print(f"shops {args.shops}, receipts per shop {args.receipts}")
    print(
        f"/metrics cold scrape: median {statistics.median(cold):.1f} ms (of 5), warm {warm:.2f} ms"
    )
    print(
        f"GET /api/v1/ping: {hooked:.3f} ms with shoprec's app, {plain:.3f} ms on a bare Flask app"
    )


if __name__ == "__main__":
    main()
