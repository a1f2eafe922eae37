"""send_with_retry: what is retried, how long it waits, and what a final failure carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses

from connectors.http_client import (
    USER_AGENT,
    Attempt,
    HTTPCallError,
    RetryPolicy,
    new_session,
    retry_after_s,
    send_with_retry,
)

URL = "https://api.example.test/v1/things"
FAST = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=30.0)


class Sleeps:
    """Records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_success_first_try_records_one_attempt(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, json={"ok": True})
    seen: list[Attempt] = []
    sleeps = Sleeps()
    response = send_with_retry(new_session(), "GET", URL, sleep=sleeps, on_attempt=seen.append)
    assert response.json() == {"ok": True}
    assert [(a.number, a.status, a.error) for a in seen] == [(1, 200, None)]
    assert sleeps.waits == []


def test_session_sends_the_shoprec_user_agent(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, match=[responses.matchers.header_matcher({"User-Agent": USER_AGENT})])
    send_with_retry(new_session(), "GET", URL, sleep=Sleeps())


def test_500_then_200_backs_off_exponentially(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, status=500)
    rsps.get(URL, status=502)
    rsps.get(URL, json={"ok": 1})
    sleeps = Sleeps()
    send_with_retry(new_session(), "GET", URL, policy=FAST, sleep=sleeps, jitter=lambda: 1.0)
    assert sleeps.waits == [1.0, 2.0]  # base * 2**(n-1), full jitter factor 1.0


def test_jitter_keeps_backoff_between_half_and_full(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, status=503)
    rsps.get(URL, json={})
    sleeps = Sleeps()
    send_with_retry(new_session(), "GET", URL, policy=FAST, sleep=sleeps, jitter=lambda: 0.0)
    assert sleeps.waits == [0.5]


def test_429_honours_retry_after_seconds(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, status=429, headers={"Retry-After": "2.0"})
    rsps.get(URL, json={})
    sleeps = Sleeps()
    seen: list[Attempt] = []
    send_with_retry(new_session(), "GET", URL, policy=FAST, sleep=sleeps, on_attempt=seen.append)
    assert sleeps.waits == [2.0]
    assert seen[0].status == 429 and seen[0].waited_s == 2.0


def test_retry_after_is_capped(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, status=429, headers={"Retry-After": "3600"})
    rsps.get(URL, json={})
    sleeps = Sleeps()
    send_with_retry(new_session(), "GET", URL, policy=FAST, sleep=sleeps)
    assert sleeps.waits == [30.0]


def test_retry_after_http_date_is_understood() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("Sun, 22 Nov 2026 12:00:07 GMT", FAST, now=now) == 7.0
    assert retry_after_s("Sun, 22 Nov 2026 11:00:00 GMT", FAST, now=now) == 0.0
    assert retry_after_s("soon", FAST, now=now) is None
    assert retry_after_s(None, FAST) is None


def test_404_is_not_retried_and_carries_the_body(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, status=404, json={"errors": "Not Found"})
    sleeps = Sleeps()
    with pytest.raises(HTTPCallError) as info:
        send_with_retry(new_session(), "GET", URL, policy=FAST, sleep=sleeps)
    assert info.value.status == 404
    assert info.value.retryable is False
    assert "Not Found" in info.value.body
    assert len(info.value.attempts) == 1
    assert sleeps.waits == []


def test_401_is_not_retried(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, status=401, body="bad token")
    with pytest.raises(HTTPCallError) as info:
        send_with_retry(new_session(), "POST", URL, policy=FAST, sleep=Sleeps(), json={"a": 1})
    assert (info.value.status, info.value.retryable) == (401, False)


def test_attempts_run_out_on_persistent_5xx(rsps: responses.RequestsMock) -> None:
    for _ in range(4):
        rsps.get(URL, status=503, body="down")
    sleeps = Sleeps()
    with pytest.raises(HTTPCallError) as info:
        send_with_retry(new_session(), "GET", URL, policy=FAST, sleep=sleeps)
    error = info.value
    assert error.retryable is True and error.status == 503 and error.body == "down"
    assert [a.number for a in error.attempts] == [1, 2, 3, 4]
    assert len(sleeps.waits) == 3  # no sleep after the last attempt
    assert error.attempts[-1].waited_s == 0.0


def test_timeouts_and_connection_errors_are_retried(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, body=requests.Timeout("read timed out"))
    rsps.get(URL, body=requests.ConnectionError("refused"))
    rsps.get(URL, json={"ok": True})
    seen: list[Attempt] = []
    response = send_with_retry(
        new_session(), "GET", URL, policy=FAST, sleep=Sleeps(), on_attempt=seen.append
    )
    assert response.status_code == 200
    assert [a.status for a in seen] == [None, None, 200]
    assert "Timeout" in (seen[0].error or "")


def test_timeout_to_the_end_has_no_status(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, body=requests.Timeout("slow"))
    rsps.get(URL, body=requests.Timeout("slow"))
    with pytest.raises(HTTPCallError) as info:
        send_with_retry(
            new_session(), "GET", URL, policy=RetryPolicy(max_attempts=2), sleep=Sleeps()
        )
    assert info.value.status is None and info.value.retryable is True


def test_query_string_is_kept_out_of_error_messages(rsps: responses.RequestsMock) -> None:
    secret_url = URL + "?consumer_key=ck_x&consumer_secret=cs_secret"
    rsps.get(secret_url, status=400)
    with pytest.raises(HTTPCallError) as info:
        send_with_retry(new_session(), "GET", secret_url, sleep=Sleeps())
    assert "cs_secret" not in str(info.value)


def test_unregistered_url_fails_loudly(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, json={})
    send_with_retry(new_session(), "GET", URL, sleep=Sleeps())
    with pytest.raises(HTTPCallError):
        send_with_retry(
            new_session(), "GET", URL + "/other", policy=RetryPolicy(max_attempts=1), sleep=Sleeps()
        )


def test_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
