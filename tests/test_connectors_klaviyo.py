"""Klaviyo Create Event pushes: request shape and headers (PLATFORMS.md 3.3), retries on
429/5xx/timeouts, no retry on other 4xx, and the delivery record of each try."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
import requests
import responses
from campaign_factories import KLAVIYO_KEY, fixture_json
from responses import matchers

from config import Settings
from connectors.email.klaviyo import REVISION, KlaviyoClient, event_step
from connectors.email.push import PushItem
from connectors.http_client import HTTPCallError, RetryPolicy
from storage.deliveries import create_delivery, get_delivery, list_attempts
from worker.push import DeliveryRetryLater, push_delivery

URL = "https://a.klaviyo.com/api/events"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0)
ITEM = PushItem(
    "p1", "Mug & <Co>", "https://recs.test/email/v1/click?x=1", "https://i/1.jpg", "9.50", "Popular"
)


def step(html: str = "<table></table>"):
    return event_step(
        metric="shoprec recommendations",
        email="ada@example.com",
        external_id="cust-ada",
        first_name="Ada",
        campaign="post_purchase",
        heading="Because you bought Mug",
        items=[ITEM],
        html=html,
        text="Mug",
        block_url="https://recs.test/email/v1/block?sig=x",
        unique_id="shoprec-abc",
        time="2026-11-20T09:00:00Z",
    )


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_the_event_has_the_documented_shape_and_headers(rsps) -> None:
    rsps.post(
        URL,
        status=202,
        body="",
        match=[
            matchers.header_matcher(
                {
                    "Authorization": f"Klaviyo-API-Key {KLAVIYO_KEY}",
                    "revision": REVISION,
                    "Content-Type": "application/vnd.api+json",
                    "Accept": "application/vnd.api+json",
                }
            )
        ],
    )
    KlaviyoClient(KLAVIYO_KEY).send(step(), policy=FAST, sleep=lambda s: None)
    body = json.loads(rsps.calls[0].request.body)
    attributes = body["data"]["attributes"]
    assert body["data"]["type"] == "event"
    assert attributes["unique_id"] == "shoprec-abc"  # Klaviyo's idempotency key
    assert attributes["profile"]["data"]["attributes"] == {
        "email": "ada@example.com",
        "external_id": "cust-ada",
        "first_name": "Ada",
    }
    assert attributes["properties"]["Items"] == [
        {
            "ProductID": "p1",
            "ProductName": "Mug & <Co>",
            "URL": ITEM.url,
            "ImageURL": ITEM.image_url,
            "Price": "9.50",
            "Reason": "Popular",
        }
    ]
    assert attributes["properties"]["$extra"]["html"] == "<table></table>"


def test_500_then_timeout_then_202_is_three_tries(rsps) -> None:
    rsps.post(URL, status=500, json={"errors": []})
    rsps.post(URL, body=requests.Timeout("read timed out"))
    rsps.post(URL, status=202, body="")
    tries = []
    KlaviyoClient(KLAVIYO_KEY).send(
        step(), policy=FAST, sleep=lambda s: None, on_attempt=tries.append
    )
    assert [t.status for t in tries] == [500, None, 202]


def test_a_401_is_not_retried(rsps) -> None:
    rsps.post(URL, status=401, json={"errors": [{"code": "not_authenticated"}]})
    with pytest.raises(HTTPCallError) as caught:
        KlaviyoClient(KLAVIYO_KEY).send(step(), policy=FAST, sleep=lambda s: None)
    assert caught.value.status == 401 and not caught.value.retryable
    assert len(rsps.calls) == 1


def test_html_over_klaviyos_string_limit_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="string limit"):
        step("x" * (100 * 1024 + 1))


def test_a_missing_key_is_named() -> None:
    with pytest.raises(ValueError, match="KLAVIYO_API_KEY"):
        KlaviyoClient("")


def stored(db) -> int:
    delivery, created = create_delivery(
        db,
        idempotency_key="shoprec-abc",
        provider="klaviyo",
        campaign="post_purchase",
        customer_id="cust-ada",
        timer_id=None,
        summary={},
        payload={"provider": "klaviyo", "steps": [step().to_json()]},
    )
    assert created
    return int(delivery["delivery_id"])


def test_throttling_that_outlasts_the_retries_fails_then_parks(
    rsps, shop_db, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, klaviyo_api_key=KLAVIYO_KEY)
    for _ in range(6):
        rsps.post(
            URL,
            status=429,
            headers={"Retry-After": "2"},
            json=fixture_json("klaviyo", "error_429.json"),
        )
    delivery_id = stored(shop_db)
    waits: list[float] = []
    with pytest.raises(DeliveryRetryLater):
        push_delivery(
            settings, shop_db, delivery_id, policy=FAST, sleep=waits.append, last_try=False
        )
    assert get_delivery(shop_db, delivery_id)["status"] == "failed"
    result = push_delivery(settings, shop_db, delivery_id, policy=FAST, sleep=waits.append)
    row = get_delivery(shop_db, delivery_id)
    assert result["status"] == "parked" and row["status"] == "parked"
    assert "throttled" in row["error"] and row["attempts"] == 6
    assert [a["number"] for a in list_attempts(shop_db, delivery_id)] == [1, 2, 3, 4, 5, 6]
    assert waits == [0.0, 0.0, 0.0, 0.0]  # Retry-After capped by the policy's max_delay_s
    # a parked delivery is never sent again
    assert push_delivery(settings, shop_db, delivery_id, policy=FAST)["skipped"] is True


def test_no_key_parks_the_delivery_with_the_setting_named(shop_db, settings: Settings) -> None:
    delivery_id = stored(shop_db)
    result = push_delivery(settings, shop_db, delivery_id, policy=FAST)
    assert result["status"] == "parked" and "KLAVIYO_API_KEY is not set" in result["error"]


def test_an_event_with_a_unique_id_may_be_sent_again_after_a_dead_sender() -> None:
    """Klaviyo records one event per profile, metric and unique_id: no look-up needed."""
    from connectors.email.push import PushStep, SentCheck

    client = KlaviyoClient("pk_test")
    step = PushStep("POST", "/api/events", {"data": {"attributes": {"unique_id": "k-1"}}})
    assert client.check_sent(step, "k-1") is SentCheck.RESEND_SAFE
    assert client.check_sent(PushStep("POST", "/api/events", {}), "k-1") is SentCheck.UNKNOWN
