"""Automatic allocation rounds: for each running experiment in automatic mode, the evidence so
far (exposed sessions, converting sessions, attributed revenue per variant) goes through
engine.experiment_allocation's Thompson sampling and the new split is stored
(storage.experiment_allocation), taking effect a minute later on every serving process.

Run for every shop every hour (worker/schedules.py). Hourly: often enough that a
clear loser stops costing sales within the day, rarely enough that the split does not chase
the noise of one busy hour; each visitor keeps the variant they were first shown, so only new
visitors follow the split.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlite_utils

from engine.experiment_allocation import ArmEvidence, thompson_shares
from storage.attribution import attribution_window_hours
from storage.experiment_allocation import record_allocation
from storage.experiment_samples import arm_sessions
from storage.experiments import Experiment, running_experiments


def evidence(
    db: sqlite_utils.Database, experiment: Experiment, window_hours: int, now: str
) -> list[ArmEvidence]:
    """Each variant's sessions, converting sessions and revenue so far (control first)."""
    return [
        ArmEvidence(
            arm.name,
            int(len(arm.session_revenue)),
            int(np.count_nonzero(arm.session_revenue > 0)),
            float(np.clip(arm.session_revenue, 0.0, None).sum()),
        )
        for arm in arm_sessions(db, experiment, window_hours, now)
    ]


def reallocate_experiment(
    db: sqlite_utils.Database, experiment: Experiment, window_hours: int, moment: datetime
) -> dict[str, Any]:
    """One round for one running automatic experiment: its evidence through Thompson sampling,
    the new split stored; returns what was stored. The hourly round and the admin's
    "Reallocate now" button both come through here, so they cannot disagree.

    Raises ExperimentError (from storage) for an experiment that is not running automatic.
    """
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    arms = evidence(db, experiment, window_hours, stamp)
    shares = thompson_shares(arms, experiment.holdout_share, experiment.min_share)
    effective_from = record_allocation(db, experiment, shares, now=moment)
    return {
        "experiment_id": experiment.experiment_id,
        "effective_from": effective_from,
        "shares": shares,
        "sessions": {a.name: a.sessions for a in arms},
    }


def reallocate(
    db: sqlite_utils.Database, default_window_hours: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One round over the shop's running automatic experiments; returns what was stored."""
    moment = now or datetime.now(UTC)
    window = attribution_window_hours(db, default_window_hours)
    return [
        reallocate_experiment(db, experiment, window, moment)
        for experiment in running_experiments(db)
        if experiment.allocation == "automatic"
    ]
