"""Automatic experiment allocation in the store: the history of splits, and which variant a
visitor belongs to once the split has moved.

A visitor's variant is their hash point (storage.experiments.bucket_of) mapped through the
split in force at their first exposure, their first impression in the experiment's context
while it ran; a visitor not yet exposed gets the split in force now. Nothing is written on the
storefront path: the first exposure is the impression event the widget reports anyway, and a
new split takes effect a little after it is stored (EFFECTIVE_DELAY_S), once every serving
process's snapshot of the running experiments has it, so a visitor served under the old split
reports an impression that is still judged under it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import sqlite_utils

from storage.clock import utc_now_iso
from storage.experiments import HOLDOUT, Experiment, ExperimentError, arm_at, arm_is_settled

# Longer than plugin.admin.experiment_assignment's snapshot TTL (5 s) with room to spare.
EFFECTIVE_DELAY_S = 60


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def record_allocation(
    db: sqlite_utils.Database,
    experiment: Experiment,
    shares: Mapping[str, float],
    now: datetime | None = None,
) -> str:
    """Store a new split for a running automatic experiment; return when it takes effect.

    Refused (ExperimentError) when the split moves the holdout, misses or adds a variant, or
    does not sum to 1: the visitors already assigned depend on those invariants.
    """
    if experiment.allocation != "automatic" or experiment.status != "running":
        raise ExperimentError(
            f"experiment {experiment.experiment_id} is not a running automatic experiment"
        )
    names = {v.name for v in experiment.variants} | {HOLDOUT}
    if set(shares) != names:
        raise ExperimentError(f"a split names {sorted(names)}, got {sorted(shares)}")
    if abs(float(shares[HOLDOUT]) - experiment.holdout_share) > 1e-9:
        raise ExperimentError(
            f"the holdout keeps {experiment.holdout_share:.0%}, got {float(shares[HOLDOUT]):.2%}"
        )
    if any(float(v) < 0 for v in shares.values()) or abs(sum(shares.values()) - 1.0) > 1e-6:
        raise ExperimentError(f"shares must be >= 0 and sum to 1, got {dict(shares)}")
    moment = now or datetime.now(UTC)
    effective_from = _iso(moment + timedelta(seconds=EFFECTIVE_DELAY_S))
    with db.conn:
        db.conn.execute(
            "INSERT INTO experiment_allocations "
            "(experiment_id, effective_from, shares, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (experiment_id, effective_from) DO UPDATE SET "
            "shares = excluded.shares, created_at = excluded.created_at",
            (
                experiment.experiment_id,
                effective_from,
                json.dumps({k: float(v) for k, v in shares.items()}, sort_keys=True),
                utc_now_iso(),
            ),
        )
    return effective_from


def _exposure_filter(experiment: Experiment) -> tuple[str, list[str]]:
    sql = "type = 'impression' AND ts >= ?"
    params = [experiment.started_at or ""]
    if experiment.stopped_at:
        sql += " AND ts < ?"
        params.append(experiment.stopped_at)
    if experiment.context != "all":
        sql += " AND context = ?"
        params.append(experiment.context)
    return sql, params


def first_exposure(
    db: sqlite_utils.Database, experiment: Experiment, visitor_id: str
) -> str | None:
    """When this visitor first saw the experiment's recommendations, or None (not yet)."""
    where, params = _exposure_filter(experiment)
    # Through the visitor's own rows: without statistics the planner would pick the range of
    # every impression since the start (events_type_ts), which grows with the shop's traffic.
    row = db.execute(
        f"SELECT min(ts) FROM events INDEXED BY events_visitor WHERE visitor_id = ? AND {where}",
        [visitor_id, *params],
    ).fetchone()
    return row[0] if row and row[0] else None


def first_exposures(db: sqlite_utils.Database, experiment: Experiment) -> dict[str, str]:
    """Every exposed visitor's first impression time in the experiment."""
    where, params = _exposure_filter(experiment)
    sql = f"SELECT visitor_id, min(ts) FROM events WHERE visitor_id IS NOT NULL AND {where} "
    return dict(db.execute(sql + "GROUP BY visitor_id", params).fetchall())


def serving_arm(
    db: sqlite_utils.Database, experiment: Experiment, visitor_id: str, now: str | None = None
) -> str:
    """The arm to serve this visitor now: one indexed read when the split has moved in a way
    that matters for them, none otherwise."""
    now = now or utc_now_iso()
    if arm_is_settled(experiment, visitor_id):
        return arm_at(experiment, visitor_id, now)
    return arm_at(experiment, visitor_id, first_exposure(db, experiment, visitor_id) or now)


class ArmResolver:
    """Visitor -> arm for the figures of one experiment (verdict, attribution, holdout lift),
    with the first exposures read once for the whole experiment, and only when its split has
    moved."""

    def __init__(self, db: sqlite_utils.Database, experiment: Experiment, now: str) -> None:
        self.experiment = experiment
        self._now = now
        self._first = first_exposures(db, experiment) if experiment.allocations else {}

    def arm(self, visitor_id: str) -> str:
        """The arm this visitor was served (a visitor never exposed: the split of `now`)."""
        return arm_at(self.experiment, visitor_id, self._first.get(visitor_id, self._now))
