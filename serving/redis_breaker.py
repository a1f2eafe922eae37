"""A Redis client behind a circuit breaker, for what the web app can do without Redis.

The serving cache and the events rate limit both keep working in-process when Redis is down;
neither may make every request wait for a timeout meanwhile. So after one failure the client
is skipped for `retry_after_s`, and the outage is logged once when the breaker opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

logger = logging.getLogger(__name__)

# A healthy local Redis answers in well under a millisecond; past this, serve without it.
SOCKET_TIMEOUT_S = 0.08


class RedisBreaker:
    """A lazily made client for `url` ('' = no Redis), None while the breaker is open."""

    def __init__(
        self, url: str, retry_after_s: float, clock: Callable[[], float], purpose: str
    ) -> None:
        self._url = url
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._purpose = purpose
        self._redis: redis.Redis | None = None
        self._down_until = 0.0

    @property
    def configured(self) -> bool:
        return bool(self._url)

    def client(self) -> redis.Redis | None:
        """The client, or None without a URL or while the breaker is open."""
        if not self._url or self._clock() < self._down_until:
            return None
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                self._url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
            )
        return self._redis

    def trip(self, exc: Exception) -> None:
        """Open the breaker for retry_after_s after a failed call."""
        if self._clock() >= self._down_until:
            logger.warning(
                "Redis unreachable for %s (%s); in-process for the next %.0f s",
                self._purpose,
                exc,
                self._retry_after_s,
            )
        self._down_until = self._clock() + self._retry_after_s
