"""Campaign timers fired by a real RQ worker in burst mode, with its scheduler, on a real
Redis; Klaviyo mocked with `responses` (unregistered calls fail). The clock is controlled by
scheduling with an injected `now`: a timer due in the past is released by the scheduler at
once, one due in the future stays in the ScheduledJobRegistry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
import responses
import sqlite_utils
from campaign_factories import (
    EMAIL,
    KLAVIYO_KEY,
    add_order,
    add_shopper,
    add_view,
    days,
    fixture_json,
    job_environment,
    use_provider,
)
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

import worker.push
from config import Settings
from connectors.email.klaviyo import REVISION
from connectors.email.push import DEFAULT_PUSH_POLICY
from storage.campaign_timers import find_timer
from storage.db import open_shop_db
from storage.deliveries import list_attempts
from storage.orders import popular_products
from worker.queues import QUEUE_EMAIL, get_queue
from worker.timers import schedule_after_order, schedule_after_views

EVENTS_URL = "https://a.klaviyo.com/api/events"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def db(
    trained_settings: Settings, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sqlite_utils.Database]:
    url = redis_conn.connection_pool.connection_kwargs
    job_environment(
        monkeypatch,
        trained_settings.data_dir,
        f"redis://{url.get('host', '127.0.0.1')}:{url.get('port', 6379)}/{url.get('db', 0)}",
    )
    database = open_shop_db(trained_settings.data_dir, "demo", create=False)
    add_shopper(database)
    use_provider(database, {"provider": "klaviyo"})
    yield database
    database.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits of the pushes, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(worker.push, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def run_worker(redis_conn: redis.Redis) -> None:
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    worker = SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=True)


def deliveries(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("SELECT * FROM deliveries ORDER BY delivery_id"))


def order_due_now(db, redis_conn, order_id: str = "o-1") -> None:
    """An order placed 7 days ago: its post-purchase timer is due now (its win_back is not)."""
    placed = NOW - days(7)
    order = add_order(db, order_id, placed)
    schedule_after_order(db, get_queue(QUEUE_EMAIL, redis_conn), "demo", order, now=placed)


def test_a_future_timer_waits_in_the_scheduled_registry(db, redis_conn) -> None:
    order = add_order(db, "o-1", NOW)
    schedule_after_order(db, get_queue(QUEUE_EMAIL, redis_conn), "demo", order, now=NOW)
    run_worker(redis_conn)  # nothing is due: the burst worker runs nothing
    registry = ScheduledJobRegistry(queue=get_queue(QUEUE_EMAIL, redis_conn))
    assert registry.count == 2
    assert find_timer(db, "post_purchase", "cust-ada", "order:o-1")["status"] == "scheduled"
    assert deliveries(db) == []


def test_a_429_then_success_sends_once(db, redis_conn, rsps, waits) -> None:
    rsps.post(
        EVENTS_URL,
        status=429,
        headers={"Retry-After": "1"},
        json=fixture_json("klaviyo", "error_429.json"),
        match=[
            responses.matchers.header_matcher(
                {"revision": REVISION, "Authorization": f"Klaviyo-API-Key {KLAVIYO_KEY}"}
            )
        ],
    )
    rsps.post(EVENTS_URL, status=202, body="")
    order_due_now(db, redis_conn)
    run_worker(redis_conn)

    assert len(rsps.calls) == 2
    sent = json.loads(rsps.calls[1].request.body)["data"]["attributes"]
    assert sent["metric"]["data"]["attributes"]["name"] == "shoprec recommendations"
    assert sent["profile"]["data"]["attributes"]["email"] == EMAIL
    assert sent["unique_id"].startswith("shoprec-")
    assert 4 <= len(sent["properties"]["Items"]) <= 6
    assert set(sent["properties"]["Items"][0]) == {
        "ProductID", "ProductName", "URL", "ImageURL", "Price", "Reason"
    }  # fmt: skip
    assert "<table" in sent["properties"]["$extra"]["html"]
    assert "/email/v1/block?" in sent["properties"]["BlockURL"]
    [row] = deliveries(db)
    assert row["status"] == "sent" and row["attempts"] == 2 and row["last_status_code"] == 202
    assert [a["status_code"] for a in list_attempts(db, row["delivery_id"])] == [429, 202]
    assert waits == [1.0]  # Retry-After honoured
    assert find_timer(db, "post_purchase", "cust-ada", "order:o-1")["status"] == "fired"

    # Replaying the webhook and running again sends nothing more.
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    assert len(rsps.calls) == 2 and len(deliveries(db)) == 1


def test_a_permanent_400_is_parked_with_its_reason(db, redis_conn, rsps, waits) -> None:
    rsps.post(EVENTS_URL, status=400, json=fixture_json("klaviyo", "error_400.json"))
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    [row] = deliveries(db)
    assert row["status"] == "parked" and row["attempts"] == 1 and row["last_status_code"] == 400
    assert "answered 400" in row["error"] and "is invalid" in row["error"]
    assert waits == []
    assert FailedJobRegistry(queue=get_queue(QUEUE_EMAIL, redis_conn)).count == 0


def test_a_purchase_after_the_views_means_no_browse_block(db, redis_conn, rsps) -> None:
    product = popular_products(db, limit=2)[1]
    viewed = NOW - days(3)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    timer = schedule_after_views(
        db, queue, "demo", "cust-ada", add_view(db, product, viewed), product, now=viewed
    )
    # bought meanwhile, but the order webhook never reached us (no cancel): the re-check skips
    add_order(db, "o-9", NOW - days(1))
    run_worker(redis_conn)
    row = find_timer(db, "browse", "cust-ada", timer["window_key"])
    assert row["status"] == "skipped" and row["reason"] == "purchased since the views"
    assert deliveries(db) == [] and len(rsps.calls) == 0


def test_an_unsubscribed_shopper_gets_nothing(db, redis_conn, rsps) -> None:
    add_shopper(db, accepts_marketing=0)
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    row = find_timer(db, "post_purchase", "cust-ada", "order:o-1")
    assert row["status"] == "skipped" and "unsubscribed" in row["reason"]
    assert deliveries(db) == []


def test_a_redacted_shopper_gets_nothing(db, redis_conn, rsps) -> None:
    from storage.redaction import redact_customer

    order_due_now(db, redis_conn)
    assert find_timer(db, "post_purchase", "cust-ada", "order:o-1") is not None
    redact_customer(db, "cust-ada", EMAIL)
    # Redaction erases the shopper's timers (they name the customer); the queued job finds none.
    assert find_timer(db, "post_purchase", "cust-ada", "order:o-1") is None
    run_worker(redis_conn)
    assert deliveries(db) == [] and len(rsps.calls) == 0


def test_a_shopper_redacted_after_a_delivery_leaves_no_campaign_rows(db, redis_conn, rsps) -> None:
    from storage.redaction import redact_customer

    rsps.post(EVENTS_URL, status=202)
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    assert len(deliveries(db)) == 1
    redact_customer(db, "cust-ada", EMAIL)
    assert deliveries(db) == []
    assert db.execute("SELECT count(*) FROM campaign_timers").fetchone()[0] == 0


def test_campaigns_status_shows_pending_timers_and_parked_deliveries(
    db, redis_conn, rsps, waits
) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli

    rsps.post(EVENTS_URL, status=400, json=fixture_json("klaviyo", "error_400.json"))
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    result = CliRunner().invoke(cli, ["--shop", "demo", "campaigns", "status"])
    assert result.exit_code == 0, result.output
    assert "provider: klaviyo" in result.output
    assert "post_purchase: 1 fired" in result.output
    assert "win_back: 1 scheduled" in result.output
    assert "parked 1 (klaviyo, post_purchase, 1 tries, last 400)" in result.output
    missing = CliRunner().invoke(cli, ["--shop", "nope", "campaigns", "status"])
    assert missing.exit_code != 0 and "no shop named 'nope'" in missing.output


def test_pushes_wait_for_a_free_slot_under_the_providers_concurrency_limit(
    db, redis_conn, rsps, waits, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker.push, "PUSH_CONCURRENCY", {"klaviyo": 1})
    rsps.post(EVENTS_URL, status=202, body="")
    shoppers = ["cust-ada", "cust-bob", "cust-cy"]
    placed = NOW - days(7)
    for n, customer_id in enumerate(shoppers):
        add_shopper(db, customer_id)
        order = add_order(db, f"o-{n}", placed, customer_id=customer_id)
        schedule_after_order(db, get_queue(QUEUE_EMAIL, redis_conn), "demo", order, now=placed)
    run_worker(redis_conn)
    assert [row["status"] for row in deliveries(db)] == ["sent", "sent", "sent"]
    assert len(rsps.calls) == 3


def test_a_platform_outage_schedules_a_later_push_that_then_sends(
    db, redis_conn, rsps, waits
) -> None:
    for _ in range(DEFAULT_PUSH_POLICY.max_attempts):  # the in-process tries
        rsps.post(EVENTS_URL, status=503, body="upstream unavailable")
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    [row] = deliveries(db)
    tries = DEFAULT_PUSH_POLICY.max_attempts
    assert row["status"] == "failed" and row["attempts"] == tries and "503" in row["error"]
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    registry = ScheduledJobRegistry(queue=queue)
    job_id = f"push-demo-{row['delivery_id']}"
    assert job_id in registry.get_job_ids()  # retried later by RQ, not in a tight loop

    rsps.post(EVENTS_URL, status=202, body="")
    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    registry.schedule(job, NOW - days(0.001))  # the clock moves past the retry time
    run_worker(redis_conn)
    [row] = deliveries(db)
    assert row["status"] == "sent" and row["attempts"] == tries + 1
    assert len(rsps.calls) == tries + 1


def test_a_sent_payload_is_not_kept_and_erasure_removes_the_rest(db, redis_conn, rsps) -> None:
    from storage.deliveries import erase_campaign_data

    rsps.post(EVENTS_URL, status=202, body="")
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    [row] = deliveries(db)
    assert row["status"] == "sent" and row["payload"] == "{}"
    assert EMAIL not in json.dumps(row)
    assert len(json.loads(row["summary"])["items"]) >= 4
    assert erase_campaign_data(db, ["cust-ada"]) == 3  # the delivery and both timers
    assert deliveries(db) == [] and list(db.query("SELECT * FROM delivery_attempts")) == []


def test_view_jobs_set_browse_timers_through_the_worker(db, redis_conn) -> None:
    product = popular_products(db, limit=2)[1]
    viewed = add_view(db, product, NOW - days(0.1))
    add_shopper(db, "cust-bob")
    add_view(db, product, NOW - days(0.2), customer_id="cust-bob")
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    one = queue.enqueue_call(
        "worker.jobs.schedule_browse_timer", args=("demo", "cust-ada", viewed, product)
    )
    sweep = queue.enqueue_call("worker.jobs.sweep_browse_timers", args=("demo", 24))
    run_worker(redis_conn)
    assert one.latest_result().return_value["timer_id"] is not None
    assert sweep.latest_result().return_value == {"shop": "demo", "browse_timers": 2}
    timers = list(db.query("SELECT customer_id, status FROM campaign_timers ORDER BY 1"))
    assert timers == [
        {"customer_id": "cust-ada", "status": "scheduled"},
        {"customer_id": "cust-bob", "status": "scheduled"},
    ]
    assert ScheduledJobRegistry(queue=queue).count == 2  # due in 3 days, not run now


def test_a_parked_delivery_can_be_replayed_from_the_cli_once_fixed(
    db, redis_conn, rsps, waits
) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli

    rsps.post(EVENTS_URL, status=401, json={"errors": [{"code": "not_authenticated"}]})
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    [row] = deliveries(db)
    assert row["status"] == "parked"
    args = ["--shop", "demo", "campaigns", "push", "--delivery-id", str(row["delivery_id"])]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1 and "status=parked skipped=True" in refused.output
    rsps.post(EVENTS_URL, status=202, body="")  # the key was fixed
    replayed = CliRunner().invoke(cli, [*args, "--replay-parked"])
    assert replayed.exit_code == 0, replayed.output
    assert "status=sent" in replayed.output
    assert deliveries(db)[0]["status"] == "sent"
    again = CliRunner().invoke(cli, [*args, "--replay-parked"])
    assert again.exit_code == 1 and len(rsps.calls) == 2  # a sent one is never sent again


def test_without_a_secret_key_the_job_fails_loudly_and_the_timer_waits(
    db, redis_conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPREC_SECRET_KEY")
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    [job_id] = FailedJobRegistry(queue=queue).get_job_ids()
    failure = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert "SHOPREC_SECRET_KEY is not set" in failure.latest_result().exc_string
    assert find_timer(db, "post_purchase", "cust-ada", "order:o-1")["status"] == "scheduled"


def test_a_broken_campaigns_setting_skips_with_the_reason(db, redis_conn, rsps) -> None:
    from storage.shop_settings import set_shop_setting

    order_due_now(db, redis_conn)
    set_shop_setting(db, "campaigns", {"push": {"provider": "carrier-pigeon"}})
    run_worker(redis_conn)
    row = find_timer(db, "post_purchase", "cust-ada", "order:o-1")
    assert row["status"] == "skipped"
    assert "campaigns.push.provider must be one of" in row["reason"]


def test_an_unexpected_push_error_fails_the_job_but_keeps_a_later_push(
    db, redis_conn, rsps, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.campaigns

    def crash(*args: object, **kwargs: object) -> dict:
        raise RuntimeError("disk full")

    monkeypatch.setattr(worker.campaigns, "push_delivery", crash)
    order_due_now(db, redis_conn)
    run_worker(redis_conn)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    assert FailedJobRegistry(queue=queue).count == 1
    [row] = deliveries(db)
    assert row["status"] == "pending"
    assert f"push-demo-{row['delivery_id']}" in ScheduledJobRegistry(queue=queue).get_job_ids()


def test_a_later_purchase_cancels_the_due_browse_timer_before_the_worker_runs(
    db, redis_conn, rsps
) -> None:
    product = popular_products(db, limit=2)[1]
    viewed = NOW - days(3)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    timer = schedule_after_views(
        db, queue, "demo", "cust-ada", add_view(db, product, viewed), product, now=viewed
    )
    order = add_order(db, "o-5", NOW - days(1))
    assert schedule_after_order(db, queue, "demo", order, now=NOW)["cancelled"] == 1
    run_worker(redis_conn)
    row = find_timer(db, "browse", "cust-ada", timer["window_key"])
    assert row["status"] == "cancelled" and deliveries(db) == []
    assert FailedJobRegistry(queue=queue).count == 0 and len(rsps.calls) == 0


def test_the_same_order_webhook_twice_sends_one_block(db, redis_conn, rsps, waits) -> None:
    rsps.post(EVENTS_URL, status=202, body="")
    order_due_now(db, redis_conn)
    order_due_now(db, redis_conn)  # Shopify delivered it again
    run_worker(redis_conn)
    assert len(rsps.calls) == 1 and len(deliveries(db)) == 1
