"""POST /api/v1/events: single events and batches stored, bad bodies refused with nothing stored.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlite_utils
from flask.testing import FlaskClient
from signed_shoppers import customer_token
from storefront_client import (
    ERROR_KEYS,
    SHOP,
    assert_canonical_error,
)

from config import Settings
from plugin.storefront.request_params import MAX_EVENT_BATCH

JUNK_BODIES: list[Any] = [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b"null",
    b"42",
    b'"text"',
    b"{}",
    b"[1, 2]",
    b'{"shop": "demo"}',
    b'{"shop": "demo", "type": "view"}',
    b'{"shop": ["demo"], "type": "view", "product_id": "p001"}',
    b'{"shop": "demo", "type": "view", "product_id": {"a": 1}}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "position": "x"}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "ts": "yesterday"}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "ts": 12}',
    b'{"shop": "demo", "type": "view", "product_id": "p001", "slot": "<b>"}',
    b'{"shop": "../x", "type": "view", "product_id": "p001"}',
    b'{"shop": "demo", "type": "view", "product_id": "p\\ud800"}',  # a lone surrogate
    b'{"shop": "demo", "type": "view", "product_id": "p1", "visitor_id": "\\udfff"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"shop": "demo", "type": "checkout", "visitor_id": "v1"}',
    b'{"shop": "demo", "type": "checkout", "order_id": "9001"}',
    b'{"shop": "demo", "type": "checkout", "order_id": ["9001"], "visitor_id": "v1"}',
]


@pytest.mark.parametrize("body", JUNK_BODIES)
def test_junk_event_bodies_never_500(client: FlaskClient, body: bytes) -> None:
    response = client.post("/api/v1/events", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert set(response.get_json()) == ERROR_KEYS


def event_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM events WHERE session_id LIKE 'beacon-%' ORDER BY event_id"))


def test_single_event_is_stored(
    client: FlaskClient, db: sqlite_utils.Database, settings: Settings
) -> None:
    event = {
        "shop": SHOP,
        "type": "click",
        "product_id": "p002",
        "session_id": "beacon-1",
        "visitor_id": "v-4f2a",
        "customer_id": "c001",
        "request_id": "r" * 32,
        "slot": "similar",
        "strategy": "content",
        "position": 3,
        "context": "product",
    }
    token = customer_token(settings, "c001")
    response = client.post("/api/v1/events", json={**event, "customer_token": token})
    assert response.status_code == 202
    assert response.get_json() == {"ok": True, "stored": 1}
    [row] = event_rows(db)
    assert {k: row[k] for k in event if k != "shop"} == {
        k: v for k, v in event.items() if k != "shop"
    }
    assert len(row["ts"]) == 19  # server time, store format


def test_batch_is_stored_as_plain_text_beacon(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    batch = [
        {
            "shop": SHOP,
            "type": "impression",
            "product_id": f"p00{i}",
            "session_id": "beacon-2",
            "ts": "2026-11-20T10:00:00Z",
            "position": i,
        }
        for i in range(1, 4)
    ]
    response = client.post("/api/v1/events", data=json.dumps(batch), content_type="text/plain")
    assert response.status_code == 202 and response.get_json()["stored"] == 3
    assert [r["product_id"] for r in event_rows(db)] == ["p001", "p002", "p003"]
    assert event_rows(db)[0]["ts"] == "2026-11-20T10:00:00"
    again = client.post("/api/v1/events", json=batch)
    assert again.get_json()["stored"] == 0  # the same beacon twice is stored once


def test_bad_event_names_the_field_and_index(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    batch = [
        {"shop": SHOP, "type": "view", "product_id": "p001", "session_id": "beacon-3"},
        {"shop": SHOP, "type": "purchase", "product_id": "p002", "session_id": "beacon-3"},
    ]
    response = client.post("/api/v1/events", json=batch)
    body = assert_canonical_error(response, 400, "events[1].type must be one of")
    assert body["code"] == "invalid_event"
    assert event_rows(db) == []  # nothing of a bad batch is stored


def test_oversized_batch_is_refused(client: FlaskClient, db: sqlite_utils.Database) -> None:
    batch = [
        {"shop": SHOP, "type": "view", "product_id": f"p{i}", "session_id": "beacon-4"}
        for i in range(MAX_EVENT_BATCH + 1)
    ]
    assert_canonical_error(client.post("/api/v1/events", json=batch), 413, "at most 100")
    assert event_rows(db) == []


def test_events_for_unknown_shop_are_404(client: FlaskClient) -> None:
    event = {"shop": "other", "type": "view", "product_id": "p001"}
    assert_canonical_error(client.post("/api/v1/events", json=event), 404, "unknown shop")


def test_oversized_body_is_413(client: FlaskClient) -> None:
    body = b'{"shop": "demo", "pad": "' + b"x" * 300_000 + b'"}'
    response = client.post("/api/v1/events", data=body, content_type="text/plain")
    assert_canonical_error(response, 413)


def test_experiment_tags_are_checked_but_not_stored(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    tagged = {
        "shop": SHOP,
        "type": "click",
        "product_id": "p003",
        "session_id": "beacon-5",
        "visitor_id": "v-5",
        "experiment_id": 3,
        "variant": "Variant B (content)",
        # One timestamp for both posts: server time could cross a second between them.
        "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    assert client.post("/api/v1/events", json=tagged).status_code == 202
    assert client.post("/api/v1/events", json={**tagged, "variant": None}).status_code == 202
    [row] = event_rows(db)  # the same event: the tags are not part of it
    assert row["visitor_id"] == "v-5" and "variant" not in row
    for junk in ({"experiment_id": "3"}, {"experiment_id": 0}, {"variant": "a\nb"}):
        response = client.post("/api/v1/events", json={**tagged, **junk})
        assert_canonical_error(response, 400, f"event.{next(iter(junk))}")


def test_a_checkout_ties_an_order_to_its_visitor_and_keeps_no_customer(
    client: FlaskClient, db: sqlite_utils.Database, settings: Settings
) -> None:
    checkout = {
        "shop": SHOP,
        "type": "checkout",
        "order_id": "9001",
        "visitor_id": "v-checkout",
        "session_id": "beacon-9",
        "customer_id": "c001",
        "customer_token": customer_token(settings, "c001"),
        "ts": "2026-12-04T10:05:00Z",
    }
    view = {"shop": SHOP, "type": "view", "product_id": "p001", "session_id": "beacon-9"}
    response = client.post("/api/v1/events", data=json.dumps([view, checkout]))
    assert response.status_code == 202 and response.get_json()["stored"] == 2
    rows = list(db.query("SELECT * FROM checkouts WHERE visitor_id = 'v-checkout'"))
    assert rows == [
        {
            "order_id": "9001",
            "visitor_id": "v-checkout",
            "session_id": "beacon-9",
            "ts": "2026-12-04T10:05:00",
        }
    ]
    assert [r["type"] for r in event_rows(db)] == ["view"]  # not a product event
    # The thank-you page reloaded: the same report is stored once.
    assert client.post("/api/v1/events", json=checkout).get_json()["stored"] == 0


def test_a_checkout_needs_its_order_and_visitor(
    client: FlaskClient, db: sqlite_utils.Database
) -> None:
    response = client.post("/api/v1/events", json={"shop": SHOP, "type": "checkout"})
    body = assert_canonical_error(response, 400, "event.order_id is required")
    assert "event.visitor_id is required" in body["error"]
    assert db.execute("SELECT count(*) FROM checkouts").fetchone()[0] == 0
