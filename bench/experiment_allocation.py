"""Cost of automatic experiment allocation: one Thompson round, and the serving path's read.

Run: PYTHONPATH=. .venv/bin/python bench/experiment_allocation.py [--visitors 20000]
Builds a throwaway shop with a running automatic experiment on the product page, `visitors`
exposed visitors (8 impressions each, 5% converting), moves the split once, then prints:
- the median time of thompson_shares alone (3 arms, 20,000 draws);
- the median time of a whole reallocation round (evidence from the store + draws + write);
- the median time of serving_arm for returning visitors whose arm the move changed (one
  indexed read of their first impression) and for those it did not (no read).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from engine.experiment_allocation import ArmEvidence, thompson_shares
from storage.db import open_shop_db
from storage.events import insert_events
from storage.experiment_allocation import record_allocation, serving_arm
from storage.experiments import (
    HOLDOUT,
    arm_is_settled,
    create_experiment,
    get_experiment,
    start_experiment,
)
from worker.reallocation import reallocate


def median_ms(fn, runs: int) -> float:
    """Median wall time of fn() in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_shop_db(Path(tmp), "bench")
        experiment_id = create_experiment(
            db, "bench", "product", [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            holdout_share=0.1, allocation="automatic",
        )  # fmt: skip
        start_experiment(db, experiment_id)
        db.execute("UPDATE experiments SET started_at = '2024-01-01T00:00:00'")
        db.conn.commit()
        events = []
        for n in range(args.visitors):
            base = {"context": "product", "visitor_id": f"v{n}", "session_id": f"s{n}"}
            for k in range(8):
                events.append({**base, "type": "impression", "product_id": f"p{k}",
                               "ts": f"2024-01-02T10:{k:02d}:00"})  # fmt: skip
        insert_events(db, events)
        experiment = get_experiment(db, experiment_id)
        record_allocation(
            db, experiment, {HOLDOUT: 0.1, "a": 0.1, "b": 0.7, "c": 0.1},
            now=datetime(2024, 1, 3, tzinfo=UTC),
        )  # fmt: skip
        experiment = get_experiment(db, experiment_id)
        arms = [ArmEvidence("a", 5000, 250, 10_000.0), ArmEvidence("b", 5000, 300, 12_000.0),
                ArmEvidence("c", 5000, 200, 8_000.0)]  # fmt: skip
        moved = [f"v{n}" for n in range(2000) if not arm_is_settled(experiment, f"v{n}")][:200]
        settled = [f"v{n}" for n in range(2000) if arm_is_settled(experiment, f"v{n}")][:200]
        print(f"visitors={args.visitors} impressions={8 * args.visitors}")
        draws_ms = median_ms(lambda: thompson_shares(arms, 0.1, 0.1), 20)
        print(f"thompson_shares (3 arms, 20,000 draws): {draws_ms:.2f} ms")
        round_ms = median_ms(lambda: reallocate(db, 24, now=datetime(2024, 1, 4, tzinfo=UTC)), 3)
        print(f"reallocation round (evidence + draws + write): {round_ms:.1f} ms")
        for label, group in (("arm moved (1 read)", moved), ("arm settled (no read)", settled)):
            per = median_ms(lambda g=group: [serving_arm(db, experiment, v) for v in g], 5)
            print(f"serving_arm, returning visitor, {label}: {1000 * per / len(group):.1f} us")
        db.close()


if __name__ == "__main__":
    main()
