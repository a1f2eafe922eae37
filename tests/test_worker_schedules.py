"""Periodic jobs per shop (worker/schedules.py) on a real Redis: one chain per job and shop,
however many workers start or restart, and a due tick runs its job and schedules the next."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from config import Settings
from storage.db import open_shop_db
from worker.queues import QUEUE_EMAIL, get_queue
from worker.schedules import (
    PERIODIC_JOBS,
    chain_job_id,
    ensure_chains,
    periodic_job,
    run_tick,
    schedule_slot,
    slot_of,
)
from worker.supervisor import SurvivingSimpleWorker

pytestmark = pytest.mark.redis
SWEEP = periodic_job("worker.jobs.sweep_deliveries_job")


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    for shop in ("alpha", "beta.myshopify.com"):
        open_shop_db(settings.data_dir, shop).close()
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")  # as conftest
    monkeypatch.setenv("REDIS_URL", url)  # jobs run outside a worker connect themselves
    return settings.data_dir


def scheduled(redis_conn: redis.Redis) -> list[str]:
    return sorted(ScheduledJobRegistry(queue=get_queue(QUEUE_EMAIL, redis_conn)).get_job_ids())


def test_the_delivery_sweep_is_registered_every_few_minutes() -> None:
    assert SWEEP is not None and SWEEP in PERIODIC_JOBS
    assert SWEEP.queue == QUEUE_EMAIL and SWEEP.every <= timedelta(minutes=15)


def test_the_receipt_sweep_runs_every_minute_and_the_event_purge_daily() -> None:
    receipts = periodic_job("worker.jobs.sweep_pending_receipts_job")
    purge = periodic_job("worker.jobs.purge_old_events_job")
    assert receipts is not None and receipts.every <= timedelta(minutes=1) and receipts.at_start
    assert purge is not None and purge.every == timedelta(days=1)


def test_workers_starting_together_make_one_chain_per_shop(data_dir, redis_conn) -> None:
    first = ensure_chains(data_dir, redis_conn, at_start=True)
    second = ensure_chains(data_dir, redis_conn, at_start=True)  # another worker, or a restart
    shops = 2
    at_start = sum(1 for job in PERIODIC_JOBS if job.at_start)
    assert first == {"chains_started": shops * len(PERIODIC_JOBS), "startup_runs": shops * at_start}
    assert second == {"chains_started": 0, "startup_runs": 0}
    next_slot = slot_of(datetime.now(UTC), SWEEP.every) + 1
    assert scheduled(redis_conn) == sorted(
        chain_job_id(SWEEP, shop, next_slot) for shop in ("alpha", "beta.myshopify.com")
    )
    assert get_queue(QUEUE_EMAIL, redis_conn).count == 2  # the start-up sweeps, once each


def test_a_tick_schedules_the_next_slot_once_even_when_repeated(data_dir, redis_conn) -> None:
    now = datetime.now(UTC)
    slot = slot_of(now, SWEEP.every)
    first = run_tick(redis_conn, data_dir, SWEEP.job, "alpha", slot, now=now)
    again = run_tick(redis_conn, data_dir, SWEEP.job, "alpha", slot, now=now)  # RQ retried it
    assert first["result"]["shop"] == "alpha" and again["result"]["shop"] == "alpha"
    assert scheduled(redis_conn) == [chain_job_id(SWEEP, "alpha", slot + 1)]


def test_a_tick_on_a_clock_behind_its_slot_still_moves_on(data_dir, redis_conn) -> None:
    now = datetime.now(UTC)
    slot = slot_of(now, SWEEP.every)
    run_tick(redis_conn, data_dir, SWEEP.job, "alpha", slot, now=now - SWEEP.every * 2)
    assert scheduled(redis_conn) == [chain_job_id(SWEEP, "alpha", slot + 1)]


def test_a_chain_ends_with_its_shop_or_its_registry_line(data_dir, redis_conn) -> None:
    slot = slot_of(datetime.now(UTC), SWEEP.every)
    gone = run_tick(redis_conn, data_dir, SWEEP.job, "deleted-shop", slot)
    unknown = run_tick(redis_conn, data_dir, "worker.jobs.removed_job", "alpha", slot)
    assert gone["chain"] == unknown["chain"] == "ended"
    assert scheduled(redis_conn) == []


def test_a_due_tick_runs_in_a_worker_and_schedules_the_next(data_dir, redis_conn) -> None:
    slot = slot_of(datetime.now(UTC), SWEEP.every) - 1  # due since one interval
    assert schedule_slot(redis_conn, SWEEP, "alpha", slot)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    SurvivingSimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(
        burst=True, with_scheduler=True
    )
    tick = Job.fetch(chain_job_id(SWEEP, "alpha", slot), redis_conn, serializer=JSONSerializer)
    assert tick.get_status() == JobStatus.FINISHED
    assert tick.return_value()["result"] == {
        "shop": "alpha",
        "stuck": 0,
        "redriven": [],
        "job_waiting": 0,
    }
    # the next tick is the next slot from now (no catch-up run for the missed one)
    assert scheduled(redis_conn) == [chain_job_id(SWEEP, "alpha", slot + 2)]


SYNC = periodic_job("worker.jobs.sync_connected_job")


def test_the_sync_and_retrain_check_intervals_are_settings(settings: Settings) -> None:
    assert SYNC is not None and SYNC.interval(settings) == timedelta(minutes=15)
    quick = replace(settings, sync_interval_minutes=0.5, retrain_check_minutes=2.0)
    assert SYNC.interval(quick) == timedelta(seconds=30)
    retrain = periodic_job("worker.jobs.retrain_if_due_job")
    assert retrain is not None and retrain.interval(quick) == timedelta(minutes=2)
    assert SWEEP is not None and SWEEP.interval(quick) == SWEEP.every  # no setting of its own


def test_a_chain_follows_its_interval_setting_and_a_change_of_it(
    data_dir, redis_conn, settings: Settings
) -> None:
    assert SYNC is not None
    quick = replace(settings, sync_interval_minutes=0.5)
    now = datetime.now(UTC)
    ensure_chains(data_dir, redis_conn, settings=quick)
    sync_queue = get_queue(SYNC.queue, redis_conn)
    slot = slot_of(now, timedelta(seconds=30)) + 1
    head = Job.fetch(chain_job_id(SYNC, "alpha", slot), redis_conn, serializer=JSONSerializer)
    assert head.args[2:] == [slot, 30.0]  # the tick carries the interval it was counted in
    when = ScheduledJobRegistry(queue=sync_queue).get_scheduled_time(head.id)
    assert when.timestamp() == slot * 30
    # A tick counted in the old 15-minute interval, run after the operator set 30 seconds:
    # the next tick is the clock's next 30-second slot, not the old count plus one.
    old_slot = slot_of(now, timedelta(minutes=15))
    run_tick(redis_conn, data_dir, SYNC.job, "beta.myshopify.com", old_slot, now=now,
             slot_seconds=900.0, settings=quick)  # fmt: skip
    expected = chain_job_id(SYNC, "beta.myshopify.com", slot_of(now, timedelta(seconds=30)) + 1)
    assert Job.exists(expected, connection=redis_conn)
