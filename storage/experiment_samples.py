"""Each variant's exposed sessions and the attributed revenue of each: the raw material of the
verdict (plugin admin) and of automatic allocation (worker), computed one way for both."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from storage.attribution import attributed_lines
from storage.experiments import Experiment
from storage.performance import exposed_sessions


@dataclass(frozen=True)
class ArmSessions:
    """One variant's impressions, clicks and per-session revenue (float array, one entry per
    exposed session, zeros included)."""

    name: str
    impressions: int
    clicks: int
    session_revenue: np.ndarray


def arm_sessions(
    db: sqlite_utils.Database, experiment: Experiment, window_hours: int, now: str
) -> list[ArmSessions]:
    """Per variant (control first): sessions are the exposed ones (an impression in the
    experiment's context while it ran); revenue is the last-click revenue of clicks the
    experiment covered, bought until the window after the stop has passed."""
    start = experiment.started_at or now
    end = experiment.stopped_at or now
    traffic = exposed_sessions(db, experiment, start, end)
    revenue: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in attributed_lines(db, start, "9999", window_hours):
        if line.experiment_id == experiment.experiment_id and line.variant:
            session = line.session_id or line.visitor_id or ""
            revenue[line.variant][session] += line.revenue
    arms = []
    for variant in experiment.variants:
        arm = traffic.get(variant.name, {"impressions": 0, "clicks": 0, "sessions": set()})
        sessions = set(arm["sessions"]) | set(revenue[variant.name])
        values = np.array([revenue[variant.name].get(s, 0.0) for s in sorted(sessions)])
        arms.append(
            ArmSessions(
                variant.name,
                int(arm["impressions"]),
                min(int(arm["clicks"]), int(arm["impressions"])),
                values.astype(float),
            )
        )
    return arms
