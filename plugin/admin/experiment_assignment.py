"""Which experiment variant a storefront visitor gets: the serving path's one call into A/B tests.

`assignment_for(db, visitor_id, context)` answers from a short-lived per-store snapshot of the
running experiments (RunningExperiments), so a request pays no query while the snapshot is
fresh; the variant itself is a hash (storage.experiments.assign_variant), so it is sticky for a
visitor without storing anything, and attribution recomputes the same answer later. In an
automatic experiment whose split has moved, the hash goes through the split in force at the
visitor's first impression (storage.experiment_allocation.serving_arm: one indexed read).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from storage.experiment_allocation import serving_arm
from storage.experiments import HOLDOUT, Experiment, running_experiments

# How stale the snapshot may be: a started or stopped experiment reaches every web worker
# within this many seconds (the admin clears its own process's snapshot at once).
SNAPSHOT_TTL_S = 5.0


@dataclass(frozen=True)
class Assignment:
    """A visitor's place in a running experiment.

    holdout: True means "show no recommendations" (the holdout group of the lift figure).
    profile: {"weights": ..., "rules": ...} to serve with, or None for the shop's own settings
    (the holdout, or a variant with an empty profile such as a plain control).
    """

    experiment_id: int
    variant: str
    holdout: bool
    profile: Mapping[str, Any] | None


class RunningExperiments:
    """Running experiments per open store, re-read at most every `ttl_s` seconds.

    Keyed weakly by the Database object, so a closed store's snapshot goes with it; an explicit
    object (not a bare dict at module level) so tests and the admin can clear it.
    """

    def __init__(
        self, ttl_s: float = SNAPSHOT_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshots: weakref.WeakKeyDictionary[
            sqlite_utils.Database, tuple[float, tuple[Experiment, ...]]
        ] = weakref.WeakKeyDictionary()
        self.reads = 0  # how often the store was asked: lets tests see the caching

    def for_store(self, db: sqlite_utils.Database) -> tuple[Experiment, ...]:
        """The store's running experiments, from the snapshot while it is fresh."""
        now = self._clock()
        with self._lock:
            cached = self._snapshots.get(db)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        experiments = tuple(running_experiments(db))
        self.reads += 1
        with self._lock:
            self._snapshots[db] = (now, experiments)
        return experiments

    def clear(self) -> None:
        """Forget every snapshot (after this process started or stopped an experiment)."""
        with self._lock:
            self._snapshots.clear()


DEFAULT_SNAPSHOTS = RunningExperiments()


def experiment_for_context(experiments: tuple[Experiment, ...], context: str) -> Experiment | None:
    """The running experiment that covers `context`: its own, else one on 'all'."""
    own = next((e for e in experiments if e.context == context), None)
    return own or next((e for e in experiments if e.context == "all"), None)


def assignment_for(
    db: sqlite_utils.Database,
    visitor_id: str | None,
    context: str,
    *,
    snapshots: RunningExperiments | None = None,
) -> Assignment | None:
    """The visitor's assignment in the experiment running for `context`, or None.

    None when no experiment runs there, or when there is no visitor id: without one the
    assignment could not be sticky, so such requests get the shop's own settings and are
    left out of the experiment's figures.
    """
    if not visitor_id:
        return None
    experiment = experiment_for_context((snapshots or DEFAULT_SNAPSHOTS).for_store(db), context)
    if experiment is None:
        return None
    name = serving_arm(db, experiment, visitor_id)
    if name == HOLDOUT:
        return Assignment(experiment.experiment_id, HOLDOUT, True, None)
    profile = experiment.variant(name).profile
    return Assignment(experiment.experiment_id, name, False, dict(profile) if profile else None)
