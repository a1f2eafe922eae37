"""What every email-platform push is made of: planned HTTP steps, sent through one client.

A push is planned as plain `PushStep`s (method, path, JSON body) *without* credentials, so
the plan can be stored in the deliveries table and re-sent by a retry exactly as it was
built, and no secret ever lands in the store. Each provider's client adds its own auth and
base URL when it sends (connectors/email/klaviyo.py, connectors/email/mailchimp.py), through
connectors.http_client.send_with_retry, which owns the retry rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import requests

from connectors.errors import ConnectorError
from connectors.http_client import Attempt, RetryPolicy, new_session, send_with_retry


@dataclass(frozen=True)
class PushStep:
    """One HTTP call of a push. `path` is relative to the provider's base URL."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The step as stored in deliveries.payload."""
        return {"method": self.method, "path": self.path, "body": self.body}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PushStep:
        """A step read back from deliveries.payload."""
        return cls(str(data["method"]), str(data["path"]), dict(data.get("body") or {}))


@dataclass(frozen=True)
class PushItem:
    """One recommended product as the platforms receive it (url = tracked click link)."""

    product_id: str
    title: str
    url: str
    image_url: str
    price: str
    reason: str


class PushRejected(ConnectorError):
    """The platform answered 2xx but refused the message (e.g. Mandrill 'rejected'): permanent."""


class SentCheck(StrEnum):
    """What a platform can tell about a step whose sender died mid-request."""

    RESEND_SAFE = "resend_safe"  # the platform dedupes a repeat (idempotency key, a PUT/PATCH)
    SENT = "sent"  # the platform has it: do not send again
    NOT_SENT = "not_sent"  # the platform has no trace of it: send
    UNKNOWN = "unknown"  # no way to tell: sending could make a second mail


# The key under which a step carries its delivery's idempotency key where the platform keeps
# it for us to look up (Mandrill message metadata, Mailchimp member-event properties).
DELIVERY_KEY_FIELD = "shoprec_delivery"


class PushClient(Protocol):
    """A provider client: sends one planned step with its auth, retrying per the policy."""

    provider: str

    def check_sent(
        self,
        step: PushStep,
        key: str,
        *,
        policy: RetryPolicy = ...,
        sleep: Callable[[float], None] = ...,
    ) -> SentCheck:
        """Whether `step` (of the delivery with idempotency `key`) already reached the
        platform, asked before re-sending a step whose sender died mid-request."""
        ...

    def send(
        self,
        step: PushStep,
        *,
        policy: RetryPolicy = ...,
        sleep: Callable[[float], None] = ...,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> requests.Response:
        """Send `step`; raise HTTPCallError (from send_with_retry) or PushRejected."""
        ...


# In-process retries keep a worker busy while they wait, so they stay short (at most ~30 s
# in all); a platform that is still throttling or down after that is retried by RQ later.
DEFAULT_PUSH_POLICY = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=15.0)
SLEEP: Callable[[float], None] = time.sleep


class ProviderClient:
    """The HTTP side every provider client shares: one session, a base URL, and each step
    sent through send_with_retry; subclasses add their auth to `_send`'s keywords."""

    provider = ""

    def __init__(self, session: requests.Session | None, base_url: str, timeout_s: float) -> None:
        self._session = session or new_session()
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    def check_sent(
        self,
        step: PushStep,
        key: str,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
    ) -> SentCheck:
        """No way to tell by default: the caller parks the delivery instead of risking a
        second mail. Providers override this with their idempotency or look-up."""
        return SentCheck.UNKNOWN

    def _send(
        self,
        step: PushStep,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        on_attempt: Callable[[Attempt], None] | None,
        **kwargs: Any,
    ) -> requests.Response:
        return send_with_retry(
            self._session,
            step.method,
            f"{self._base_url}{step.path}",
            policy=policy,
            sleep=sleep,
            on_attempt=on_attempt,
            timeout_s=self._timeout_s,
            **kwargs,
        )
