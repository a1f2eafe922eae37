"""Per-visitor rate limit of POST /api/v1/events: a fixed window counted in Redis.

Each request adds its number of events to the counter of its visitor for the current window
(INCRBY + EXPIRE in one pipeline, so every worker and host shares one count); past the limit
the whole request is refused with 429 and Retry-After (the seconds left in the window).

Redis absent or down: an in-process counter takes over, so each worker still limits (the
effective limit is then the setting times the number of workers). Its memory is bounded:
at most `max_local_keys` visitors per window, the least recently seen dropped first, and the
whole dict is dropped when the window turns. A dead Redis costs one short timeout per
RETRY_AFTER_S (a circuit breaker), not one per beacon.

The visitor is whatever the body names (visitor_id, else session_id) or the client address:
a client can rotate ids to dodge the limit, so this protects the store from a runaway page
or a careless script, not from a determined attacker (a proxy's per-IP limit does that).
Behind a reverse proxy the address is the proxy's, so id-less posts share one count there;
the widget always sends a visitor id, so only hand-written clients fall back to it.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis

from serving.redis_breaker import RedisBreaker

KEY_PREFIX = "shoprec:rate:events"
RETRY_AFTER_S = 5.0
MAX_LOCAL_KEYS = 50_000
MAX_COST = 100  # plugin.storefront.request_params.MAX_EVENT_BATCH
_ID_KINDS = ("visitor_id", "session_id")


def visitor_key(payload: Any, client_address: str | None) -> str:
    """Who is posting: the first event's visitor_id, else its session_id, else the address.

    Read from the raw payload before validation, so junk bodies are counted too (they fall
    back to the address). Hashed, so the Redis key is short whatever the client sent.
    """
    first = payload[0] if isinstance(payload, list) and payload else payload
    who = f"ip:{client_address or 'unknown'}"
    if isinstance(first, dict):
        for kind in _ID_KINDS:
            value = first.get(kind)
            if isinstance(value, str) and value:
                who = f"{kind}:{value[:128]}"
                break
    return hashlib.sha1(who.encode("utf-8", "replace")).hexdigest()[:24]


def event_count(payload: Any, most: int = MAX_COST) -> int:
    """How many events a body holds (a non-list counts as one): the cost charged to the limit.

    At most `most`: a batch over the API's maximum is refused (413) without being read, so it
    costs no more than a full batch.
    """
    count = len(payload) if isinstance(payload, list) else 1
    return min(max(count, 1), most)


class EventRateLimiter:
    """Counts events per visitor per fixed window; says how long to wait once over the limit.

    Args:
        redis_url: the shared counter's Redis; '' = in-process only.
        limit: events allowed per visitor per window.
        window_s: the window's length in seconds.
        clock: wall-clock seconds (injectable so tests can move time).
        max_local_keys: bound of the in-process fallback's dict.
        retry_after_s: how long a failed Redis is left alone before it is tried again.
    """

    def __init__(
        self,
        redis_url: str,
        limit: int,
        window_s: int,
        clock: Callable[[], float] = time.time,
        max_local_keys: int = MAX_LOCAL_KEYS,
        retry_after_s: float = RETRY_AFTER_S,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_local_keys = max_local_keys
        self._breaker = RedisBreaker(redis_url, retry_after_s, clock, "the events rate limit")
        self._local: OrderedDict[str, int] = OrderedDict()
        self._local_window = -1
        self._lock = threading.Lock()

    def charge(self, key: str, cost: int = 1) -> int | None:
        """Add `cost` events for `key`; None when allowed, else the seconds to wait (>= 1)."""
        now = self._clock()
        window = int(now // self.window_s)
        count = self._count_in_redis(key, window, cost)
        if count is None:
            count = self._count_locally(key, window, cost)
        if count <= self.limit:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))

    @property
    def local_keys(self) -> int:
        """How many visitors the in-process fallback tracks now (bounded by max_local_keys)."""
        with self._lock:
            return len(self._local)

    def _count_in_redis(self, key: str, window: int, cost: int) -> int | None:
        client = self._breaker.client()
        if client is None:
            return None
        name = f"{KEY_PREFIX}:{window}:{key}"
        try:
            pipe = client.pipeline(transaction=False)
            pipe.incrby(name, cost)
            # A little longer than the window, so a slow clock never reads a vanished count.
            pipe.expire(name, self.window_s + 5)
            count, _ = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self._breaker.trip(exc)
            return None
        return int(count)

    def _count_locally(self, key: str, window: int, cost: int) -> int:
        with self._lock:
            if window != self._local_window:
                self._local.clear()
                self._local_window = window
            count = self._local.pop(key, 0) + cost
            self._local[key] = count
            while len(self._local) > self._max_local_keys:
                self._local.popitem(last=False)
            return count
