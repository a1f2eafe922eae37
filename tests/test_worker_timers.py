"""Campaign timers on a real Redis: what an order or a view schedules, cancels, and never
schedules twice. The clock is injected (`now`) and RQ's ScheduledJobRegistry is read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
import sqlite_utils
from campaign_factories import add_order, add_shopper, add_view, days, use_provider
from rq.registry import ScheduledJobRegistry

from config import Settings
from email_blocks.campaign_settings import CampaignSettingsError, parse_campaign_settings
from storage.campaign_timers import find_timer, get_timer
from storage.db import open_shop_db
from storage.orders import popular_products
from worker.queues import QUEUE_EMAIL, get_queue
from worker.timers import (
    schedule_after_order,
    schedule_after_stored_orders,
    schedule_after_views,
    timer_job_id,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def db(trained_settings: Settings) -> Iterator[sqlite_utils.Database]:
    database = open_shop_db(trained_settings.data_dir, "demo", create=False)
    add_shopper(database)
    use_provider(database, {"provider": "klaviyo"})
    yield database
    database.close()


@pytest.fixture
def queue(redis_conn: redis.Redis):
    return get_queue(QUEUE_EMAIL, redis_conn)


def scheduled(queue) -> dict[str, datetime]:
    registry = ScheduledJobRegistry(queue=queue)
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


def test_an_order_schedules_post_purchase_for_day_7_and_win_back_for_day_30(db, queue) -> None:
    order = add_order(db, "o-1", NOW)
    done = schedule_after_order(db, queue, "demo", order, now=NOW)
    post = find_timer(db, "post_purchase", "cust-ada", "order:o-1")
    win = find_timer(db, "win_back", "cust-ada", "after:o-1")
    assert post is not None and win is not None
    assert sorted(done["scheduled"]) == sorted([post["timer_id"], win["timer_id"]])
    jobs = scheduled(queue)
    assert jobs[timer_job_id("demo", post["timer_id"])] == (NOW + days(7))
    assert jobs[timer_job_id("demo", win["timer_id"])] == (NOW + days(30))
    assert post["due_at"] == "2026-11-27T09:30:00"


def test_the_same_webhook_twice_schedules_one_job(db, queue) -> None:
    order = add_order(db, "o-1", NOW)
    schedule_after_order(db, queue, "demo", order, now=NOW)
    schedule_after_order(db, queue, "demo", order, now=NOW)
    # a second worker with its own connection to the same store
    other = open_shop_db(db_path_dir(db), "demo", create=False)
    schedule_after_order(other, queue, "demo", order, now=NOW)
    other.close()
    count = db.execute("SELECT count(*) FROM campaign_timers").fetchone()[0]
    assert count == 2  # post_purchase + win_back, once each
    assert len(scheduled(queue)) == 2


def db_path_dir(db: sqlite_utils.Database):
    from pathlib import Path

    path = Path(db.execute("PRAGMA database_list").fetchone()[2])
    return path.parent.parent


def test_a_lost_enqueue_is_healed_by_the_replay_without_a_second_job(db, queue) -> None:
    order = add_order(db, "o-1", NOW)
    schedule_after_order(db, queue, "demo", order, now=NOW)
    queue.connection.flushdb()  # Redis lost the jobs (or the process died after the insert)
    schedule_after_order(db, queue, "demo", order, now=NOW)
    assert len(scheduled(queue)) == 2
    schedule_after_order(db, queue, "demo", order, now=NOW)
    assert len(scheduled(queue)) == 2


def test_a_later_purchase_cancels_a_pending_browse_timer(db, queue) -> None:
    product = popular_products(db, limit=3)[2]
    viewed_at = add_view(db, product, NOW)
    timer = schedule_after_views(db, queue, "demo", "cust-ada", viewed_at, product, now=NOW)
    assert timer is not None
    job_id = timer_job_id("demo", timer["timer_id"])
    assert scheduled(queue)[job_id] == (NOW + days(3))

    order = add_order(db, "o-2", NOW + days(1))
    done = schedule_after_order(db, queue, "demo", order, now=NOW + days(1))
    assert done["cancelled"] == 1
    row = get_timer(db, timer["timer_id"])
    assert row["status"] == "cancelled" and row["reason"] == "purchased since the views"
    assert job_id not in scheduled(queue)


def test_views_in_one_window_share_one_timer_and_a_buyer_gets_none(db, queue) -> None:
    product = popular_products(db, limit=1)[0]
    first = schedule_after_views(db, queue, "demo", "cust-ada", add_view(db, product, NOW), now=NOW)
    again = schedule_after_views(
        db, queue, "demo", "cust-ada", add_view(db, product, NOW + days(0.1)), now=NOW
    )
    assert first["timer_id"] == again["timer_id"]
    add_order(db, "o-3", NOW + days(0.2))
    later = add_view(db, product, NOW + days(0.15))
    assert schedule_after_views(db, queue, "demo", "cust-ada", later, now=NOW) is None


def test_a_newer_order_moves_win_back(db, queue) -> None:
    first = add_order(db, "o-1", NOW)
    schedule_after_order(db, queue, "demo", first, now=NOW)
    second = add_order(db, "o-2", NOW + days(10))
    schedule_after_order(db, queue, "demo", second, now=NOW + days(10))
    old = find_timer(db, "win_back", "cust-ada", "after:o-1")
    new = find_timer(db, "win_back", "cust-ada", "after:o-2")
    assert old["status"] == "cancelled" and old["reason"] == "a newer order"
    assert new["status"] == "scheduled" and new["due_at"] == "2026-12-30T09:30:00"
    assert timer_job_id("demo", old["timer_id"]) not in scheduled(queue)


def test_history_and_guests_and_no_provider_schedule_nothing(db, queue) -> None:
    old = add_order(db, "o-old", NOW - days(400))
    assert schedule_after_order(db, queue, "demo", old, now=NOW)["scheduled"] == []
    guest = {"order_id": "g-1", "customer_id": None, "created_at": "2026-11-20T09:00:00"}
    assert schedule_after_order(db, queue, "demo", guest, now=NOW)["scheduled"] == []
    use_provider(db, {"provider": "none"})
    order = add_order(db, "o-1", NOW)
    assert schedule_after_order(db, queue, "demo", order, now=NOW)["scheduled"] == []
    assert scheduled(queue) == {}


def test_the_receipt_hook_reports_a_missing_redis_instead_of_failing(
    db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    order = add_order(db, "o-1", NOW)
    result = schedule_after_stored_orders(db, "demo", [order])
    assert "campaign timers not scheduled" in result["error"]


def test_campaign_settings_name_every_problem() -> None:
    with pytest.raises(CampaignSettingsError) as caught:
        parse_campaign_settings(
            {
                "browse": {"delay_days": -3, "colour": "red"},
                "win_back": {"window_days": 5},
                "push": {"provider": "mailchimp"},
                "extra": 1,
            }
        )
    problems = caught.value.problems
    assert "campaigns.browse.delay_days must be a whole number of days 0..365, got -3" in problems
    assert any(p.startswith("campaigns.browse.colour is not a setting") for p in problems)
    assert "campaigns.win_back.window_days applies to browse only" in problems
    assert "campaigns.push.list_id is required for mailchimp" in problems
    assert any(p.startswith("campaigns.extra is not a setting") for p in problems)
    defaults = parse_campaign_settings(None)
    assert defaults.rules["win_back"].delay_days == 30 and defaults.active("win_back") is None


def test_two_deliveries_of_the_same_order_webhook_schedule_one_job(
    db, queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os

    from campaign_factories import FIXTURES

    from storage.receipts import get_receipt, store_receipt
    from worker.receipts import process_stored_receipt

    monkeypatch.setenv(
        "REDIS_URL", os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    payload = json.loads((FIXTURES / "shopify" / "orders_create.json").read_text())
    placed = datetime.now(UTC).replace(microsecond=0)
    payload["created_at"] = payload["updated_at"] = placed.isoformat()
    body = json.dumps(payload).encode()
    outcomes = []
    for delivery in ("delivery-1", "delivery-2"):  # Shopify retried: a new delivery id
        receipt_id, _ = store_receipt(db, "shopify", "orders/create", delivery, {}, body)
        outcomes.append(process_stored_receipt(db, "demo", get_receipt(db, receipt_id)))
    assert outcomes[0]["status"] == "processed", outcomes[0]
    assert outcomes[0]["campaigns"]["scheduled"] == 2, outcomes[0]
    rows = list(db.query("SELECT campaign, window_key FROM campaign_timers ORDER BY campaign"))
    assert [r["campaign"] for r in rows] == ["post_purchase", "win_back"]
    assert rows[0]["window_key"] == f"order:{payload['id']}"
    assert len(scheduled(queue)) == 2


def test_the_sweep_turns_recent_views_into_one_browse_timer_each(db, queue) -> None:
    from worker.timers import schedule_browse_from_views

    products = popular_products(db, limit=3)
    add_shopper(db, "cust-bob")
    add_view(db, products[0], NOW - days(0.5))
    add_view(db, products[1], NOW - days(0.2))
    add_view(db, products[2], NOW - days(0.3), customer_id="cust-bob")
    add_order(db, "o-bob", NOW - days(0.1), customer_id="cust-bob")  # bought since: none
    assert schedule_browse_from_views(db, queue, "demo", NOW - days(1), now=NOW) == 1
    assert schedule_browse_from_views(db, queue, "demo", NOW - days(1), now=NOW) == 1
    [timer] = list(db.query("SELECT * FROM campaign_timers WHERE campaign = 'browse'"))
    assert timer["customer_id"] == "cust-ada" and timer["anchor_id"] == products[1]
    assert timer["since"] == (NOW - days(0.5)).strftime("%Y-%m-%dT%H:%M:%S")
    assert len(scheduled(queue)) == 1


def test_a_shop_without_campaigns_never_needs_redis_for_its_orders(
    db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # would fail if it were used
    use_provider(db, {"provider": "none"})
    order = add_order(db, "o-1", NOW)
    assert schedule_after_stored_orders(db, "demo", [order]) == {"scheduled": 0, "cancelled": 0}
