"""Profile uncached, realistic recommendation requests through the Flask app (dev tool).

Run from the repository root (pyinstrument is a dev tool, not a runtime dependency:
`.venv/bin/pip install pyinstrument`):

    python -P bench/profile_request.py [--data-dir DIR] [--requests 2000] [--html out.html]
        [--no-profile] [--redis-url redis://127.0.0.1:6379/9]

Without --data-dir a demo shop is generated in a temporary folder. The shop is seeded with
browsing sessions and the paths are bench/realistic_traffic.py's (product/home/cart, the
widget's session_id and visitor_id, known customers' signed tokens, distinct parameters), sent
with a browser's headers through the Flask test client
with the in-process cache (or --redis-url's): the per-request work of the serving path, without
gunicorn and HTTP. Prints pyinstrument's tree and the time per request (wall clock: mean,
p50, p99; and the process's CPU time, steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench.realistic_traffic import (
    BROWSER_HEADERS,
    identity_secret,
    request_paths,
    seed_sessions,
)
from config import load_settings
from plugin import create_app


def demo_shop(data_dir: Path) -> None:
    """A trained demo shop under `data_dir` (the `shoprec demo` command, not serving)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "plugin.cli",
            "--data-dir",
            str(data_dir),
            "demo",
            "--no-serve",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="a data dir holding a trained demo shop")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    parser.add_argument("--no-profile", action="store_true", help="time only")
    parser.add_argument(
        "--redis-url", default="", help="serve with this Redis as the serving cache (flushed)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            demo_shop(data_dir)
        sessions = seed_sessions(data_dir, "demo")
        secret = identity_secret(data_dir, "demo")
        paths = request_paths("demo", sessions, args.requests + 200, seed=97, secret=secret)
        if args.redis_url:
            redis.Redis.from_url(args.redis_url).flushdb()
        app = create_app(load_settings({}, data_dir=data_dir, redis_url=args.redis_url))
        client = app.test_client()
        for path in paths[:200]:  # warm: models loaded, connections open
            assert client.get(path, headers=BROWSER_HEADERS).status_code == 200
        profiler = None
        if not args.no_profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        times: list[float] = []
        cpu_start = time.process_time()
        for path in paths[200:]:
            start = time.perf_counter()
            response = client.get(path, headers=BROWSER_HEADERS)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.get_data(as_text=True)
        cpu_ms = (time.process_time() - cpu_start) * 1000 / max(len(times), 1)
        if profiler is not None:
            profiler.stop()
            sys.stdout.write(profiler.output_text(unicode=False, color=False, show_all=False))
            if args.html:
                args.html.write_text(profiler.output_html())
        ms = sorted(t * 1000 for t in times)
        sys.stdout.write(
            f"{len(ms)} uncached realistic requests (Flask test client, "
            f"{'Redis' if args.redis_url else 'in-process'} cache): "
            f"mean {statistics.fmean(ms):.2f} ms, p50 {ms[len(ms) // 2]:.2f} ms, "
            f"p99 {ms[int(len(ms) * 0.99)]:.2f} ms, CPU {cpu_ms:.2f} ms a request"
            f"{' (under the profiler)' if profiler else ''}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
