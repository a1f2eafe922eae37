"""Outbound HTTP with bounded retries: the one place that decides what is worth retrying.

Every connector (Shopify, WooCommerce, Klaviyo, Mailchimp) sends through `send_with_retry` so
the rules are the same everywhere: 429 and 5xx and network errors are retried with exponential
backoff (honouring `Retry-After`), any other 4xx fails at once (retrying a bad request or a bad
token only burns the platform's rate limit - Saleor's "no retry on 4xx"). Each try is reported
as an `Attempt` so callers can store delivery attempts. `sleep` is injected so tests never wait.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.errors import ConnectorError, ConnectorSetupError

USER_AGENT = "shoprec/0.1 (+https://github.com/shoprec/shoprec)"
BODY_EXCERPT_CHARS = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: total attempts and the backoff curve."""

    max_attempts: int = 5  # total attempts, including the first
    base_delay_s: float = 0.5  # backoff: base * 2**(attempt-1), with jitter
    max_delay_s: float = 30.0  # cap for the backoff and for Retry-After

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConnectorSetupError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ConnectorSetupError("base_delay_s and max_delay_s must not be negative")

    def backoff_s(self, attempt_number: int, jitter: float) -> float:
        """Delay after failed attempt `attempt_number` (1-based); jitter in [0, 1) spreads herds."""
        raw = self.base_delay_s * 2 ** (attempt_number - 1)
        return min(self.max_delay_s, raw * (0.5 + jitter / 2))


@dataclass(frozen=True)
class Attempt:
    """One try, as the caller may record it (status None = no HTTP answer at all)."""

    number: int
    status: int | None
    duration_ms: float
    error: str | None
    waited_s: float  # how long we slept after this attempt before the next one (0 if none)


@dataclass
class HTTPCallError(ConnectorError):
    """The call failed for good: a non-retryable answer, or retries ran out."""

    message: str
    status: int | None = None
    body: str = ""
    retryable: bool = False
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def new_session(user_agent: str = USER_AGENT) -> requests.Session:
    """A fresh session per client object (no module-global session shared between shops)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def retry_after_s(
    value: str | None, policy: RetryPolicy, now: datetime | None = None
) -> float | None:
    """Parse `Retry-After` (delta seconds, possibly a float, or an HTTP-date), capped.

    Returns None when the header is absent or unparseable, so the caller falls back to backoff.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, min(policy.max_delay_s, seconds))


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def send_with_retry(
    session: requests.Session,
    method: str,
    url: str,
    *,
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass, safe as a default
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[Attempt], None] | None = None,
    timeout_s: float = 10.0,
    jitter: Callable[[], float] = random.random,
    **request_kwargs: Any,
) -> requests.Response:
    """Send one request, retrying 429/5xx/network errors; return the 2xx/3xx response.

    Raises:
        HTTPCallError: retryable=False at once on another 4xx; retryable=True when the
            attempts run out. `.attempts` lists every try.
    """
    attempts: list[Attempt] = []
    for number in range(1, policy.max_attempts + 1):
        started = time.perf_counter()
        response: requests.Response | None = None
        error: str | None = None
        try:
            response = session.request(method, url, timeout=timeout_s, **request_kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            error = f"{type(exc).__name__}: {exc}"
        duration_ms = (time.perf_counter() - started) * 1000
        status = response.status_code if response is not None else None
        last = number == policy.max_attempts

        if response is not None and not _is_retryable_status(response.status_code):
            if response.status_code < 400:
                _record(attempts, on_attempt, Attempt(number, status, duration_ms, None, 0.0))
                return response
            attempt = Attempt(number, status, duration_ms, f"HTTP {status}", 0.0)
            _record(attempts, on_attempt, attempt)
            raise HTTPCallError(
                f"{method} {_safe_url(url)} answered {status}; not retried (client error)",
                status=status,
                body=response.text[:BODY_EXCERPT_CHARS],
                retryable=False,
                attempts=attempts,
            )

        if error is None:
            error = f"HTTP {status}"
        wait = 0.0
        if not last:
            # Not `if response`: a Response is falsy for any 4xx/5xx.
            header = response.headers.get("Retry-After") if response is not None else None
            hinted = retry_after_s(header, policy)
            wait = hinted if hinted is not None else policy.backoff_s(number, jitter())
        _record(attempts, on_attempt, Attempt(number, status, duration_ms, error, wait))
        if last:
            raise HTTPCallError(
                f"{method} {_safe_url(url)} failed after {number} attempts; last: {error}",
                status=status,
                body=response.text[:BODY_EXCERPT_CHARS] if response is not None else "",
                retryable=True,
                attempts=attempts,
            )
        sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _record(
    attempts: list[Attempt], on_attempt: Callable[[Attempt], None] | None, attempt: Attempt
) -> None:
    attempts.append(attempt)
    if on_attempt is not None:
        on_attempt(attempt)


def _safe_url(url: str) -> str:
    """The URL without its query string: WooCommerce query-string auth puts keys there."""
    return url.split("?", 1)[0]
