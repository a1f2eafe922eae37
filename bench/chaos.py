"""Chaos run: what shoprec loses or doubles when its processes die mid-burst.

Run: .venv/bin/python bench/chaos.py [--keep DIR] [--json]
Needs `redis-server` on the PATH (the run starts and SIGKILLs its own, on loopback ports).
Two scenarios side by side, each with its own redis-server, `shoprec worker` and shop:
- webhooks: 80 signed orders (Shopify, and WooCommerce with delivery ids shared per second
  as a real store sends them) posted to `shoprec serve` (gunicorn) while the worker is
  SIGKILLed, Redis restarted empty (twice) and gunicorn SIGKILLed; failed posts are resent
  with the same id and body; then up to 2 minutes for the store to hold every order once;
- pushes: 6 due post-purchase blocks pushed to a local stand-in for Klaviyo that answers
  429 (Retry-After), 500, then 202 for each, with the worker SIGKILLed during a Retry-After
  wait and again after an acceptance; then up to 2 minutes for every block to be accepted.
The same run backs `pytest -m chaos` (tests/chaos/), which asserts on these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos.conftest import run_chaos  # noqa: E402
from tests.chaos.processes import kill_every_running_process  # noqa: E402


def _interrupted(signum: int, frame: object) -> None:
    """SIGTERM: kill every process the run started, and leave at once (the scenario
    threads would otherwise finish their waits first)."""
    kill_every_running_process()
    print(f"interrupted by signal {signum}: every process the run started is killed")
    os._exit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep the logs.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    parser.add_argument(
        "--recovery-s",
        type=float,
        default=120.0,
        help="How long to wait for the work to be done after the last blow [120].",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    started = time.monotonic()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run = run_chaos(args.keep, args.recovery_s)
    else:
        with tempfile.TemporaryDirectory(prefix="shoprec-chaos-") as workdir:
            run = run_chaos(Path(workdir), args.recovery_s)
    if args.json:
        print(json.dumps({"webhooks": run.webhooks.as_dict(), "pushes": run.pushes.as_dict()}))
    else:
        print(f"chaos {run.webhooks.summary()}")
        print(f"chaos {run.pushes.summary()}")
        print(f"webhook chaos: {'; '.join(run.webhooks.chaos)}")
        print(f"push chaos: {'; '.join(run.pushes.chaos)}")
        for line in run.webhooks.timeline:
            print(f"  webhooks {line}")
        if run.webhooks.missing:
            print(f"orders not applied (first ten): {', '.join(run.webhooks.missing)}")
    print(f"took {time.monotonic() - started:.0f} s; reproduce: python bench/chaos.py")
    failed = run.webhooks.error or run.pushes.error
    if failed:
        print(f"harness error: {failed}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
