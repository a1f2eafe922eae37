"""/readyz with a queue configured: 503 without a live worker heartbeat, 200 with a real
`shoprec worker` running, 503 again once its heartbeat is stale or it has stopped. The same
worker, with SHOPREC_LOG_FORMAT=json, logs its job's lines with the shop and the job_id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import Worker
from rq.utils import utcformat

from config import Settings, load_settings
from plugin import create_app
from plugin.queue_connection import QUEUE_REDIS_KEY, TIMEOUT_S
from tests.metrics_text import close_app_redis
from worker.queues import enqueue_retrain, get_queue

pytestmark = pytest.mark.redis

WAIT_S = 60.0


def _wait_for(predicate: Any, what: str, log: Path) -> None:
    """Poll `predicate` until true; fail with the worker's log after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {WAIT_S} s; worker log:\n{log.read_text()}")


def _start_worker(settings: Settings, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(REDIS_URL=url, SHOPREC_DATA_DIR=str(settings.data_dir), SHOPREC_LOG_FORMAT="json")
    command = [sys.executable, "-c", "from plugin.cli.main import main; main()", "worker"]
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # rq's warm shutdown: the worker unregisters itself
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_readyz_follows_the_worker_heartbeat(
    trained_settings: Settings, redis_conn: redis.Redis, tmp_path: Path
) -> None:
    kwargs = redis_conn.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    settings = load_settings({}, data_dir=trained_settings.data_dir, redis_url=url)
    client: FlaskClient = create_app(settings, {"TESTING": True}).test_client()

    alone = client.get("/readyz")
    assert alone.status_code == 503
    assert alone.get_json()["checks"]["worker"]["workers"] == 0
    assert alone.get_json()["checks"]["redis"] == {"ok": True, "state": "ok"}

    log = tmp_path / "worker.log"
    proc = _start_worker(settings, url, log)
    try:
        _wait_for(lambda: client.get("/readyz").status_code == 200, "readiness", log)
        worker_check = client.get("/readyz").get_json()["checks"]["worker"]
        assert worker_check["ok"] is True and worker_check["workers"] == 1
        assert worker_check["last_heartbeat_age_s"] <= settings.worker_heartbeat_max_age_s
        # Looking at workers left the app's enqueueing client its short timeout.
        pool = client.application.extensions[QUEUE_REDIS_KEY].connection_pool
        assert pool.connection_kwargs["socket_timeout"] == TIMEOUT_S

        job = enqueue_retrain(get_queue("default", redis_conn), "demo")
        _wait_for(lambda: job.get_status(refresh=True).value == "finished", "the retrain", log)

        # A worker whose heartbeat is older than allowed is as good as gone.
        (worker,) = Worker.all(connection=redis_conn)
        stale = datetime.now(UTC) - timedelta(seconds=settings.worker_heartbeat_max_age_s + 5)
        redis_conn.hset(worker.key, "last_heartbeat", utcformat(stale))
        assert client.get("/readyz").status_code == 503
    finally:
        _stop(proc)
    assert client.get("/readyz").status_code == 503
    close_app_redis(client.application)

    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    retrain = next(x for x in lines if x["message"] == "retraining shop demo")
    assert retrain["shop"] == "demo" and retrain["job_id"] == job.id
    trained = next(x for x in lines if x["message"].startswith("trained demo in"))
    assert trained["job_id"] == job.id and trained["logger"] == "worker.training"
