"""`shoprec worker run` as a real process: it outlives a Redis restart, and after a kill -9
the next worker's scheduler starts at once instead of waiting for the dead one's lock.

The Redis-restart test runs its own redis-server on a free loopback port (no persistence),
so stopping it disturbs nobody; the kill -9 test uses the shared test database. Waits are
polls with generous bounds: nothing here asserts how fast.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from storage.catalog import upsert_products
from storage.db import open_shop_db
from worker.queues import get_queue

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.redis


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except redis.RedisError:
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int) -> subprocess.Popen:
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen(
        [*args, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    probe = redis.Redis(port=port)
    wait_until(probe.ping, 20, f"redis-server on port {port} answers")
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(redis_url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "SHOPREC_DATA_DIR": str(data_dir),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from plugin.cli.main import main; main()", "worker", "run"],
            env=env,
            cwd=str(data_dir.parent),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the scheduler and job children too
        )


def make_shop(data_dir: Path) -> None:
    db = open_shop_db(data_dir, "demo")
    upsert_products(db, [{"product_id": f"p{i}", "title": f"P{i}", "price": 2.5} for i in range(3)])
    db.close()


def job_done(connection: redis.Redis, job_id: str) -> Callable[[], bool]:
    def check() -> bool:
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        return job.get_status() == JobStatus.FINISHED

    return check


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    make_shop(path)
    return path


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_worker_outlives_a_redis_restart(
    data_dir: Path, tmp_path: Path, workers: list[subprocess.Popen]
) -> None:
    port = free_port()
    server = start_redis(port)
    log = tmp_path / "worker.log"
    try:
        workers.append(start_worker(f"redis://127.0.0.1:{port}/0", data_dir, log))
        conn = redis.Redis(port=port)
        before = get_queue("default", conn).enqueue_call("worker.jobs.count_products", ("demo",))
        wait_until(job_done(conn, before.id), 60, "a job runs before the outage")
        busy = get_queue("default", conn).enqueue_call("time.sleep", (6,))
        wait_until(lambda: busy.get_status() == JobStatus.STARTED, 30, "a long job starts")

        stop(server)  # while the worker is busy: RQ's own loop quits on this one
        time.sleep(4)  # the worker meets the outage: connection refused, again and again
        assert workers[0].poll() is None, log.read_text()
        server = start_redis(port)

        after = get_queue("default", conn).enqueue_call("worker.jobs.count_products", ("demo",))
        wait_until(job_done(conn, after.id), 90, "a job runs after Redis came back")
        assert after.latest_result().return_value == {"shop": "demo", "products": 3}
        assert workers[0].poll() is None
        stop(workers[0])
        assert workers[0].returncode == 0, log.read_text()
    finally:
        stop(server)
    text = log.read_text()
    # once per outage and process (the worker, and its scheduler process)
    assert text.count("worker.supervisor: Redis is unreachable") == 1, text
    assert text.count("worker.scheduler_lock: scheduler: Redis is unreachable") <= 1, text
    assert "Redis is back" in text, text
    assert "Traceback" not in text, text


@pytest.mark.parametrize("whole_group", [True, False], ids=["worker-and-children", "worker-only"])
def test_scheduler_starts_at_once_after_a_kill_9(
    redis_conn: redis.Redis,
    data_dir: Path,
    tmp_path: Path,
    workers: list[subprocess.Popen],
    whole_group: bool,
) -> None:
    """Killing the whole group leaves a dead holder's lock (freed at the next start); killing
    the worker alone orphans its scheduler, which must notice and give the lock up."""
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")  # as conftest
    lock_key = RQScheduler.get_locking_key("default")
    workers.append(start_worker(url, data_dir, tmp_path / "first.log"))
    first_holder = wait_until(lambda: redis_conn.get(lock_key), 60, "the first scheduler's lock")

    if whole_group:
        os.killpg(workers[0].pid, signal.SIGKILL)  # the worker, its scheduler and any job
        workers[0].wait()
        assert redis_conn.get(lock_key) == first_holder  # the dead scheduler's lock is held
    else:
        workers[0].kill()
        workers[0].wait()

    workers.append(start_worker(url, data_dir, tmp_path / "second.log"))
    wait_until(
        lambda: redis_conn.get(lock_key) not in (None, first_holder),
        60,
        "the restarted worker's scheduler takes the lock",
    )
    queue = get_queue("default", redis_conn)
    job = queue.enqueue_in(timedelta(seconds=1), "worker.jobs.count_products", "demo")
    wait_until(job_done(redis_conn, job.id), 60, "a job scheduled 1 s ahead runs")


def test_a_lock_whose_holder_stopped_heartbeating_elsewhere_is_freed(redis_conn) -> None:
    """A holder on another host cannot be checked by pid: a stale heartbeat frees its lock,
    a fresh one keeps it."""
    from datetime import UTC, datetime

    from rq.scheduler import SCHEDULER_KEY_TEMPLATE

    from worker.scheduler_lock import STALE_AFTER_S, release_stale_scheduler_locks

    def holder(name: str, seconds_ago: float) -> None:
        beat = datetime.now(UTC) - timedelta(seconds=seconds_ago)
        redis_conn.hset(
            SCHEDULER_KEY_TEMPLATE % name,
            mapping={"hostname": "elsewhere", "pid": "1", "last_heartbeat": beat.isoformat()},
        )

    holder("dead", STALE_AFTER_S * 4)
    holder("alive", 1)
    redis_conn.set(RQScheduler.get_locking_key("default"), "dead")
    redis_conn.set(RQScheduler.get_locking_key("email"), "alive")
    redis_conn.set(RQScheduler.get_locking_key("sync"), "expired")  # no record at all
    freed = release_stale_scheduler_locks(redis_conn, ["default", "email", "sync"])
    assert sorted(freed) == ["default", "sync"]
    assert redis_conn.get(RQScheduler.get_locking_key("email")) == b"alive"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_worker_started_before_redis_waits_for_it_and_stops_on_sigterm_during_an_outage(
    data_dir: Path, tmp_path: Path, workers: list[subprocess.Popen]
) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    workers.append(start_worker(f"redis://127.0.0.1:{port}/0", data_dir, log))
    time.sleep(3)  # no Redis yet: the worker waits instead of exiting
    assert workers[0].poll() is None, log.read_text()
    server = start_redis(port)
    try:
        conn = redis.Redis(port=port)
        job = get_queue("sync", conn).enqueue_call("worker.jobs.count_products", ("demo",))
        wait_until(job_done(conn, job.id), 90, "a job runs once Redis is up")
    finally:
        stop(server)
    time.sleep(2)  # Redis gone again; a stop request must still be honoured
    workers[0].send_signal(signal.SIGTERM)
    assert workers[0].wait(timeout=60) == 0, log.read_text()
    assert "Traceback" not in log.read_text()
