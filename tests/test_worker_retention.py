"""The event retention job: exactly the events older than the shop's period go, in batches,
and every run is recorded; a nonsense period is refused before anything is deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from click.testing import CliRunner

from config import Settings
from plugin.cli.main import cli
from storage.clock import to_iso
from storage.errors import RetentionSettingError, UnknownShop
from storage.events import insert_events
from storage.retention import (
    RETENTION_SETTING,
    check_retention_months,
    last_event_purge,
    oldest_event_ts,
    retention_cutoff,
)
from storage.shop_settings import set_shop_setting
from worker.jobs import purge_old_events_job
from worker.retention import events_left_before, purge_old_events

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
CUTOFF = "2025-11-04T12:00:00"  # 13 months before NOW


def _views(db: sqlite_utils.Database, stamps: list[str]) -> None:
    insert_events(
        db,
        [
            {"ts": ts, "type": "view", "product_id": f"p{i}", "session_id": "s"}
            for i, ts in enumerate(stamps)
        ],
    )


def _stamps(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT ts FROM events ORDER BY ts")]


def test_deletes_exactly_the_events_older_than_the_period_in_batches(
    shop_db: sqlite_utils.Database,
) -> None:
    old = ["2024-01-01T00:00:00", "2025-01-01T00:00:00", "2025-06-30T23:59:59"]
    old += ["2025-11-04T11:00:00", "2025-11-04T11:59:59"]
    kept = ["2025-11-04T12:00:00", "2025-11-04T12:00:01", "2026-12-01T00:00:00"]
    _views(shop_db, old + kept)
    purge = purge_old_events(shop_db, now=NOW, batch_size=2)  # three batches: 2, 2, 1
    assert (purge.cutoff, purge.retention_months, purge.events_removed) == (CUTOFF, 13, 5)
    assert _stamps(shop_db) == kept
    assert last_event_purge(shop_db) == purge
    assert oldest_event_ts(shop_db) == kept[0]
    again = purge_old_events(shop_db, now=NOW, batch_size=2)
    assert again.events_removed == 0 and last_event_purge(shop_db) == again


def test_the_shops_period_is_used(shop_db: sqlite_utils.Database) -> None:
    _views(shop_db, ["2024-11-01T00:00:00", "2024-12-10T00:00:00", "2026-01-01T00:00:00"])
    set_shop_setting(shop_db, RETENTION_SETTING, 24, changed_by="test")
    purge = purge_old_events(shop_db, now=NOW)
    assert (purge.retention_months, purge.cutoff, purge.events_removed) == (
        24,
        "2024-12-04T12:00:00",
        1,
    )
    assert _stamps(shop_db) == ["2024-12-10T00:00:00", "2026-01-01T00:00:00"]


def test_months_are_calendar_months() -> None:
    end_of_march = datetime(2026, 3, 31, 8, 30, tzinfo=UTC)
    assert to_iso(retention_cutoff(end_of_march, 1)) == "2026-02-28T08:30:00"
    assert to_iso(retention_cutoff(end_of_march, 13)) == "2025-02-28T08:30:00"


@pytest.mark.parametrize("value", [0, -3, 121, 13.5, 13.0, "13", True, None, [13]])
def test_nonsense_periods_are_refused_with_the_key_the_rule_and_the_value(value: object) -> None:
    with pytest.raises(RetentionSettingError) as caught:
        check_retention_months(value)
    assert str(caught.value) == (
        f"event_retention_months must be whole months from 1 to 120, got {value!r}"
    )


def test_a_stored_nonsense_period_deletes_nothing_and_records_nothing(
    shop_db: sqlite_utils.Database, settings: Settings
) -> None:
    _views(shop_db, ["2020-01-01T00:00:00"])
    set_shop_setting(shop_db, RETENTION_SETTING, "13", changed_by="hand")
    with pytest.raises(RetentionSettingError):
        purge_old_events(shop_db, now=NOW)
    result = CliRunner().invoke(
        cli, ["--data-dir", str(settings.data_dir), "privacy", "purge-events"]
    )
    assert result.exit_code == 1
    assert "got '13'; nothing was deleted" in result.output
    assert _stamps(shop_db) == ["2020-01-01T00:00:00"]
    assert last_event_purge(shop_db) is None


def test_the_job_purges_the_named_shop_and_records_the_run(
    shop_db: sqlite_utils.Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    _views(shop_db, [to_iso(now - timedelta(days=430)), to_iso(now - timedelta(days=370))])
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    result = purge_old_events_job("demo")
    assert (result["shop"], result["events_removed"], result["retention_months"]) == (
        "demo",
        1,
        13,
    )
    assert _stamps(shop_db) == [to_iso(now - timedelta(days=370))]
    last = last_event_purge(shop_db)
    assert last is not None and last.events_removed == 1 and last.cutoff == result["cutoff"]
    with pytest.raises(UnknownShop):
        purge_old_events_job("no-such-shop")


def test_the_cli_runs_the_job_once(shop_db: sqlite_utils.Database, settings: Settings) -> None:
    _views(shop_db, ["2001-01-01T00:00:00"])
    args = ["--data-dir", str(settings.data_dir), "privacy", "purge-events"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "removed 1 events before" in result.output and "(kept 13 months)" in result.output
    assert _stamps(shop_db) == []


def test_a_run_out_of_time_stops_between_batches_and_the_next_goes_on(
    shop_db: sqlite_utils.Database,
) -> None:
    _views(shop_db, [f"2020-01-0{day}T00:00:00" for day in range(1, 6)] + ["2026-12-01T00:00:00"])
    first = purge_old_events(shop_db, now=NOW, batch_size=2, max_seconds=0)
    assert first.events_removed == 2 and events_left_before(shop_db, first.cutoff)
    second = purge_old_events(shop_db, now=NOW, batch_size=2)
    assert second.events_removed == 3 and not events_left_before(shop_db, second.cutoff)
    assert _stamps(shop_db) == ["2026-12-01T00:00:00"]
