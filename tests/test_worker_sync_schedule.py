"""Every 15 minutes each connected shop gets an incremental sync job per active platform,
so what webhooks missed arrives without anyone running `shoprec sync`."""

from __future__ import annotations

import pytest

from config import Settings
from storage.connections import save_connection, set_connection_status
from worker import jobs
from worker.queues import QUEUE_SYNC, get_queue
from worker.schedules import periodic_job
from worker.sync_run import sync_job_id


def test_the_schedule_enqueues_one_sync_per_active_connection(
    settings: Settings, shop_db, redis_conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(jobs, "job_redis", lambda _settings: redis_conn)
    assert jobs.sync_connected_job("demo") == {"shop": "demo", "platforms": [], "sync_jobs": []}
    save_connection(shop_db, "woocommerce", "https://store.example", {"key": "ck", "secret": "cs"})
    save_connection(shop_db, "shopify", "demo.myshopify.com", {"access_token": "t"})
    set_connection_status(shop_db, "shopify", "broken", "401 after refresh")
    first = jobs.sync_connected_job("demo")
    again = jobs.sync_connected_job("demo")  # before a worker ran it: still one job
    assert first["platforms"] == ["woocommerce"] == again["platforms"]
    assert get_queue(QUEUE_SYNC, redis_conn).job_ids == [sync_job_id("demo", "woocommerce")]
    entry = periodic_job("worker.jobs.sync_connected_job")
    assert entry is not None and entry.every.total_seconds() == 15 * 60
