"""How long the admin overview and experiment results take as widget traffic grows.

The overview aggregates every impression, click and attributed order line of a date range on
each page load (no pre-aggregation), so its cost grows with traffic; this prints where it
stands. Usage: .venv/bin/python bench/overview.py [DAYS] [SESSIONS_PER_DAY]   (default 180 400)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from demo.shop import generate_demo_shop
from demo.traffic import simulate_demo_traffic
from engine.experiment_stats import analyse_experiment
from plugin.admin.experiments import variant_samples
from plugin.admin.overview import overview_report
from storage.db import open_shop_db
from storage.experiments import get_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("days", nargs="?", type=int, default=180)
    parser.add_argument("sessions_per_day", nargs="?", type=int, default=400)
    args = parser.parse_args()
    db = open_shop_db(Path(tempfile.mkdtemp()), "demo")
    generate_demo_shop(db, days=max(args.days, 365))
    started = time.perf_counter()
    traffic = simulate_demo_traffic(db, days=args.days, sessions_per_day=args.sessions_per_day)
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    print(
        f"traffic: {events:,} events, {traffic.clicks:,} clicks, "
        f"generated in {time.perf_counter() - started:.1f} s"
    )
    last = date.fromisoformat(
        db.execute("SELECT max(created_at) FROM order_lines").fetchone()[0][:10]
    )
    for span in (30, args.days):
        started = time.perf_counter()
        report = overview_report(db, last - timedelta(days=span - 1), last, 24)
        print(
            f"overview over {span} days: {time.perf_counter() - started:.2f} s "
            f"(attributed revenue {report['rows']['total']['revenue']:.2f})"
        )
    experiment = get_experiment(db, traffic.experiment_id)
    started = time.perf_counter()
    samples = variant_samples(db, experiment, 24, "9999")
    result = analyse_experiment(samples, "ctr", experiment.min_detectable_effect)
    print(
        f"experiment results: {time.perf_counter() - started:.2f} s "
        f"(verdict {result.verdict} {result.winner})"
    )
    print(f"reproduce: .venv/bin/python bench/overview.py {args.days} {args.sessions_per_day}")


if __name__ == "__main__":
    main()
