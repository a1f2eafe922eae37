"""Benchmark: how long `shoprec worker run` takes to work again after a Redis restart and
after a kill -9, with real processes on a private redis-server (no persistence).

Run: PYTHONPATH=. .venv/bin/python -P bench/worker_recovery.py [--rounds 3] [--outage 5]

Each round: (1) stop Redis while the worker is idle, wait --outage seconds, start it again,
enqueue a job, and time from Redis answering to the job finished; (2) kill -9 the worker's
whole process group (worker, scheduler, job) and start a new one, then time from the start
to its scheduler holding the lock and to a job scheduled 1 s ahead finishing. Prints each
round and the medians. (-P: bench/ is not put on sys.path, so nothing there shadows a
standard module.)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import redis
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from storage.db import open_shop_db
from worker.queues import get_queue

ROOT = Path(__file__).resolve().parent.parent


def wait_for(check: Callable[[], object], timeout: float = 120) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if check():
                return time.monotonic() - start
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"gave up after {timeout} s")


def start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(redis.Redis(port=port).ping)
    return process


def start_worker(url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": url,
        "SHOPREC_DATA_DIR": str(data_dir),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from plugin.cli.main import main; main()", "worker", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def done(conn: redis.Redis, job_id: str) -> Callable[[], bool]:
    return lambda: (
        Job.fetch(job_id, conn, serializer=JSONSerializer).get_status() == JobStatus.FINISHED
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", type=float, default=5.0)
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="shoprec-recovery-"))
    data_dir = tmp / "data"
    open_shop_db(data_dir, "demo").close()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port)
    conn = redis.Redis(port=port)
    worker = start_worker(url, data_dir, tmp / "worker.log")
    lock = RQScheduler.get_locking_key("default")
    resume, takeover, scheduled = [], [], []
    try:
        wait_for(lambda: conn.get(lock))
        for n in range(1, args.rounds + 1):
            server.terminate()
            server.wait()
            time.sleep(args.outage)
            server = start_redis(port)
            job = get_queue("default", conn).enqueue_call("worker.jobs.count_products", ("demo",))
            resume.append(wait_for(done(conn, job.id)))

            holder = conn.get(lock)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            worker = start_worker(url, data_dir, tmp / "worker.log")
            takeover.append(wait_for(lambda h=holder: conn.get(lock) not in (None, h)))
            job = get_queue("default", conn).enqueue_in(
                timedelta(seconds=1), "worker.jobs.count_products", "demo"
            )
            scheduled.append(wait_for(done(conn, job.id)))
            print(
                f"round {n}: job done {resume[-1]:.2f} s after Redis was back ({args.outage:.0f} s"
                f" outage); after kill -9, new scheduler lock {takeover[-1]:.2f} s after the new "
                f"worker started, a job due in 1 s done {scheduled[-1]:.2f} s after enqueueing"
            )
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        server.terminate()
    print(
        f"median: resume {statistics.median(resume):.2f} s, scheduler takeover "
        f"{statistics.median(takeover):.2f} s, scheduled job {statistics.median(scheduled):.2f} s"
    )


if __name__ == "__main__":
    main()
