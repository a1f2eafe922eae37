"""Wall time of `shoprec --help` (the installed console script), median of repeated runs.

Run: .venv/bin/python bench/cli_help.py [--runs 15]
Prints the median and spread of `shoprec --help` and, for reference in the same run, of a bare
`python -c pass` (interpreter start-up, which no CLI can go below).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], runs: int) -> list[float]:
    """Seconds per run of `cmd`, each run a fresh process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("shoprec")
    rows = {
        "shoprec --help": wall([str(script), "--help"], args.runs),
        "python -c pass": wall([sys.executable, "-c", "pass"], args.runs),
    }
    for name, times in rows.items():
        print(
            f"{name:16s} median {statistics.median(times) * 1000:6.0f} ms  "
            f"min {min(times) * 1000:6.0f} ms  max {max(times) * 1000:6.0f} ms  ({args.runs} runs)"
        )
    print("reproduce: .venv/bin/python bench/cli_help.py")


if __name__ == "__main__":
    main()
