"""The serving cache: shopper-independent answers and candidate pools per shop, with a TTL.

Redis-backed when settings.redis_url is set and answering (shared by workers and hosts), with
an in-process TTL + LRU dict in front of it that also serves alone when Redis is absent.
Keys carry the shop's generation (serving.generations: the Redis counter plus the marker
file beside the shop's store), so invalidation is a bump, never a scan. A dead Redis costs one
short timeout per RETRY_AFTER_S (a circuit breaker), not one per request: meanwhile the
in-process dict serves, and the marker file still carries invalidations between processes.
Values are JSON. The object is explicit (built by build_service, passed along), never global.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import redis
import sqlite_utils

from config import Settings
from serving.generations import generation_key, marker_stamp
from serving.metrics import record_cache_lookup
from serving.read_state import data_version_once
from serving.redis_breaker import RedisBreaker
from storage.db import data_version, open_shop_db, shop_db_path, shop_dir, store_url_for

V = TypeVar("V")

RETRY_AFTER_S = 5.0
MAX_LOCAL_ENTRIES = 20_000
# The Redis counter is re-read at most this often per shop: it only carries bumps from other
# hosts (the marker file, read on every request, carries this host's at once).
GENERATION_REFRESH_S = 1.0


class ServingCache:
    """Get/set JSON values per (shop, generation, key) with a TTL.

    Args:
        settings: data_dir (marker files), redis_url ('' = in-process only), cache_ttl_s.
        clock: monotonic seconds (injectable so tests can expire entries).
        max_entries: bound of the in-process dict (least recently used dropped first).
        retry_after_s: how long a failed Redis is left alone before it is tried again.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_LOCAL_ENTRIES,
        retry_after_s: float = RETRY_AFTER_S,
    ) -> None:
        self._settings = settings
        self._ttl_s = float(settings.cache_ttl_s)
        self._clock = clock
        self._max_entries = max_entries
        self._local: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._breaker = RedisBreaker(settings.redis_url, retry_after_s, clock, "the serving cache")
        self._counters: dict[str, tuple[float, int]] = {}
        self.hits = 0
        self.misses = 0

    # -- Redis and its circuit breaker -----------------------------------------------------

    def _client(self) -> redis.Redis | None:
        """The Redis client, or None when absent or while the breaker is open."""
        return self._breaker.client()

    def _trip(self, exc: Exception) -> None:
        self._breaker.trip(exc)

    def redis_state(self) -> str:
        """'absent' without redis_url, 'down' while the breaker is open or a ping fails."""
        if not self._settings.redis_url:
            return "absent"
        client = self._client()
        if client is None:
            return "down"
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            self._trip(exc)
            return "down"
        return "ok"

    # -- generations and entries -----------------------------------------------------------

    def generation(self, shop: str) -> str:
        """The shop's current generation token (part of every key of the shop)."""
        marker = marker_stamp(shop_dir(self._settings.data_dir, shop))
        client = self._client()
        if client is None:
            return f"l.{marker}"
        now = self._clock()
        known = self._counters.get(shop)
        if known is not None and known[0] > now:
            return f"r{known[1]}.{marker}"
        try:
            counter = int(client.get(generation_key(shop)) or 0)
        except (redis.RedisError, OSError) as exc:
            self._trip(exc)
            return f"l.{marker}"
        self._counters[shop] = (now + GENERATION_REFRESH_S, counter)
        return f"r{counter}.{marker}"

    def _full_key(self, shop: str, generation: str, key: Hashable) -> str:
        return f"shoprec:{shop}:{generation}:{json.dumps(key, separators=(',', ':'))}"

    def get(self, shop: str, generation: str, key: Hashable) -> Any | None:
        """The cached value, or None when absent or expired (in-process first, then Redis)."""
        full = self._full_key(shop, generation, key)
        raw: str | bytes | None = self._local_get(full)
        client = self._client() if generation.startswith("r") and raw is None else None
        if client is not None:
            try:
                raw = client.get(full)
            except (redis.RedisError, OSError) as exc:
                self._trip(exc)
            if raw is not None:
                self._local_set(full, raw.decode() if isinstance(raw, bytes) else raw)
        record_cache_lookup(shop, raw is not None)
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(raw)

    def set(self, shop: str, generation: str, key: Hashable, value: Any) -> None:
        """Store `value` (JSON-able) for the TTL."""
        full = self._full_key(shop, generation, key)
        raw = json.dumps(value, separators=(",", ":"))
        self._local_set(full, raw)
        client = self._client() if generation.startswith("r") else None
        if client is not None:
            try:
                client.set(full, raw, ex=max(1, int(self._ttl_s)))
            except (redis.RedisError, OSError) as exc:
                self._trip(exc)

    def _local_get(self, full: str) -> str | None:
        now = self._clock()
        with self._lock:
            hit = self._local.get(full)
            if hit is None:
                return None
            if hit[0] <= now:
                del self._local[full]
                return None
            self._local.move_to_end(full)
            return hit[1]

    def _local_set(self, full: str, raw: str) -> None:
        with self._lock:
            self._local[full] = (self._clock() + self._ttl_s, raw)
            self._local.move_to_end(full)
            while len(self._local) > self._max_entries:
                self._local.popitem(last=False)


