"""RQ plumbing on a real Redis: JSON queues; jobs that succeed, fail (with traceback), collapse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import redis
from rq import Queue, SimpleWorker
from rq.job import JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from config import Settings, load_settings
from demo.shop import generate_demo_shop
from storage.catalog import upsert_products
from storage.db import open_shop_db
from worker.errors import RedisNotConfigured, UnknownQueue
from worker.jobs import to_jsonable
from worker.queues import QUEUE_NAMES, enqueue_retrain, get_queue, get_queues, get_redis
from worker.redis_connection import redact_redis_url

pytestmark = pytest.mark.redis


@pytest.fixture
def job_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Jobs read settings from the environment, as a worker process does."""
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    return settings


def _work(queue: Queue, connection: redis.Redis) -> None:
    SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True)


def test_get_redis_needs_a_url() -> None:
    with pytest.raises(RedisNotConfigured, match=r"REDIS_URL=redis://127\.0\.0\.1:6379/0"):
        get_redis(load_settings({}))


def test_get_redis_uses_the_settings_url(redis_conn: redis.Redis) -> None:
    url = "redis://127.0.0.1:6379/15"
    conn = get_redis(load_settings({}, redis_url=url))
    assert conn.ping() and conn.connection_pool.connection_kwargs["db"] == 15
    conn.close()


def test_password_is_redacted() -> None:
    assert redact_redis_url("redis://:s3cret@cache:6380/1") == "redis://:***@cache:6380/1"
    assert redact_redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_queues_are_ours_and_json(redis_conn: redis.Redis) -> None:
    queues = get_queues(redis_conn)
    assert [q.name for q in queues] == list(QUEUE_NAMES) == ["default", "sync", "email"]
    assert all(q.serializer is JSONSerializer for q in queues)
    with pytest.raises(UnknownQueue, match="'emails'"):
        get_queue("emails", redis_conn)
    with pytest.raises(TypeError):  # pickle would have accepted it silently
        queues[0].enqueue_call("worker.jobs.count_products", args=(object(),))


def test_job_succeeds_with_a_json_result(redis_conn: redis.Redis, job_env: Settings) -> None:
    db = open_shop_db(job_env.data_dir, "tiny")
    upsert_products(db, [{"product_id": f"p{i}", "title": f"P{i}", "price": 1.0} for i in range(3)])
    db.close()
    queue = get_queue("default", redis_conn)
    job = queue.enqueue_call("worker.jobs.count_products", args=("tiny",))
    _work(queue, redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"shop": "tiny", "products": 3}


def test_failed_job_is_kept_with_its_traceback(redis_conn: redis.Redis, job_env: Settings) -> None:
    queue = get_queue("default", redis_conn)
    job = queue.enqueue_call("worker.jobs.count_products", args=("nosuchshop",))
    _work(queue, redis_conn)
    registry = FailedJobRegistry(queue=queue)
    assert job.id in registry.get_job_ids()
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "UnknownShop" in (job.latest_result().exc_string or "")


def test_retrain_requests_collapse_until_the_job_has_run(
    redis_conn: redis.Redis, job_env: Settings
) -> None:
    queue = get_queue("default", redis_conn)
    first = enqueue_retrain(queue, "tiny")
    second = enqueue_retrain(queue, "tiny")
    assert first.id == second.id == "retrain-tiny"
    assert queue.count == 1
    assert enqueue_retrain(queue, "other").id == "retrain-other" and queue.count == 2
    _work(queue, redis_conn)
    assert first.get_status() == JobStatus.FAILED  # there is no shop 'tiny' on disk
    assert "UnknownShop: no shop named 'tiny'" in (first.latest_result().exc_string or "")
    again = enqueue_retrain(queue, "tiny")
    assert again.id == "retrain-tiny" and again.get_status() == JobStatus.QUEUED
    assert queue.count == 1


def test_retrain_runs_on_a_small_shop(redis_conn: redis.Redis, job_env: Settings) -> None:
    pytest.importorskip("worker.training", reason="worker.training (train_shop) is not there yet")
    db = open_shop_db(job_env.data_dir, "small")
    generate_demo_shop(db, n_customers=60, days=90)
    db.close()
    queue = get_queue("default", redis_conn)
    job = enqueue_retrain(queue, "small")
    _work(queue, redis_conn)
    failed = job.latest_result()
    assert job.get_status() == JobStatus.FINISHED, failed.exc_string if failed else None
    result = job.return_value()
    assert isinstance(result, dict) and json.loads(json.dumps(result)) == result
    assert result["shop"] == "small" and result["products"] > 250
    assert result["purchase_lines"] > 0 and result["models"]
    assert result["files"] and (job_env.data_dir / "small" / "models").is_dir()


def test_to_jsonable_handles_reports() -> None:
    @dataclass
    class Report:
        path: Path
        at: datetime
        names: frozenset[str]
        parts: tuple[int, ...]

    value = to_jsonable(Report(Path("/a/b"), datetime(2026, 1, 2, 3, 4, 5), frozenset("ba"), (1,)))
    assert value == {"path": "/a/b", "at": "2026-01-02T03:04:05", "names": ["a", "b"], "parts": [1]}
    assert to_jsonable({"n": np.int64(3), "v": np.array([0.5, 1.5])}) == {"n": 3, "v": [0.5, 1.5]}
