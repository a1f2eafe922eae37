"""The engine's candidate pools kept in the serving process, as the objects it made.

A product page's pool is the same for every visitor (engine ShopModels.pool_is_shared) and
is asked by each of them. Recomputing it costs about half a millisecond; fetching it from
Redis cost almost as much (a round trip and JSON for up to 216 rows), so pools stay in the
process that made them, keyed by the shop's list generation: a retrain, a catalog or
settings change, or new orders move the key, and the stale entries age out of the LRU.

A pool is kept as tuples of plain values (PoolRow), without its reasons, not as the engine's
objects: tuples of strings and floats are left alone by Python's cyclic garbage collector,
where thousands of pools of objects made every full collection a pause that showed in the
slowest answers, and nothing kept refers to the models, which a retrain replaces. Reasons
are written for the items a request shows (ShopModels.explainer) and kept beside the pool:
the pool's request is the same for every visitor, so is each item's reason, and a popular
page writes each of its reasons once instead of on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from functools import partial

from engine.base import Recommendation
from engine.deferred import DeferredReason

# product_id, score, strategy, per-model scores as (source, score) pairs
PoolRow = tuple[str, float, str, tuple[tuple[str, float], ...]]
# (product_id, strategy) -> the reason the engine gives that item in this pool
Explain = Callable[[str, str], str]

MAX_POOLS = 2048  # per process: a few hundred popular pages x slots, with room to spare


class PoolMemo:
    """A bounded, thread-safe LRU of pools, shared by the requests of one process."""

    def __init__(self, max_entries: int = MAX_POOLS) -> None:
        self._max_entries = max_entries
        # key -> (the pool's rows, the reasons written so far by (product_id, strategy))
        self._pools: OrderedDict[
            Hashable, tuple[tuple[PoolRow, ...], dict[tuple[str, str], str]]
        ] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        key: Hashable,
        compute: Callable[[], Iterable[Recommendation]],
        skip: frozenset[str],
        limit: int,
        explain: Explain,
    ) -> list[Recommendation] | None:
        """The first `limit` recommendations of the pool of `key` whose ids are not in
        `skip`, their reasons written by `explain` when read; the pool is computed by
        `compute` when absent.

        None when skipped ids leave fewer than `limit` of a pool that may have had more to
        give: then only the shopper's own computation holds the list they are owed.
        """
        with self._lock:
            entry = self._pools.get(key)
            if entry is not None:
                self._pools.move_to_end(key)
        if entry is None:
            rows = tuple(
                (r.product_id, r.score, r.strategy, tuple(r.scores.items())) for r in compute()
            )
            entry = (rows, {})
            with self._lock:
                self._pools[key] = entry
                while len(self._pools) > self._max_entries:
                    self._pools.popitem(last=False)
        rows, reasons = entry
        kept: list[Recommendation] = []
        skipped = False
        for pid, score, strategy, scores in rows:
            if pid in skip:
                skipped = True
                continue
            reason = partial(_kept_reason, reasons, explain, pid, strategy)
            kept.append(DeferredReason(pid, score, strategy, reason, dict(scores)))
            if len(kept) == limit:
                return kept
        return None if skipped else kept

    def clear(self) -> None:
        """Forget every pool."""
        with self._lock:
            self._pools.clear()


def _kept_reason(
    reasons: dict[tuple[str, str], str], explain: Explain, product_id: str, strategy: str
) -> str:
    """The pool's reason for the item, written by `explain` the first time any request asks
    (two requests racing may both write it: the same text, so the last write is harmless)."""
    written = reasons.get((product_id, strategy))
    if written is None:
        written = reasons[(product_id, strategy)] = explain(product_id, strategy)
    return written
