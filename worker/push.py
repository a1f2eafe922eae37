"""Sending a stored delivery to its email platform, recording every try (Saleor-style).

A delivery row holds the planned steps (connectors.email.push.PushStep, no secrets). Sending:
- a row already 'sent' or 'parked' is left alone: nothing is ever sent twice;
- a push first claims the row (storage.delivery_claims: one worker at a time) and records
  each step the platform answered; a claim left by a sender that died mid-request is taken
  over after CLAIM_LEASE, and the step that was in flight is re-sent only when the platform
  dedupes it (Klaviyo's unique_id, a PATCH) or says it never got it; when it cannot tell,
  the delivery is parked for the owner rather than risk a second mail;
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
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import sqlite_utils
from rq.rate_limit import RateLimit

from config import Settings
from connectors.email.klaviyo import KlaviyoClient
from connectors.email.mailchimp import MailchimpMarketingClient, MailchimpTransactionalClient
from connectors.email.push import (
    DEFAULT_PUSH_POLICY,
    PushClient,
    PushRejected,
    PushStep,
    SentCheck,
)
from connectors.errors import ConnectorError
from connectors.http_client import Attempt, HTTPCallError, RetryPolicy
from storage.deliveries import AttemptRecord, get_delivery, record_attempt, set_delivery_status
from storage.delivery_claims import Claim, claim_delivery, record_steps_done
from worker.errors import UnknownProvider
from worker.process_claims import claim_holder_gone, new_claim_token

logger = logging.getLogger(__name__)

PUSH_JOB = "worker.jobs.push_delivery_job"
PUSH_RETRY_INTERVALS_S = (60, 600, 3600)  # RQ-level retries after in-process ones ran out
# A push job dies at RQ's 180 s job timeout at most, so a claim this old has no live sender.
CLAIM_LEASE = timedelta(minutes=10)
# Pushes in flight at once per provider, across all workers (below each platform's limit:
# Mailchimp allows 10 simultaneous connections per key, PLATFORMS.md 4.1).
PUSH_CONCURRENCY = MappingProxyType({"klaviyo": 16, "mailchimp": 8, "mailchimp_transactional": 8})
# Read at call time, so a test running jobs in a SimpleWorker can replace it (no real waits).
_sleep: Callable[[float], None] = time.sleep


class DeliveryRetryLater(HTTPCallError):
    """Retries ran out this time; RQ's Retry will run the push again."""


def push_job_id(shop: str, delivery_id: int) -> str:
    """The one RQ job id a delivery's later push runs under (RQ ids allow no '.')."""
    return f"push-{shop.replace('.', '_')}-{int(delivery_id)}"


def push_rate_limit(provider: str) -> RateLimit:
    """RQ's concurrency limit shared by every job that pushes to `provider` (keys are process
    settings, so one provider means one API key)."""
    return RateLimit(f"shoprec-push-{provider}", PUSH_CONCURRENCY.get(provider, 8))


def _klaviyo(settings: Settings) -> PushClient:
    return KlaviyoClient(
        settings.klaviyo_api_key,
        timeout_s=settings.http_timeout_s,
        base_url=settings.klaviyo_base_url,
    )


def _mailchimp(settings: Settings) -> PushClient:
    return MailchimpMarketingClient(settings.mailchimp_api_key, timeout_s=settings.http_timeout_s)


def _mailchimp_transactional(settings: Settings) -> PushClient:
    return MailchimpTransactionalClient(
        settings.mailchimp_transactional_key, timeout_s=settings.http_timeout_s
    )


# The email providers a delivery can go to: name -> its client built from the settings.
# Adding a provider is its client in connectors/email/ and one line here (plus its plan in
# worker/campaigns.plan_push).
PROVIDER_CLIENTS: Mapping[str, Callable[[Settings], PushClient]] = MappingProxyType(
    {
        "klaviyo": _klaviyo,
        "mailchimp": _mailchimp,
        "mailchimp_transactional": _mailchimp_transactional,
    }
)


def client_for(settings: Settings, provider: str) -> PushClient:
    """The provider's client with the key from settings. A push job sends one delivery, so
    each job builds its own client (its session pools that delivery's steps); nothing is
    kept per process. UnknownProvider names the providers there are."""
    make = PROVIDER_CLIENTS.get(provider)
    if make is None:
        known = sorted(PROVIDER_CLIENTS)
        raise UnknownProvider(f"provider must be one of {known}, got {provider!r}")
    return make(settings)


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
    claim = claim_delivery(
        db, delivery_id, new_claim_token(), CLAIM_LEASE, holder_gone=claim_holder_gone
    )
    if claim is None:
        current = get_delivery(db, delivery_id) or delivery
        return {**summary, "status": current["status"], "skipped": True, "claimed": True}
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
        unknown = _send_steps(db, client, claim, steps, delivery["idempotency_key"], kwargs)
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
    if unknown is not None:
        set_delivery_status(db, delivery_id, "parked", unknown, unsaved)
        logger.warning(
            "delivery %s parked: %s", delivery_id, unknown, extra={"delivery": delivery_id}
        )
        return {**summary, "status": "parked", "error": unknown}
    set_delivery_status(db, delivery_id, "sent", None, unsaved)
    return {**summary, "status": "sent", "attempts": number, "resumed": claim.taken_over}


def _send_steps(
    db: sqlite_utils.Database,
    client: PushClient,
    claim: Claim,
    steps: list[PushStep],
    key: str,
    kwargs: dict[str, Any],
) -> str | None:
    """Send the steps not yet answered, each recorded once answered. After a takeover, the
    step that was in flight is first checked with the platform; return why the delivery
    must be parked when the platform cannot tell whether it already has it (else None)."""
    check = {"policy": kwargs["policy"], "sleep": kwargs["sleep"]}
    for index in range(claim.steps_done, len(steps)):
        step = steps[index]
        if claim.taken_over and index == claim.steps_done:
            answer = client.check_sent(step, key, **check)
            if answer is SentCheck.UNKNOWN:
                return (
                    f"the sender died during {step.method} {step.path.split('?')[0]}, which "
                    f"{client.provider} can neither dedupe nor look up: it may have been sent. "
                    "Check the platform; replay with `shoprec campaigns push --replay-parked`."
                )
            if answer is SentCheck.SENT:
                record_steps_done(db, claim.delivery_id, claim.token, index + 1)
                continue
        client.send(step, **kwargs)
        record_steps_done(db, claim.delivery_id, claim.token, index + 1)
    return None
