"""`shoprec worker`: clear one-line errors without Redis; runs and enqueues jobs with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from plugin.cli.main import cli
from storage.catalog import upsert_products
from storage.db import open_shop_db
from worker.queues import get_queue
from worker.supervisor import SurvivingSimpleWorker


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir in the environment (jobs read it from there) and no REDIS_URL."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(data_dir))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("SHOPREC_SHOP", raising=False)
    return data_dir


@pytest.fixture
def redis_env(env: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Path:
    """REDIS_URL pointing at the same flushed test DB as redis_conn."""
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")  # as conftest
    monkeypatch.setenv("REDIS_URL", url)
    return env


def _make_shop(data_dir: Path, shop: str = "demo", n: int = 2) -> None:
    db = open_shop_db(data_dir, shop)
    upsert_products(db, [{"product_id": f"p{i}", "title": f"P{i}", "price": 2.5} for i in range(n)])
    db.close()


@pytest.mark.parametrize("args", [["worker"], ["worker", "run", "--burst"]])
def test_without_redis_url_it_says_what_to_set(env: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output
    assert "REDIS_URL=redis://127.0.0.1:6379/0" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_unreachable_redis_is_one_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    _make_shop(env)
    result = CliRunner().invoke(cli, ["worker", "enqueue-retrain"])
    assert result.exit_code == 1
    assert "cannot reach Redis at redis://:***@127.0.0.1:1/0" in result.output
    assert "hunter2" not in result.output


@pytest.mark.redis
@pytest.mark.parametrize(
    "args",
    [["worker", "--burst"], ["worker", "run", "--burst"], ["worker", "run", "--burst", "--simple"]],
)
def test_burst_worker_processes_queued_jobs(
    redis_env: Path, redis_conn: redis.Redis, args: list[str]
) -> None:
    _make_shop(redis_env, n=4)
    ok = get_queue("sync", redis_conn).enqueue_call("worker.jobs.count_products", args=("demo",))
    bad = get_queue("email", redis_conn).enqueue_call("worker.jobs.count_products", args=("nope",))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "on default, sync, email" in result.output and "(burst)" in result.output
    assert ok.get_status() == JobStatus.FINISHED
    assert ok.return_value() == {"shop": "demo", "products": 4}
    assert bad.get_status() == JobStatus.FAILED


@pytest.mark.redis
def test_worker_refuses_a_data_dir_its_jobs_would_not_see(redis_env: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "elsewhere"), "worker", "--burst"]
    )
    assert result.exit_code == 1
    assert "set SHOPREC_DATA_DIR=" in result.output


@pytest.mark.redis
def test_enqueue_retrain_collapses_repeats(redis_env: Path, redis_conn: redis.Redis) -> None:
    _make_shop(redis_env)
    runner = CliRunner()
    first = runner.invoke(cli, ["worker", "enqueue-retrain"])
    second = runner.invoke(cli, ["--shop", "demo", "worker", "enqueue-retrain", "--shop", "demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert first.output.strip() == "retrain-demo: queued on queue default"
    assert second.output == first.output
    assert get_queue("default", redis_conn).count == 1


@pytest.mark.redis
def test_enqueue_retrain_for_an_unknown_shop(redis_env: Path, redis_conn: redis.Redis) -> None:
    result = CliRunner().invoke(cli, ["worker", "enqueue-retrain", "--shop", "ghost"])
    assert result.exit_code == 1
    assert "no shop named 'ghost'" in result.output
    assert get_queue("default", redis_conn).count == 0


@pytest.mark.redis
def test_info_counts_queued_and_failed_jobs(redis_env: Path, redis_conn: redis.Redis) -> None:
    queue = get_queue("sync", redis_conn)
    queue.enqueue_call("worker.jobs.count_products", args=("nope",))
    SurvivingSimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(
        burst=True
    )
    queue.enqueue_call("worker.jobs.count_products", args=("nope",))
    result = CliRunner().invoke(cli, ["worker", "info"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "default: 0 queued, 0 scheduled, 0 failed",
        "sync: 1 queued, 0 scheduled, 1 failed",
        "email: 0 queued, 0 scheduled, 0 failed",
    ]


@pytest.mark.redis
def test_run_listens_only_on_the_queues_asked_for(redis_env: Path, redis_conn: redis.Redis) -> None:
    _make_shop(redis_env)
    waiting = get_queue("email", redis_conn).enqueue_call("worker.jobs.count_products", ("demo",))
    result = CliRunner().invoke(cli, ["worker", "run", "--burst", "--simple", "--queue", "sync"])
    assert result.exit_code == 0, result.output
    assert "on sync at" in result.output
    assert waiting.get_status() == JobStatus.QUEUED
