"""Building the Redis connection from settings: the one place a worker-side Redis is made.

Nothing holds a module-level connection (STYLE.md 7): each process entry point calls
`get_redis(settings)` once and passes the connection down.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis

from config import Settings
from worker.errors import RedisNotConfigured

REDIS_URL_EXAMPLE = "redis://127.0.0.1:6379/0"


def get_redis(settings: Settings) -> redis.Redis:
    """A Redis client for settings.redis_url; raises RedisNotConfigured when it is empty.

    The client connects lazily: a wrong host surfaces as redis.ConnectionError on first use.
    """
    if not settings.redis_url:
        raise RedisNotConfigured(
            f"REDIS_URL is not set: queues and the worker need Redis "
            f"(e.g. REDIS_URL={REDIS_URL_EXAMPLE})"
        )
    return redis.Redis.from_url(settings.redis_url)


def redact_redis_url(url: str) -> str:
    """The URL with any password replaced by '***', for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