class ShopReaders:
    """One long-lived read connection per shop, for the fresh reads of a cache hit.

    A cached answer keeps its picks, not its display fields: price, title and stock must be
    the store's current ones. Opening a store per request (pragmas + schema check, ~0.4 ms)
    would cost more than the read, so each shop keeps a reader; and what a read built is
    memoised until SQLite's `PRAGMA data_version` says another connection committed, so an
    idle store costs one pragma per request and any write (webhook, import, admin, test)
    is seen by the very next request. WAL lets these readers see other processes' commits.
    A request asks several memoised reads; inside `one_store_state` they share one pragma.
    """

    def __init__(
        self,
        data_dir: Path,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_LOCAL_ENTRIES,
    ) -> None:
        self._data_dir = data_dir
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_entries = max_entries
        self._dbs: dict[str, sqlite_utils.Database] = {}
        self._memo: OrderedDict[tuple[str, str], tuple[int, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, shop: str, memo_key: str, reader: Callable[[sqlite_utils.Database], Any]) -> Any:
        """`reader(db)` on the shop's read connection, memoised while the store is unchanged.

        Callers must treat the value as read-only: the next request may get the same object.
        A None from `reader` is passed on and not memoised.
        """
        with self._lock:
            db = self._dbs.get(shop)
            if db is None:
                db = self._dbs[shop] = self._connect(shop)
            version = data_version_once(self, shop, partial(data_version, db))
            now = self._clock()
            hit = self._memo.get((shop, memo_key))
            if hit is not None and hit[0] == version and hit[1] > now:
                self._memo.move_to_end((shop, memo_key))
                return hit[2]
            value = reader(db)
            if value is None:  # nothing to remember: the caller computes and caches
                return None
            self._memo[(shop, memo_key)] = (version, now + self._ttl_s, value)
            while len(self._memo) > self._max_entries:
                self._memo.popitem(last=False)
            return value

    def _connect(self, shop: str) -> sqlite_utils.Database:
        """The shop's read connection: its SQLite file opened as is (no pragmas or schema
        check: this connection only reads), or its schema in the shared PostgreSQL store."""
        if store_url_for(self._data_dir):
            return open_shop_db(self._data_dir, shop, create=False)
        conn = sqlite3.connect(
            str(shop_db_path(self._data_dir, shop)), timeout=30, check_same_thread=False
        )
        return sqlite_utils.Database(conn)

    def close(self) -> None:
        """Close every shop's read connection and forget the memos (a short-lived owner,
        such as a worker job, calls this when done)."""
        with self._lock:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()
            self._memo.clear()


class ExpiringValues(Generic[V]):
    """Per-shop values that expire after `ttl_s` seconds (an explicit, testable cache).

    For reads that may be a few seconds stale but are too costly per request: unavailable
    ids (stock), impression counts (exploration).
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._values: dict[tuple[str, str], tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], compute: Callable[[], V]) -> V:
        """The cached value for `key`, recomputed with `compute` once it is older than the TTL."""
        now = self._clock()
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and now - hit[0] < self._ttl_s:
                return hit[1]
        value = compute()
        with self._lock:
            # Drop expired keys as we go: keys carry the date, so old days would pile up.
            self._values = {k: v for k, v in self._values.items() if now - v[0] < self._ttl_s}
            self._values[key] = (now, value)
        return value


class ExpiringSets(ExpiringValues[frozenset[str]]):
    """Per-shop id sets that expire after `ttl_s` seconds."""

    def get(  # type: ignore[override]
        self, key: tuple[str, str], compute: Callable[[], Iterable[str]]
    ) -> frozenset[str]:
        """The cached set for `key`, recomputed with `compute` once it is older than the TTL."""
        return super().get(key, lambda: frozenset(compute()))
