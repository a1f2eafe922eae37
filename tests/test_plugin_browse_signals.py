"""Storefront views start the email worker's browse timer, through RQ, once per shopper a day."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlite_utils
from campaign_factories import add_shopper, job_environment, use_provider
from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from signed_shoppers import customer_token

from config import Settings
from plugin import create_app
from plugin.storefront.browse_signals import browse_job_id
from storage.db import open_shop_db
from storage.orders import popular_products
from worker.queues import QUEUE_EMAIL, get_queue


def _redis_url(conn: redis.Redis) -> str:
    kw = conn.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


@pytest.fixture
def settings(trained_settings: Settings, redis_conn: redis.Redis) -> Settings:
    return dataclasses.replace(trained_settings, redis_url=_redis_url(redis_conn))


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    database = open_shop_db(settings.data_dir, "demo", create=False)
    yield database
    database.close()


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings, {"TESTING": True}).test_client()


def _yesterday_noon() -> datetime:
    """A view time whose neighbours a few minutes away fall on the same UTC day."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1)


def _view(product: str, ts: datetime, customer: str | None = None, **extra: str) -> dict:
    event = {"shop": "demo", "type": "view", "product_id": product, "session_id": "s-1"}
    event["ts"] = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if customer:
        event["customer_id"] = customer
    return event | extra


def _signed(settings: Settings, events: list[dict]) -> list[dict]:
    """The events as the widget sends them for a signed-in shopper: with a customer_token."""
    return [
        e | {"customer_token": customer_token(settings, e["customer_id"])}
        if e.get("customer_id")
        else e
        for e in events
    ]


def test_a_known_shoppers_views_enqueue_one_browse_job_a_day(
    client: FlaskClient, db: sqlite_utils.Database, redis_conn: redis.Redis, settings: Settings
) -> None:
    first, second = popular_products(db, limit=2)
    now = _yesterday_noon()
    batch = [
        _view(first, now - timedelta(minutes=5), "cust-ada"),
        _view(second, now - timedelta(minutes=9), "cust-ada"),
        _view(second, now, None),  # anonymous: no email to send
        _view(second, now, "cust-bob", type="click"),  # not a view
    ]
    assert client.post("/api/v1/events", json=_signed(settings, batch)).status_code == 202
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    assert queue.job_ids == [browse_job_id("demo", "cust-ada", batch[1]["ts"][:10])]
    job = queue.fetch_job(queue.job_ids[0])
    assert list(job.args[1:]) == ["cust-ada", batch[1]["ts"], second]  # the earliest view
    later = [_view(first, now + timedelta(seconds=1), "cust-ada")]
    assert client.post("/api/v1/events", json=_signed(settings, later)).status_code == 202
    assert len(queue.job_ids) == 1


def test_unsigned_views_of_a_customer_start_no_timer_and_stay_anonymous(
    client: FlaskClient, db: sqlite_utils.Database, redis_conn: redis.Redis, settings: Settings
) -> None:
    product = popular_products(db, limit=1)[0]
    now = _yesterday_noon()
    forged = customer_token(settings, "cust-ada", ttl=-60)  # signed, but expired
    batch = [
        _view(product, now, "cust-ada"),
        _view(product, now - timedelta(minutes=1), "cust-ada", customer_token=forged),
        _view(product, now - timedelta(minutes=2), "cust-ada", customer_token="v1.x.1.ab"),
    ]
    response = client.post("/api/v1/events", json=batch)
    assert response.status_code == 202 and response.get_json()["stored"] == 3
    assert get_queue(QUEUE_EMAIL, redis_conn).job_ids == []
    rows = db.execute("SELECT customer_id, session_id FROM events WHERE session_id = 's-1'")
    assert [tuple(r) for r in rows] == [(None, "s-1")] * 3


def test_the_job_sets_the_timer_when_the_shop_runs_the_browse_campaign(
    client: FlaskClient,
    db: sqlite_utils.Database,
    settings: Settings,
    redis_conn: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job_environment(monkeypatch, settings.data_dir, settings.redis_url)
    add_shopper(db)
    use_provider(db, {"provider": "klaviyo"})
    product = popular_products(db, limit=1)[0]
    now = datetime.now(UTC).replace(microsecond=0)
    response = client.post(
        "/api/v1/events", json=_signed(settings, [_view(product, now, "cust-ada")])
    )
    assert response.status_code == 202
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(
        burst=True, with_scheduler=True
    )
    timers = list(db.query("SELECT campaign, customer_id, status FROM campaign_timers"))
    assert timers == [{"campaign": "browse", "customer_id": "cust-ada", "status": "scheduled"}]
    assert ScheduledJobRegistry(queue=queue).count == 1  # due in 3 days, not now


def test_events_are_stored_when_redis_is_down(trained_settings: Settings) -> None:
    down = dataclasses.replace(trained_settings, redis_url="redis://127.0.0.1:1/0")
    client = create_app(down, {"TESTING": True}).test_client()
    db = open_shop_db(down.data_dir, "demo", create=False)
    product = popular_products(db, limit=1)[0]
    now = datetime.now(UTC)
    response = client.post("/api/v1/events", json=_signed(down, [_view(product, now, "cust-zed")]))
    assert response.status_code == 202 and response.get_json()["stored"] == 1
    rows = db.execute("SELECT count(*) FROM events WHERE customer_id = 'cust-zed'").fetchone()
    assert rows[0] == 1
