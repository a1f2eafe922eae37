"""`shoprec schedule show` on a real Redis: every periodic job per shop, with its next tick
from the chain and its last run once a tick has run."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import Settings, load_settings
from plugin.cli.main import cli
from storage.db import open_shop_db
from worker.schedules import PERIODIC_JOBS, ensure_chains, periodic_job, run_tick, slot_of

pytestmark = pytest.mark.redis

SWEEP = periodic_job("worker.jobs.sweep_deliveries_job")


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    for shop in ("alpha", "beta.myshopify.com"):
        open_shop_db(settings.data_dir, shop).close()
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")  # as conftest
    monkeypatch.setenv("REDIS_URL", url)
    return settings.data_dir


def _show(*args: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["schedule", "show", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_each_shop_lists_every_job_with_a_future_next_run(data_dir, redis_conn) -> None:
    ensure_chains(data_dir, redis_conn)
    rows = _show()
    assert sorted((r["shop"], r["job"]) for r in rows) == sorted(
        (shop, p.short_name) for shop in ("alpha", "beta.myshopify.com") for p in PERIODIC_JOBS
    )
    now = datetime.now(UTC)
    assert all(datetime.fromisoformat(r["next_run"]) > now for r in rows)
    assert all(r["last_run"] is None for r in rows)


def test_a_run_tick_shows_as_the_last_run(data_dir, redis_conn) -> None:
    ensure_chains(data_dir, redis_conn)
    before = datetime.now(UTC)
    run_tick(redis_conn, data_dir, SWEEP.job, "alpha", slot_of(before, SWEEP.every))
    rows = {(r["shop"], r["job"]): r for r in _show()}
    last = rows[("alpha", SWEEP.short_name)]["last_run"]
    assert last is not None and datetime.fromisoformat(last) >= before
    assert rows[("beta.myshopify.com", SWEEP.short_name)]["last_run"] is None
    text = CliRunner().invoke(cli, ["schedule", "show"]).output
    assert "never" in text and "sweep_deliveries_job" in text


def test_without_redis_url_it_says_what_to_set(data_dir, monkeypatch) -> None:
    monkeypatch.delenv("REDIS_URL")
    result = CliRunner().invoke(cli, ["schedule", "show"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_the_sync_interval_setting_shows_and_sets_the_next_tick(
    data_dir, redis_conn, monkeypatch
) -> None:
    monkeypatch.setenv("SHOPREC_SYNC_INTERVAL_MINUTES", "5")
    ensure_chains(data_dir, redis_conn, settings=load_settings())
    rows = {(r["shop"], r["job"]): r for r in _show()}
    sync = rows[("alpha", "sync_connected_job")]
    assert (sync["every"], sync["every_s"]) == ("0:05:00", 300)
    assert datetime.fromisoformat(sync["next_run"]).timestamp() % 300 == 0
    assert rows[("alpha", "retrain_if_due_job")]["every_s"] == 900  # its own setting, unchanged
