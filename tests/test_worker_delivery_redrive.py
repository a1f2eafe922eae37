"""Deliveries left behind by a dead sender are re-driven and reach the shopper exactly once.

Real SQLite, real Redis (the sweep enqueues, an RQ SimpleWorker runs the push job), and a
fake platform on a loopback port (tests/fake_email_platform.py) that throttles, fails, then
accepts, deduplicating like Klaviyo and keeping Mandrill metadata for messages/search.
A "dead sender" is a claim taken 20 minutes ago that nobody released: exactly what a worker
killed mid-push leaves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlite_utils
from fake_email_platform import FakePlatform, fake_platform
from rq.serializers import JSONSerializer

import worker.push
from config import Settings
from connectors.email.klaviyo import KlaviyoClient, event_step
from connectors.email.mailchimp import (
    MailchimpMarketingClient,
    MailchimpTransactionalClient,
    marketing_steps,
    send_template_step,
)
from connectors.email.push import PushItem, PushStep
from storage.db import open_shop_db
from storage.deliveries import create_delivery, delivery_counts, get_delivery
from storage.delivery_claims import claim_delivery, record_steps_done
from worker.delivery_sweep import sweep_deliveries
from worker.process_claims import claim_holder_gone, new_claim_token
from worker.push import CLAIM_LEASE, push_job_id
from worker.queues import QUEUE_EMAIL, get_queue
from worker.supervisor import SurvivingSimpleWorker

KEY = "shoprec-" + "ab" * 20
LONG_AGO = datetime.now(UTC) - timedelta(minutes=20)
ITEM = PushItem("p1", "Hat", "https://shop.test/p1", "https://shop.test/p1.jpg", "20.00", "")


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with fake_platform() as fake:
        yield fake


@pytest.fixture
def db(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, platform: FakePlatform
) -> Iterator[sqlite_utils.Database]:
    """The demo shop; jobs read SHOPREC_DATA_DIR; pushes go to the fake platform, no waits."""
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(settings.data_dir))
    clients = {
        "klaviyo": KlaviyoClient("pk_test", base_url=platform.url, timeout_s=5),
        "mailchimp_transactional": MailchimpTransactionalClient(
            "md-key", base_url=platform.url, timeout_s=5
        ),
        "mailchimp": MailchimpMarketingClient("k-us6", base_url=platform.url, timeout_s=5),
    }
    monkeypatch.setattr(worker.push, "client_for", lambda _settings, provider: clients[provider])
    monkeypatch.setattr(worker.push, "_sleep", lambda _s: None)
    database = open_shop_db(settings.data_dir, "demo")
    yield database
    database.close()


def klaviyo_delivery(db: sqlite_utils.Database) -> int:
    step = event_step(
        metric="shoprec recommendations",
        email="ada@example.com",
        external_id="cust-ada",
        first_name="Ada",
        campaign="post_purchase",
        heading="For you",
        items=[ITEM],
        html="<p>Hat</p>",
        text="Hat",
        block_url="https://recs.test/b",
        unique_id=KEY,
        time="2026-12-04T10:00:00Z",
    )
    return _store(db, "klaviyo", [step])


def mandrill_delivery(db: sqlite_utils.Database) -> int:
    step = send_template_step(
        template_name="recs",
        from_email="shop@example.com",
        subject="For you",
        email="ada@example.com",
        first_name="Ada",
        campaign="post_purchase",
        heading="For you",
        items=[ITEM],
        html="<p>Hat</p>",
        block_url="https://recs.test/b",
        delivery_key=KEY,
    )
    return _store(db, "mailchimp_transactional", [step])


def _store(db: sqlite_utils.Database, provider: str, steps: list[PushStep]) -> int:
    row, created = create_delivery(
        db,
        idempotency_key=KEY,
        provider=provider,
        campaign="post_purchase",
        customer_id="cust-ada",
        timer_id=None,
        summary={},
        payload={"provider": provider, "steps": [s.to_json() for s in steps]},
    )
    assert created
    return int(row["delivery_id"])


def die_while_sending(db: sqlite_utils.Database, delivery_id: int) -> None:
    """A sender claimed the delivery 20 minutes ago and was killed before finishing."""
    assert claim_delivery(db, delivery_id, "killed-worker", CLAIM_LEASE, now=LONG_AGO)
    assert delivery_counts(db) == {"sending": 1}


def planned_step(db: sqlite_utils.Database, delivery_id: int) -> PushStep:
    return PushStep.from_json(json.loads(get_delivery(db, delivery_id)["payload"])["steps"][0])


def sweep_and_work(db: sqlite_utils.Database, redis_conn: redis.Redis) -> dict:
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    summary = sweep_deliveries(db, queue, "demo")
    SurvivingSimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(
        burst=True
    )
    return summary


@pytest.mark.redis
def test_a_delivery_stuck_sending_is_redriven_and_accepted_once(
    db: sqlite_utils.Database, redis_conn: redis.Redis, platform: FakePlatform
) -> None:
    delivery_id = klaviyo_delivery(db)
    die_while_sending(db, delivery_id)
    platform.script = [429, 500]  # then the real 202
    first = sweep_and_work(db, redis_conn)
    assert first["redriven"] == [delivery_id]
    assert platform.sent_to("/api/events") == [429, 500, 202]
    assert platform.mails == {KEY: 1}
    row = get_delivery(db, delivery_id)
    assert (row["status"], row["attempts"], row["claimed_at"]) == ("sent", 3, None)
    again = sweep_and_work(db, redis_conn)  # nothing left to re-drive, nothing sent again
    assert again["stuck"] == 0 and len(platform.requests) == 3


@pytest.mark.redis
def test_two_sweeps_queue_one_push(
    db: sqlite_utils.Database, redis_conn: redis.Redis, platform: FakePlatform
) -> None:
    delivery_id = klaviyo_delivery(db)
    die_while_sending(db, delivery_id)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    assert sweep_deliveries(db, queue, "demo")["redriven"] == [delivery_id]
    assert sweep_deliveries(db, queue, "demo") == {
        "shop": "demo",
        "stuck": 1,
        "redriven": [],
        "job_waiting": 1,
    }
    assert queue.count == 1


@pytest.mark.redis
def test_klaviyo_redrive_after_an_accepted_request_makes_no_second_mail(
    db: sqlite_utils.Database, redis_conn: redis.Redis, platform: FakePlatform
) -> None:
    delivery_id = klaviyo_delivery(db)
    die_while_sending(db, delivery_id)
    # The killed sender's request had left and been accepted before it could record it.
    worker.push.client_for(None, "klaviyo").send(planned_step(db, delivery_id))
    assert platform.mails == {KEY: 1}
    sweep_and_work(db, redis_conn)
    assert platform.sent_to("/api/events") == [202, 202]  # re-sent with the same unique_id
    assert platform.mails == {KEY: 1}  # ...which Klaviyo records once: one mail
    assert get_delivery(db, delivery_id)["status"] == "sent"


@pytest.mark.redis
@pytest.mark.parametrize("request_left", [True, False])
def test_mandrill_redrive_looks_the_message_up_before_sending(
    db: sqlite_utils.Database,
    redis_conn: redis.Redis,
    platform: FakePlatform,
    request_left: bool,
) -> None:
    delivery_id = mandrill_delivery(db)
    die_while_sending(db, delivery_id)
    if request_left:
        worker.push.client_for(None, "mailchimp_transactional").send(planned_step(db, delivery_id))
    sweep_and_work(db, redis_conn)
    assert platform.sent_to("/messages/search.json") == [200]
    assert platform.sent_to("/messages/send-template.json") == [200]  # one send in all
    assert platform.mails == {KEY: 1}
    assert get_delivery(db, delivery_id)["status"] == "sent"


@pytest.mark.redis
def test_a_journey_trigger_that_may_have_left_is_parked_not_repeated(
    db: sqlite_utils.Database, redis_conn: redis.Redis, platform: FakePlatform
) -> None:
    steps = marketing_steps(
        list_id="l1",
        email="ada@example.com",
        fields={"RECS_URL": "https://recs.test/b"},
        journey_id="j1",
        step_id="s1",
        delivery_key=KEY,
    )
    delivery_id = _store(db, "mailchimp", steps)
    die_while_sending(db, delivery_id)
    record_steps_done(db, delivery_id, "killed-worker", 1)  # the PATCH was answered
    sweep_and_work(db, redis_conn)
    assert platform.requests == []  # neither the PATCH again nor the trigger
    row = get_delivery(db, delivery_id)
    assert row["status"] == "parked"
    assert "may have been sent" in row["error"] and "--replay-parked" in row["error"]


def test_a_fresh_claim_keeps_a_second_sender_out(
    db: sqlite_utils.Database, settings: Settings, platform: FakePlatform
) -> None:
    delivery_id = klaviyo_delivery(db)
    assert claim_delivery(db, delivery_id, "live-worker", CLAIM_LEASE)
    result = worker.push.push_delivery(settings, db, delivery_id)
    assert result["skipped"] and result["claimed"]
    assert platform.requests == []


@pytest.mark.redis
def test_redrive_command_queues_the_stuck_or_pushes_them_here(
    db: sqlite_utils.Database,
    settings: Settings,
    redis_conn: redis.Redis,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli

    delivery_id = klaviyo_delivery(db)
    die_while_sending(db, delivery_id)
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")  # as conftest
    monkeypatch.setenv("REDIS_URL", url)
    runner = CliRunner()
    queued = runner.invoke(cli, ["campaigns", "redrive"])
    assert queued.exit_code == 0, queued.output
    assert queued.output.strip() == (
        f"1 stuck deliveries: 1 queued again [{delivery_id}], 0 already have a job waiting"
    )
    assert get_queue(QUEUE_EMAIL, redis_conn).count == 1 and platform.requests == []

    here = runner.invoke(cli, ["campaigns", "redrive", "--here"])
    assert here.exit_code == 0, here.output
    assert f"delivery_id={delivery_id} provider=klaviyo status=sent" in here.output
    assert platform.mails == {KEY: 1}


def dead_process_token() -> str:
    """A claim token of a process of this host that has exited (as after a SIGKILL)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:killed"


@pytest.mark.redis
def test_a_claim_of_a_dead_process_is_taken_over_at_once(
    db: sqlite_utils.Database, redis_conn: redis.Redis, platform: FakePlatform
) -> None:
    delivery_id = klaviyo_delivery(db)
    assert claim_delivery(db, delivery_id, dead_process_token(), CLAIM_LEASE)  # just now
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    # Its job still looks alive in RQ (the worker died before RQ noticed).
    queue.enqueue_call(
        "worker.jobs.push_delivery_job",
        args=("demo", delivery_id),
        job_id=push_job_id("demo", delivery_id),
    )
    summary = sweep_deliveries(db, queue, "demo")  # no lease to wait out
    assert summary["redriven"] == [delivery_id] and queue.count == 1
    SurvivingSimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(
        burst=True
    )
    assert platform.mails == {KEY: 1}
    assert get_delivery(db, delivery_id)["status"] == "sent"


def test_a_claim_of_a_live_process_is_not_judged_gone() -> None:
    assert not claim_holder_gone(new_claim_token())
    assert not claim_holder_gone("other-host:1:x")  # another host: only the lease can tell
    assert not claim_holder_gone("killed-worker")  # no pid in it
    assert claim_holder_gone(dead_process_token())
