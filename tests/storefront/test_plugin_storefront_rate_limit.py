"""The per-visitor rate limit of POST /api/v1/events, on a real Redis and without one.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
import sqlite_utils
from flask.testing import FlaskClient
from storefront_client import SHOP, assert_canonical_error

from config import Settings, load_settings
from plugin import create_app
from plugin.storefront.rate_limit import KEY_PREFIX, EventRateLimiter, event_count, visitor_key
from plugin.storefront.request_params import MAX_EVENT_BATCH

EVENTS = "/api/v1/events"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def redis_url(conn: redis.Redis) -> str:
    kwargs = conn.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def client_with(settings: Settings, url: str, limit: int = 3) -> FlaskClient:
    """A client of an app (one 'worker') allowing `limit` events per visitor per minute."""
    tight = load_settings({}, data_dir=settings.data_dir, redis_url=url, events_rate_limit=limit)
    return create_app(tight, {"TESTING": True}).test_client()


def event(visitor: str, product: str = "p001", **extra: Any) -> dict[str, Any]:
    return {"shop": SHOP, "type": "view", "product_id": product, "visitor_id": visitor, **extra}


def stored_for(db: sqlite_utils.Database, visitor: str) -> int:
    row = db.execute("SELECT count(*) FROM events WHERE visitor_id = ?", (visitor,)).fetchone()
    return int(row[0])


@pytest.mark.redis
def test_over_the_limit_is_429_with_retry_after_and_nothing_stored(
    settings: Settings, redis_conn: redis.Redis, db: sqlite_utils.Database
) -> None:
    client = client_with(settings, redis_url(redis_conn), limit=3)
    batch = [event("v-busy", f"p00{i}") for i in range(1, 3)]
    assert client.post(EVENTS, json=batch).status_code == 202  # 2 of 3
    assert client.post(EVENTS, json=event("v-busy", "p003")).status_code == 202  # 3 of 3
    refused = client.post(EVENTS, json=event("v-busy", "p004"))
    body = assert_canonical_error(refused, 429, "too many events", "at most 3 per 60 s")
    assert body["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert stored_for(db, "v-busy") == 3
    # Another visitor (same address, same session) has a count of its own.
    other = event("v-calm", "p004", session_id="shared-tab")
    assert client.post(EVENTS, json=other).status_code == 202
    assert redis_conn.keys(f"{KEY_PREFIX}:*")
    cross = client.post(EVENTS, json=event("v-busy"), headers={"Origin": "https://a.example"})
    assert cross.status_code == 429
    assert cross.headers["Access-Control-Expose-Headers"] == "Retry-After"


@pytest.mark.redis
def test_workers_share_the_count_through_redis(settings: Settings, redis_conn: redis.Redis) -> None:
    url = redis_url(redis_conn)
    first, second = client_with(settings, url, 3), client_with(settings, url, 3)
    assert first.post(EVENTS, json=[event("v-2", "p001"), event("v-2", "p002")]).status_code == 202
    assert second.post(EVENTS, json=event("v-2", "p003")).status_code == 202
    assert second.post(EVENTS, json=event("v-2", "p004")).status_code == 429


@pytest.mark.redis
def test_window_turns_and_retry_after_is_the_time_left(redis_conn: redis.Redis) -> None:
    now = [6_000.0 + 10]  # 10 s into a 60 s window
    limiter = EventRateLimiter(redis_url(redis_conn), limit=2, window_s=60, clock=lambda: now[0])
    assert limiter.charge("k", 2) is None
    assert limiter.charge("k", 1) == 50
    name = f"{KEY_PREFIX}:100:k"
    assert int(redis_conn.get(name) or 0) == 3 and 0 < redis_conn.ttl(name) <= 65
    now[0] += 50  # the next window
    assert limiter.charge("k", 1) is None


def test_without_redis_each_worker_still_limits(settings: Settings) -> None:
    client = client_with(settings, DEAD_REDIS, limit=2)
    assert client.post(EVENTS, json=event("v-3", "p001")).status_code == 202
    assert client.post(EVENTS, json=event("v-3", "p002")).status_code == 202
    assert client.post(EVENTS, json=event("v-3", "p003")).status_code == 429
    assert client_with(settings, "", limit=1).post(EVENTS, json=event("v-4")).status_code == 202


def test_the_in_process_fallback_has_bounded_memory() -> None:
    now = [0.0]
    limiter = EventRateLimiter("", limit=1, window_s=60, clock=lambda: now[0], max_local_keys=3)
    for visitor in range(10):
        assert limiter.charge(f"v{visitor}") is None
    assert limiter.local_keys == 3
    assert limiter.charge("v9") == 60  # recent visitors are still counted
    now[0] = 61.0
    assert limiter.charge("v9") is None and limiter.local_keys == 1


def test_junk_bodies_count_against_the_address(settings: Settings) -> None:
    client = client_with(settings, "", limit=2)
    assert client.post(EVENTS, data=b"not json").status_code == 400
    assert client.post(EVENTS, data=b"{}").status_code == 400
    # The third body from this address is refused before it is even parsed.
    assert client.post(EVENTS, data=b"not json").status_code == 429


def test_visitor_key_prefers_visitor_then_session_then_address() -> None:
    by_visitor = visitor_key({"visitor_id": "v", "session_id": "s1"}, "10.0.0.1")
    assert by_visitor == visitor_key([{"visitor_id": "v", "session_id": "s2"}], "10.0.0.2")
    by_session = visitor_key({"session_id": "s1"}, "10.0.0.1")
    assert by_session == visitor_key({"session_id": "s1", "visitor_id": 7}, "10.0.0.9")
    assert by_session != by_visitor
    assert visitor_key("junk", "10.0.0.1") == visitor_key([], "10.0.0.1")
    assert visitor_key("junk", "10.0.0.1") != visitor_key("junk", "10.0.0.2")
    assert len(visitor_key({"visitor_id": "x" * 10_000}, None)) == 24
    assert (event_count([1, 2, 3]), event_count({}), event_count([])) == (3, 1, 1)
    assert event_count(list(range(MAX_EVENT_BATCH * 50))) == MAX_EVENT_BATCH
