"""Sending a stored delivery to its email platform, recording every try (Saleor-style).

A delivery row holds the planned steps (connectors.email_push.PushStep, no secrets). Sending:
- a row already 'sent' or 'parked' is left alone: nothing is ever sent twice;
- each HTTP try lands in delivery_attempts with its status code, duration and error;
- 429/5xx/timeouts are retried in-process by send_with_retry (honouring Retry-After); when
  those run out, DeliveryRetryLater tells the caller to try again later (the timer job then
  schedules push_delivery_job; in that job it reaches RQ's Retry), and on the last try the
  delivery is parked with the reason;
- any other 4xx (or Mandrill refusing the recipient) is permanent: parked at once with the
  platform's answer, and the job returns normally (no retry burns the rate limit).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import sqlite_utils
from rq.rate_limit import RateLimit

from config import Settings
from connectors.email_push import DEFAULT_PUSH_POLICY, PushClient, PushRejected, PushStep
from connectors.errors import ConnectorError
from connectors.http_client import Attempt, HTTPCallError, RetryPolicy
from connectors.klaviyo import KlaviyoClient
from connectors.mailchimp import MailchimpMarketingClient, MailchimpTransactionalClient
from storage.deliveries import AttemptRecord, get_delivery, record_attempt, set_delivery_status

logger = logging.getLogger(__name__)

PUSH_JOB = "worker.jobs.push_delivery_job"
PUSH_RETRY_INTERVALS_S = [60, 600, 3600]  # RQ-level retries after in-process ones ran out
# Pushes in flight at once per provider, across all workers (below each platform's limit:
# Mailchimp allows 10 simultaneous connections per key, PLATFORMS.md 4.1).
PUSH_CONCURRENCY = {"klaviyo": 16, "mailchimp": 8, "mailchimp_transactional": 8}
# Read at call time, so a test running jobs in a SimpleWorker can replace it (no real waits).
_sleep: Callable[[float], None] = time.sleep
# One client per provider and key per process: its session pools connections, so a worker
# does not pay a TLS handshake per push. Built from the settings, never shared across keys.
_CLIENTS: dict[tuple[str, str, float, str], PushClient] = {}


class DeliveryRetryLater(HTTPCallError):
    """Retries ran out this time; RQ's Retry will run the push again."""


def push_rate_limit(provider: str) -> RateLimit:
    """RQ's concurrency limit shared by every job that pushes to `provider` (keys are process
    settings, so one provider means one API key)."""
    return RateLimit(f"shoprec-push-{provider}", PUSH_CONCURRENCY.get(provider, 8))


def client_for(settings: Settings, provider: str) -> PushClient:
    """The provider's client with the key from settings (one per process: sessions pool
    connections). ValueError names the missing setting."""
    keys = {
        "klaviyo": settings.klaviyo_api_key,
        "mailchimp": settings.mailchimp_api_key,
        "mailchimp_transactional": settings.mailchimp_transactional_key,
    }
    if provider not in keys:
        raise ValueError(f"provider must be one of {sorted(keys)}, got {provider!r}")
    cache_key = (provider, keys[provider], settings.http_timeout_s, settings.klaviyo_base_url)
    client = _CLIENTS.get(cache_key)
    if client is None:
        timeout = settings.http_timeout_s
        if provider == "klaviyo":
            client = KlaviyoClient(
                keys[provider], timeout_s=timeout, base_url=settings.klaviyo_base_url
            )
        elif provider == "mailchimp":
            client = MailchimpMarketingClient(keys[provider], timeout_s=timeout)
        else:
            client = MailchimpTransactionalClient(keys[provider], timeout_s=timeout)
        _CLIENTS[cache_key] = client
    return client


def push_delivery(
    settings: Settings,
    db: sqlite_utils.Database,
    delivery_id: int,
    *,
    client: PushClient | None = None,
    policy: RetryPolicy = DEFAULT_PUSH_POLICY,
    sleep: Callable[[float], None] | None = None,
    last_try: bool = True,
) -> dict[str, Any]:
    """Send one delivery's steps; return {delivery_id, status, ...}.

    Raises:
        DeliveryRetryLater: retryable failures ran out and `last_try` is False (RQ retries).
    """
    delivery = get_delivery(db, delivery_id)
    if delivery is None:
        return {"delivery_id": delivery_id, "status": "missing"}
    summary = {"delivery_id": delivery_id, "provider": delivery["provider"]}
    if delivery["status"] in ("sent", "parked"):
        return {**summary, "status": delivery["status"], "skipped": True}
    try:
        client = client or client_for(settings, delivery["provider"])
    except (ValueError, ConnectorError) as exc:  # a missing or malformed key
        set_delivery_status(db, delivery_id, "parked", str(exc))
        return {**summary, "status": "parked", "error": str(exc)}
    number = int(delivery["attempts"])
    # Tries are written with the outcome in one transaction; one that waits before the next
    # try is written at once, so a crash during a long backoff still leaves it on record.
    unsaved: list[AttemptRecord] = []

    def on_attempt(attempt: Attempt) -> None:
        nonlocal number
        number += 1
        record = AttemptRecord(
            number, attempt.status, attempt.duration_ms, attempt.error, attempt.waited_s
        )
        if attempt.waited_s > 0:
            unsaved.append(record)
            for pending in unsaved:
                record_attempt(db, delivery_id, pending)
            unsaved.clear()
        else:
            unsaved.append(record)

    steps = [PushStep.from_json(s) for s in json.loads(delivery["payload"])["steps"]]
    kwargs: dict[str, Any] = {"policy": policy, "on_attempt": on_attempt, "sleep": sleep or _sleep}
    try:
        for step in steps:
            client.send(step, **kwargs)
    except HTTPCallError as exc:
        reason = f"{exc}: {exc.body}" if exc.body else str(exc)
        if exc.retryable and not last_try:
            set_delivery_status(db, delivery_id, "failed", reason, unsaved)
            raise DeliveryRetryLater(
                reason, status=exc.status, retryable=True, attempts=exc.attempts
            ) from exc
        set_delivery_status(db, delivery_id, "parked", reason, unsaved)
        logger.warning("delivery %s parked: %s", delivery_id, exc, extra={"delivery": delivery_id})
        return {**summary, "status": "parked", "error": reason}
    except PushRejected as exc:
        set_delivery_status(db, delivery_id, "parked", str(exc), unsaved)
        return {**summary, "status": "parked", "error": str(exc)}
    set_delivery_status(db, delivery_id, "sent", None, unsaved)
    return {**summary, "status": "sent", "attempts": number}
