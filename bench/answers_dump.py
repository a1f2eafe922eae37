"""Dump the answers to realistic requests, to check that a serving change keeps the lists.

Run the same command from two checkouts (e.g. `git archive` of the old commit) on copies of
the same data dir, then compare the files: identical output means identical lists.

    PYTHONPATH=. python -P bench/answers_dump.py DATA_DIR PATHS_FILE OUT.json [--count 600]

PATHS_FILE is bench/realistic_traffic.py's (personal requests with session and visitor
ids); each path is also asked without its shopper (the shared, cached answer). request_id,
random per answer, is left out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from config import load_settings
from plugin import create_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("paths_file", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=600)
    args = parser.parse_args()
    paths = args.paths_file.read_text().split()[: args.count]
    paths += [p.split("&customer_id")[0].split("&session_id")[0] for p in paths[:100]]
    client = create_app(load_settings({}, data_dir=args.data_dir, redis_url="")).test_client()
    answers = []
    for path in paths:
        response = client.get(path)
        body = response.get_json()
        body.pop("request_id", None)
        answers.append([path, response.status_code, body])
    args.out.write_text(json.dumps(answers, sort_keys=True, indent=1))
    sys.stdout.write(f"{len(answers)} answers written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
