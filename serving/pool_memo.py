"""The engine's candidate pools kept in the serving process, as the objects it made.

A product page's pool is the same for every visitor (engine ShopModels.pool_is_shared) and
is asked by each of them. Recomputing it costs about half a millisecond; fetching it from
Redis cost almost as much (a round trip and JSON for up to 216 rows), so pools stay in the
process that made them, keyed by the shop's list generation: a retrain, a catalog or
settings change, or new orders move the key, and the stale entries age out of the LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from engine.base import Recommendation

MAX_POOLS = 2048  # per process: a few hundred popular pages x slots, with room to spare


class PoolMemo:
    """A bounded, thread-safe LRU of pools. Pools are shared between requests and must be
    treated as read-only (reasons the engine defers are written into them once, read alike).
    """

    def __init__(self, max_entries: int = MAX_POOLS) -> None:
        self._max_entries = max_entries
        self._pools: OrderedDict[Hashable, tuple[Recommendation, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, compute: Callable[[], Sequence[Recommendation]]
    ) -> tuple[Recommendation, ...]:
        """The pool of `key`, computed by `compute` when absent."""
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
        pool = tuple(compute())
        with self._lock:
            self._pools[key] = pool
            while len(self._pools) > self._max_entries:
                self._pools.popitem(last=False)
        return pool

    def clear(self) -> None:
        """Forget every pool."""
        with self._lock:
            self._pools.clear()
