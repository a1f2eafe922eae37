"""The web app's one Redis client for enqueueing jobs (webhook receipts, browse timers).

Made once per app and kept in app.extensions, so its connection pool is reused: a new client
per request cost a TCP connect each time (bench/backfill.py). Short timeouts, because every
caller answers an HTTP request and has a fallback when Redis does not answer (the webhook
inbox processes inline, the events endpoint leaves views to the browse sweep).
"""

from __future__ import annotations

import redis
from flask import current_app

from config import Settings

QUEUE_REDIS_KEY = "shoprec.queue_redis"
TIMEOUT_S = 0.5


def queue_redis(settings: Settings) -> redis.Redis | None:
    """The app's enqueueing client; None when REDIS_URL is not set."""
    if not settings.redis_url:
        return None
    client: redis.Redis | None = current_app.extensions.get(QUEUE_REDIS_KEY)
    if client is None:
        client = current_app.extensions[QUEUE_REDIS_KEY] = redis.Redis.from_url(
            settings.redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
    return client
