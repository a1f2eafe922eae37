"""Recommendations whose reason sentence and per-model scores are written when first read.

A served list pools four times the items it shows (engine.rules.pool_size) so the business
rules have room to work; the rules read each pooled item's score, category and price, but
only the items finally shown (or explored) are ever asked for their reason, and only the
admin's explorer and the cached pools read the per-model scores. Writing both for every
pooled item was a fifth of the engine's time per request. These values are the same
whenever they are read: they depend on the fitted models and the request's evidence, which
do not change after the recommendation is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from engine.base import Recommendation


class ScoreRow(Mapping[str, float]):
    """One item's per-model scores, read from the blend's per-source arrays on demand."""

    __slots__ = ("_parts", "_pos")

    def __init__(self, parts: Mapping[str, np.ndarray], pos: int) -> None:
        self._parts = parts
        self._pos = pos

    def __getitem__(self, source: str) -> float:
        return float(self._parts[source][self._pos])

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __repr__(self) -> str:
        return repr(dict(self))


class DeferredReason(Recommendation):
    """A Recommendation whose reason is computed by `explain()` the first time it is read.

    `dataclasses.replace` (the rules and exploration rewrite strategies and reasons) builds
    another DeferredReason through this constructor, with the reason given as text.
    """

    def __init__(
        self,
        product_id: str,
        score: float,
        strategy: str,
        reason: str | Callable[[], str],
        scores: Mapping[str, float] | None = None,
    ) -> None:
        # One dict update, not five frozen-dataclass setattrs: ~30 of these per request.
        self.__dict__.update(
            product_id=product_id,
            score=score,
            strategy=strategy,
            scores={} if scores is None else scores,
            _reason=reason,
        )

    @property  # type: ignore[override]
    def reason(self) -> str:
        written: Any = self.__dict__["_reason"]
        if callable(written):
            written = self.__dict__["_reason"] = written()
        return str(written)

    def with_score(self, score: float) -> Recommendation:
        """Another score, the reason still unwritten."""
        copy = object.__new__(DeferredReason)
        copy.__dict__.update(self.__dict__, score=score)
        return copy
