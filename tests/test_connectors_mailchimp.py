"""Mailchimp Marketing (merge fields + journey trigger or member event) and Transactional
send-template pushes, shaped as PLATFORMS.md 4.1-4.5, with their failure paths."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator

import pytest
import responses
from campaign_factories import MAILCHIMP_KEY, MANDRILL_KEY, fixture_json
from responses import matchers

from config import Settings
from connectors.email.mailchimp import (
    InvalidMailchimpKey,
    MailchimpMarketingClient,
    MailchimpTransactionalClient,
    marketing_steps,
    merge_fields,
    send_template_step,
    server_prefix,
    subscriber_hash,
)
from connectors.email.push import PushItem, PushRejected, SentCheck
from connectors.http_client import RetryPolicy
from storage.deliveries import create_delivery, get_delivery
from worker.push import push_delivery

BASE = "https://us6.api.mailchimp.com/3.0"
MANDRILL = "https://mandrillapp.com/api/1.3/messages/send-template.json"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0)
EMAIL = "Ada@Example.com "
HASH = "3e3417d7ef77d5932a6734b916515ed5"  # md5("ada@example.com")
ITEMS = [
    PushItem(
        f"p{n}", f"Product {n}" + "x" * 300 * (n == 1), f"https://r/c?{n}", "https://i", "9.50", ""
    )
    for n in range(1, 8)
]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, mailchimp_api_key=MAILCHIMP_KEY, mailchimp_transactional_key=MANDRILL_KEY
    )


def test_data_center_and_subscriber_hash() -> None:
    assert server_prefix(MAILCHIMP_KEY) == "us6"
    assert subscriber_hash(EMAIL) == HASH
    with pytest.raises(InvalidMailchimpKey, match="-<dc>"):
        server_prefix("no-dc-here")


def test_merge_fields_respect_tag_and_value_limits() -> None:
    fields = merge_fields(ITEMS, "https://r/block", "Because you bought Mug")
    assert all(len(tag) <= 10 for tag in fields)
    assert all(len(value) <= 255 for value in fields.values())
    assert "REC6_TTL" in fields and "REC7_TTL" not in fields  # six items at most
    assert fields["RECS_URL"] == "https://r/block"


def test_member_update_then_journey_trigger(rsps) -> None:
    auth = "Basic " + base64.b64encode(f"shoprec:{MAILCHIMP_KEY}".encode()).decode()
    fields = merge_fields(ITEMS[1:3], "https://r/block", "Recommended for you")
    rsps.patch(
        f"{BASE}/lists/L1/members/{HASH}",
        json=fixture_json("mailchimp", "member.json"),
        match=[
            matchers.header_matcher({"Authorization": auth}),
            matchers.json_params_matcher({"merge_fields": fields}),
        ],
    )
    rsps.post(
        f"{BASE}/customer-journeys/journeys/7/steps/9/actions/trigger",
        status=204,
        match=[matchers.json_params_matcher({"email_address": EMAIL.strip()})],
    )
    client = MailchimpMarketingClient(MAILCHIMP_KEY)
    for step in marketing_steps(
        list_id="L1", email=EMAIL, fields=fields, journey_id="7", step_id="9"
    ):
        client.send(step, policy=FAST, sleep=lambda s: None)


def test_without_a_journey_a_member_event_is_posted() -> None:
    steps = marketing_steps(list_id="L1", email=EMAIL, fields={"RECS_URL": "u"}, campaign="browse")
    assert [s.method for s in steps] == ["PATCH", "POST"]
    assert steps[1].path == f"/lists/L1/members/{HASH}/events"
    assert steps[1].body == {
        "name": "shoprec_recs",
        "properties": {"campaign": "browse", "block_url": "u"},
    }


def stored(db, provider: str, steps) -> int:
    delivery, _ = create_delivery(
        db,
        idempotency_key=f"k-{provider}",
        provider=provider,
        campaign="win_back",
        customer_id="cust-ada",
        timer_id=None,
        summary={},
        payload={"provider": provider, "steps": [s.to_json() for s in steps]},
    )
    return int(delivery["delivery_id"])


def test_a_shopper_not_on_the_list_is_parked_not_subscribed(rsps, shop_db, keyed) -> None:
    rsps.patch(
        f"{BASE}/lists/L1/members/{HASH}",
        status=404,
        json=fixture_json("mailchimp", "member_not_found.json"),
        content_type="application/problem+json",
    )
    steps = marketing_steps(list_id="L1", email=EMAIL, fields={"RECS_URL": "u"})
    delivery_id = stored(shop_db, "mailchimp", steps)
    result = push_delivery(keyed, shop_db, delivery_id, policy=FAST)
    row = get_delivery(shop_db, delivery_id)
    assert result["status"] == "parked" and row["last_status_code"] == 404
    assert "Resource Not Found" in row["error"]
    assert len(rsps.calls) == 1  # the trigger never went out


def template_step():
    return send_template_step(
        template_name="shoprec-recs",
        from_email="shop@example.com",
        subject="For you",
        email="ada@example.com",
        first_name="Ada",
        campaign="win_back",
        heading="Recommended for you",
        items=ITEMS[1:5],
        html="<table></table>",
        block_url="https://r/block",
    )


def test_send_template_carries_the_key_and_handlebars_vars(rsps, shop_db, keyed) -> None:
    rsps.post(MANDRILL, json=fixture_json("mailchimp", "send_template_sent.json"))
    delivery_id = stored(shop_db, "mailchimp_transactional", [template_step()])
    assert push_delivery(keyed, shop_db, delivery_id, policy=FAST)["status"] == "sent"
    body = json.loads(rsps.calls[0].request.body)
    assert body["key"] == MANDRILL_KEY and body["template_name"] == "shoprec-recs"
    message = body["message"]
    assert message["merge_language"] == "handlebars"
    assert message["to"] == [{"email": "ada@example.com", "name": "Ada", "type": "to"}]
    variables = {v["name"]: v["content"] for v in message["merge_vars"][0]["vars"]}
    assert [p["id"] for p in variables["products"]] == ["p2", "p3", "p4", "p5"]
    assert variables["recs_url"] == "https://r/block"
    # the key is added when sending, never stored
    assert MANDRILL_KEY not in get_delivery(shop_db, delivery_id)["payload"]


def test_a_rejected_recipient_is_parked(rsps, shop_db, keyed) -> None:
    rsps.post(MANDRILL, json=fixture_json("mailchimp", "send_template_rejected.json"))
    delivery_id = stored(shop_db, "mailchimp_transactional", [template_step()])
    result = push_delivery(keyed, shop_db, delivery_id, policy=FAST)
    assert result["status"] == "parked" and "unsub" in result["error"]


def test_an_invalid_transactional_key_is_parked_at_once(rsps, shop_db, keyed) -> None:
    rsps.post(
        MANDRILL, status=400, json=fixture_json("mailchimp", "transactional_invalid_key.json")
    )
    delivery_id = stored(shop_db, "mailchimp_transactional", [template_step()])
    result = push_delivery(keyed, shop_db, delivery_id, policy=FAST)
    assert result["status"] == "parked" and "Invalid_Key" in result["error"]
    assert MANDRILL_KEY not in result["error"]


def test_rejected_body_raises_push_rejected_from_the_client(rsps) -> None:
    rsps.post(MANDRILL, json={"status": "error"})
    with pytest.raises(PushRejected, match="unexpected body"):
        MailchimpTransactionalClient(MANDRILL_KEY).send(template_step(), policy=FAST)


@pytest.mark.parametrize(
    ("push", "paths"),
    [
        (
            {"provider": "mailchimp", "list_id": "L1", "journey_id": 7, "step_id": 9},
            [f"/lists/L1/members/{HASH}", "/customer-journeys/journeys/7/steps/9/actions/trigger"],
        ),
        (
            {"provider": "mailchimp", "list_id": "L1", "event_name": "recs-ready"},
            [f"/lists/L1/members/{HASH}", f"/lists/L1/members/{HASH}/events"],
        ),
        (
            {
                "provider": "mailchimp_transactional",
                "template_name": "recs",
                "from_email": "shop@example.com",
            },
            ["/messages/send-template.json"],
        ),
    ],
)
def test_a_fired_timer_plans_the_providers_calls(trained_settings, redis_conn, push, paths) -> None:
    from datetime import UTC, datetime

    from campaign_factories import PUBLIC_URL, SECRET, add_order, add_shopper, days, use_provider

    from storage.db import open_shop_db
    from worker.campaigns import fire_timer
    from worker.queues import QUEUE_EMAIL, get_queue
    from worker.timers import schedule_after_order

    settings = dataclasses.replace(trained_settings, secret_key=SECRET, public_url=PUBLIC_URL)
    db = open_shop_db(settings.data_dir, "demo", create=False)
    add_shopper(db)
    use_provider(db, push)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    order = add_order(db, "o-1", now - days(7))
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    timer_id = schedule_after_order(db, queue, "demo", order, now=now - days(7))["scheduled"][0]
    fired = fire_timer(settings, db, "demo", timer_id, now=now)
    delivery = get_delivery(db, fired["delivery_id"])
    payload = json.loads(delivery["payload"])
    db.close()
    key = delivery["idempotency_key"]  # where a re-drive looks the send up again
    if push["provider"] == "mailchimp_transactional":
        assert payload["steps"][0]["body"]["message"]["metadata"] == {"shoprec_delivery": key}
    elif "journey_id" not in push:
        assert payload["steps"][1]["body"]["properties"]["shoprec_delivery"] == key
    assert payload["provider"] == push["provider"]
    assert [step["path"] for step in payload["steps"]] == paths
    body = payload["steps"][0]["body"]
    if push["provider"] == "mailchimp":
        fields = body["merge_fields"]
        assert fields["RECS_HEAD"].startswith("Because you bought ")
        assert fields["REC1_URL"].startswith(f"{PUBLIC_URL}/email/v1/click?")
        assert all(len(tag) <= 10 and len(v) <= 255 for tag, v in fields.items())
    else:
        variables = {v["name"]: v["content"] for v in body["message"]["merge_vars"][0]["vars"]}
        assert 4 <= len(variables["products"]) <= 6 and "<table" in variables["recs_html"]
        assert "key" not in body  # added only when sending


def test_a_request_blocked_page_is_throttling_and_a_json_403_is_not(rsps, shop_db, keyed) -> None:
    from worker.push import DeliveryRetryLater

    url = f"{BASE}/lists/L1/members/{HASH}"
    rsps.patch(url, status=403, body="<html><title>Request Blocked</title></html>")
    steps = marketing_steps(list_id="L1", email=EMAIL, fields={"RECS_URL": "u"})
    delivery_id = stored(shop_db, "mailchimp", steps)
    with pytest.raises(DeliveryRetryLater, match="Request Blocked"):
        push_delivery(keyed, shop_db, delivery_id, policy=FAST, last_try=False)
    assert get_delivery(shop_db, delivery_id)["status"] == "failed"

    rsps.patch(
        url,
        status=403,
        json={"title": "Forbidden", "status": 403, "detail": "API key disabled"},
        content_type="application/problem+json",
    )
    result = push_delivery(keyed, shop_db, delivery_id, policy=FAST, last_try=False)
    assert result["status"] == "parked" and "API key disabled" in result["error"]


def test_a_malformed_marketing_key_parks_the_delivery_with_the_setting_named(
    shop_db, settings
) -> None:
    broken = dataclasses.replace(settings, mailchimp_api_key="no-data-center-")
    steps = marketing_steps(list_id="L1", email=EMAIL, fields={"RECS_URL": "u"})
    delivery_id = stored(shop_db, "mailchimp", steps)
    result = push_delivery(broken, shop_db, delivery_id, policy=FAST)
    assert result["status"] == "parked" and "MAILCHIMP_API_KEY must look like" in result["error"]
    assert "no-data-center" not in result["error"]


def test_after_a_dead_sender_a_member_event_is_looked_up_by_its_delivery_key(rsps) -> None:
    client = MailchimpMarketingClient(MAILCHIMP_KEY)
    patch, event = marketing_steps(
        list_id="L1", email=EMAIL, fields={"RECS_URL": "u"}, delivery_key="k-1"
    )
    assert event.body["properties"]["shoprec_delivery"] == "k-1"
    events_url = f"{BASE}/lists/L1/members/{HASH}/events?count=100"
    mine = {"name": "shoprec_recs", "properties": {"shoprec_delivery": "k-1"}}
    other = {"name": "shoprec_recs", "properties": {"shoprec_delivery": "k-0"}}
    rsps.get(events_url, json={"events": [other, mine], "total_items": 2})
    rsps.get(events_url, json={"events": [other], "total_items": 1})
    assert client.check_sent(patch, "k-1", policy=FAST) is SentCheck.RESEND_SAFE  # no request
    assert client.check_sent(event, "k-1", policy=FAST) is SentCheck.SENT
    assert client.check_sent(event, "k-1", policy=FAST) is SentCheck.NOT_SENT


def test_a_journey_trigger_cannot_be_checked(rsps) -> None:
    client = MailchimpMarketingClient(MAILCHIMP_KEY)
    _, trigger = marketing_steps(
        list_id="L1", email=EMAIL, fields={"RECS_URL": "u"}, journey_id="J", step_id="S"
    )
    assert client.check_sent(trigger, "k-1", policy=FAST) is SentCheck.UNKNOWN


def test_after_a_dead_sender_mandrill_is_searched_for_the_message_metadata(rsps) -> None:
    client = MailchimpTransactionalClient(MANDRILL_KEY)
    kwargs = dict(
        template_name="recs",
        from_email="shop@example.com",
        subject="s",
        email="ada@example.com",
        first_name="Ada",
        campaign="browse",
        heading="h",
        items=ITEMS[:2],
        html="<p/>",
        block_url="u",
    )
    step = send_template_step(**kwargs, delivery_key="k-1")
    assert step.body["message"]["metadata"] == {"shoprec_delivery": "k-1"}
    search = "https://mandrillapp.com/api/1.3/messages/search.json"
    query = matchers.json_params_matcher(
        {"key": MANDRILL_KEY, "query": "u_shoprec_delivery:k-1", "limit": 10}
    )
    rsps.post(search, json=[{"_id": "m", "metadata": {"shoprec_delivery": "k-1"}}], match=[query])
    rsps.post(search, json=[], match=[query])
    assert client.check_sent(step, "k-1", policy=FAST) is SentCheck.SENT
    assert client.check_sent(step, "k-1", policy=FAST) is SentCheck.NOT_SENT
    # a message planned without the key cannot be looked up (and nothing is asked)
    assert client.check_sent(send_template_step(**kwargs), "k-1") is SentCheck.UNKNOWN


def test_missing_merge_fields_are_created_once_and_fill_every_pushed_field(rsps) -> None:
    """What merge_fields() writes must exist on the audience: the setup creates exactly the
    fields it lacks (Mailchimp's tag limit is 10 characters), and a second run nothing."""
    listed = f"{BASE}/lists/L1/merge-fields?count=1000"
    have = [{"tag": "FNAME"}, {"tag": "RECS_HEAD"}, {"tag": "rec1_ttl"}]
    created: list[dict] = []

    def create(request):
        body = json.loads(request.body)
        created.append(body)
        have.append({"tag": body["tag"]})
        return 200, {}, json.dumps({"merge_id": len(have), **body})

    rsps.add_callback(
        responses.GET, listed, callback=lambda r: (200, {}, json.dumps({"merge_fields": have}))
    )
    rsps.add_callback(responses.POST, f"{BASE}/lists/L1/merge-fields", callback=create)
    client = MailchimpMarketingClient(MAILCHIMP_KEY, base_url=BASE)
    made, kept = client.ensure_merge_fields("L1")
    filled = set(merge_fields(ITEMS, "https://r/block", "Heading"))
    assert set(made) | {"RECS_HEAD", "REC1_TTL"} == filled
    assert set(kept) == {"RECS_HEAD", "REC1_TTL"}
    assert all(len(spec["tag"]) <= 10 and spec["public"] is False for spec in created)
    assert {s["type"] for s in created} == {"text", "url", "imageurl"}
    again_made, again_kept = client.ensure_merge_fields("L1")
    assert again_made == [] and set(again_kept) == filled
