"""Benchmark: the event retention job on a large events table.

Run: .venv/bin/python -P bench/retention_purge.py [--events 1000000] [--batch 1000]
     [--months 26] [--rest 1.0]

Fills a fresh shop store with `--events` view events spread evenly over the last 26 months
(so about half are older than the default 13-month period), then runs
worker.retention.purge_old_events while another thread, on its own connection, stores one
event every 10 ms as storefront beacons do. Prints the total time, events removed per second,
the median and longest batch (each is one write transaction) and how long the beacon writer's
inserts took during the purge (median, 99th percentile, longest): the wait a shopper's event
sees. `--rest 0` shows the same without the rest between batches.
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import storage.retention
import worker.retention
from storage.clock import to_iso
from storage.db import open_shop_db
from storage.events import insert_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=26, help="span of the generated events")
    parser.add_argument("--batch", type=int, default=storage.retention.PURGE_BATCH_SIZE)
    parser.add_argument("--rest", type=float, default=1.0, help="rest share between batches")
    args = parser.parse_args()

    now = datetime.now(UTC)
    span = timedelta(days=args.months * 30.44)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_shop_db(Path(tmp), "bench")
        started = time.perf_counter()
        chunk = 100_000
        for first in range(0, args.events, chunk):
            insert_events(
                db,
                (
                    {
                        "ts": to_iso(now - span * (i / args.events)),
                        "type": "view",
                        "product_id": f"p{i % 5000}",
                        "session_id": f"s{i // 7}",
                        "visitor_id": f"v{i // 20}",
                    }
                    for i in range(first, min(first + chunk, args.events))
                ),
            )
        fill_s = time.perf_counter() - started

        batches: list[float] = []
        delete = storage.retention.delete_events_before

        def timed_delete(*a: object, **k: object) -> int:
            t0 = time.perf_counter()
            n = delete(*a, **k)  # type: ignore[arg-type]
            batches.append(time.perf_counter() - t0)
            return n

        worker.retention.delete_events_before = timed_delete  # type: ignore[assignment]
        waits: list[float] = []
        done = threading.Event()

        def beacons() -> None:
            writer = open_shop_db(Path(tmp), "bench", create=False)
            n = 0
            while not done.is_set():
                t0 = time.perf_counter()
                insert_events(writer, [{"ts": to_iso(now), "type": "view", "product_id": f"b{n}"}])
                waits.append(time.perf_counter() - t0)
                n += 1
                time.sleep(0.01)
            writer.close()

        thread = threading.Thread(target=beacons)
        thread.start()
        started = time.perf_counter()
        purge = worker.retention.purge_old_events(
            db, now=now, batch_size=args.batch, rest_share=args.rest
        )
        total_s = time.perf_counter() - started
        done.set()
        thread.join()
        left = db.execute("SELECT count(*) FROM events").fetchone()[0]
        db.close()

    print(f"events: {args.events:,} over {args.months} months (filled in {fill_s:.1f} s)")
    print(f"removed: {purge.events_removed:,} before {purge.cutoff}; kept {left:,}")
    print(
        f"purge: {total_s:.2f} s, {purge.events_removed / total_s:,.0f} events/s, "
        f"{len(batches)} batches of {args.batch:,}"
    )
    print(
        f"batch (write transaction): median {statistics.median(batches) * 1000:.0f} ms, "
        f"longest {max(batches) * 1000:.0f} ms"
    )
    waits.sort()
    p99 = waits[int(len(waits) * 0.99)]
    print(
        f"beacon inserts during the purge: {len(waits):,}, median "
        f"{statistics.median(waits) * 1000:.1f} ms, p99 {p99 * 1000:.0f} ms, "
        f"longest {waits[-1] * 1000:.0f} ms"
    )
    print(
        f"command: .venv/bin/python -P bench/retention_purge.py --events {args.events} "
        f"--batch {args.batch} --rest {args.rest}"
    )


if __name__ == "__main__":
    main()
