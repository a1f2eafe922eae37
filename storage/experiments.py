"""A/B experiments: their definition, lifecycle (draft -> running -> stopped) and the
deterministic assignment of a visitor to a variant.

The assignment lives here, not in the plugin, because attribution (storage.attribution)
recomputes it from the visitor ids on the events: the same function on both sides is what
makes a click count for the variant the visitor was served.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlite_utils

from storage.clock import utc_now_iso
from storage.errors import StorageError

EXPERIMENT_CONTEXTS: tuple[str, ...] = ("all", "product", "cart", "home", "email", "post_purchase")
# What a variant may change: served lists (weights, rules), item count, layout.
PROFILE_KEYS: tuple[str, ...] = ("weights", "rules", "limit", "format", "placement")
HOLDOUT = "holdout"
MAX_HOLDOUT_SHARE = 0.5
MIN_VARIANTS, MAX_VARIANTS = 2, 3
ALLOCATION_MODES: tuple[str, ...] = ("fixed", "automatic")
MAX_MIN_SHARE = 0.5  # two variants at 50% each: the most a floor can promise


class ExperimentError(StorageError, ValueError):
    """An experiment definition or lifecycle step that is not allowed; the message says why."""


@dataclass(frozen=True)
class Variant:
    """One arm: its name, share of the (non-holdout) traffic, and profile (weights, rules,
    item count, layout)."""

    name: str
    weight: float
    profile: Mapping[str, Any]


@dataclass(frozen=True)
class Allocation:
    """A split in force from `effective_from` on: shares of all traffic, HOLDOUT included,
    summing to 1 (storage.experiment_allocation writes and reads them)."""

    effective_from: str
    shares: Mapping[str, float]


@dataclass(frozen=True)
class Experiment:
    """An experiment row, variants parsed; the first variant is the control."""

    experiment_id: int
    name: str
    context: str
    status: str
    variants: tuple[Variant, ...]
    holdout_share: float
    min_detectable_effect: float
    created_at: str
    created_by: str
    started_at: str | None
    stopped_at: str | None
    winner: str | None
    promoted_at: str | None
    promoted_by: str | None
    # "fixed": the weights split the traffic for good; "automatic": a periodic job moves the
    # split towards the variant earning the most per session (storage.experiment_allocation).
    allocation: str = "fixed"
    min_share: float = 0.1  # automatic mode: least share of the variants' traffic per variant
    allocations: tuple[Allocation, ...] = ()  # the automatic splits so far, oldest first

    @property
    def control(self) -> Variant:
        """The variant every other one is compared with."""
        return self.variants[0]

    def variant(self, name: str) -> Variant:
        """The variant called `name`, or ExperimentError."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise ExperimentError(
            f"experiment {self.experiment_id} has no variant {name!r}; "
            f"it has {[v.name for v in self.variants]}"
        )


def bucket_of(experiment_id: int, visitor_id: str) -> float:
    """A uniform number in [0, 1) fixed by (experiment, visitor): sticky across requests and
    processes, and independent between experiments, so one test's split never predicts the next."""
    digest = hashlib.sha256(f"{experiment_id}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_variant(experiment: Experiment, visitor_id: str) -> str:
    """The variant name (or HOLDOUT) this visitor gets in this experiment."""
    point = bucket_of(experiment.experiment_id, visitor_id)
    if point < experiment.holdout_share:
        return HOLDOUT
    point = (point - experiment.holdout_share) / (1.0 - experiment.holdout_share)
    total = sum(v.weight for v in experiment.variants)
    edge = 0.0
    for variant in experiment.variants:
        edge += variant.weight / total
        if point < edge:
            return variant.name
    return experiment.variants[-1].name  # float rounding at the very top of the range


def allocation_at(experiment: Experiment, ts: str) -> Allocation | None:
    """The automatic split in force at `ts`, or None when the variants' weights still were."""
    found = None
    for allocation in experiment.allocations:
        if allocation.effective_from <= ts:
            found = allocation
    return found


def arm_at(experiment: Experiment, visitor_id: str, first_exposure: str) -> str:
    """The variant (or HOLDOUT) of a visitor first exposed at `first_exposure` (a new visitor:
    now): their hash point mapped through the split in force then. The holdout is the bottom
    `holdout_share` of the points under every split, so holdout visitors never move."""
    allocation = allocation_at(experiment, first_exposure)
    if allocation is None:
        return assign_variant(experiment, visitor_id)
    return _arm_of_point(experiment, bucket_of(experiment.experiment_id, visitor_id), allocation)


def _arm_of_point(experiment: Experiment, point: float, allocation: Allocation) -> str:
    if point < experiment.holdout_share:
        return HOLDOUT
    edge = experiment.holdout_share
    for variant in experiment.variants:
        edge += float(allocation.shares.get(variant.name, 0.0))
        if point < edge:
            return variant.name
    return experiment.variants[-1].name  # float rounding at the very top of the range


def arm_is_settled(experiment: Experiment, visitor_id: str) -> bool:
    """True when every split so far gives this visitor the same arm (the first exposure need
    not be looked up): always for fixed experiments and for holdout visitors."""
    if not experiment.allocations:
        return True
    point = bucket_of(experiment.experiment_id, visitor_id)
    first = assign_variant(experiment, visitor_id)
    return all(_arm_of_point(experiment, point, a) == first for a in experiment.allocations)


def check_variants(variants: Sequence[Mapping[str, Any]]) -> tuple[Variant, ...]:
    """Shape checks the store can do (the plugin validates the profiles' contents first)."""
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise ExperimentError(
            f"an experiment has {MIN_VARIANTS} or {MAX_VARIANTS} variants, got {len(variants)}"
        )
    checked: list[Variant] = []
    for index, raw in enumerate(variants, start=1):
        name = str(raw.get("name") or "").strip()
        if not name or len(name) > 40 or name == HOLDOUT:
            raise ExperimentError(
                f"variant {index} needs a name of 1-40 characters other than {HOLDOUT!r}, "
                f"got {name!r}"
            )
        weight = raw.get("weight", 1)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0 < weight < math.inf
        ):
            raise ExperimentError(f"variant {name!r} weight must be a number > 0, got {weight!r}")
        profile = raw.get("profile") or {}
        if not isinstance(profile, Mapping) or set(profile) - set(PROFILE_KEYS):
            raise ExperimentError(
                f"variant {name!r} profile must be an object with keys among "
                f"{list(PROFILE_KEYS)}, got {profile!r}"
            )
        checked.append(Variant(name, float(weight), dict(profile)))
    names = [v.name for v in checked]
    if len(set(names)) != len(names):
        raise ExperimentError(f"variant names must differ, got {names}")
    return tuple(checked)


def create_experiment(
    db: sqlite_utils.Database,
    name: str,
    context: str,
    variants: Sequence[Mapping[str, Any]],
    holdout_share: float = 0.0,
    min_detectable_effect: float = 0.1,
    created_by: str = "",
    allocation: str = "fixed",
    min_share: float = 0.1,
) -> int:
    """Store a draft experiment; return its id. Raises ExperimentError naming the bad value."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ExperimentError(f"name must be 1-100 characters, got {name!r}")
    if context not in EXPERIMENT_CONTEXTS:
        raise ExperimentError(
            f"context must be one of {list(EXPERIMENT_CONTEXTS)}, got {context!r}"
        )
    if not 0.0 <= holdout_share <= MAX_HOLDOUT_SHARE:
        raise ExperimentError(
            f"holdout share must be between 0 and {MAX_HOLDOUT_SHARE}, got {holdout_share!r}"
        )
    if not 0.0 < min_detectable_effect <= 1.0:
        raise ExperimentError(
            f"minimum detectable effect must be in (0, 1], got {min_detectable_effect!r}"
        )
    arms = check_variants(variants)
    if allocation not in ALLOCATION_MODES:
        raise ExperimentError(
            f"allocation must be one of {list(ALLOCATION_MODES)}, got {allocation!r}"
        )
    if allocation == "automatic" and not 0.0 <= min_share <= min(MAX_MIN_SHARE, 1 / len(arms)):
        raise ExperimentError(
            f"minimum share must be between 0 and {min(MAX_MIN_SHARE, 1 / len(arms)):.0%} "
            f"with {len(arms)} variants, got {min_share:.0%}"
        )
    payload = [{"name": v.name, "weight": v.weight, "profile": v.profile} for v in arms]
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO experiments (name, context, variants, holdout_share, "
            "min_detectable_effect, created_at, created_by, allocation, min_share) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                context,
                json.dumps(payload, sort_keys=True),
                float(holdout_share),
                float(min_detectable_effect),
                utc_now_iso(),
                created_by,
                allocation,
                float(min_share) if allocation == "automatic" else 0.1,
            ),
        )
    return int(cursor.lastrowid or 0)


_COLUMNS = (
    "experiment_id, name, context, status, variants, holdout_share, min_detectable_effect, "
    "created_at, created_by, started_at, stopped_at, winner, promoted_at, promoted_by, "
    "allocation, min_share"
)


def _from_row(row: Sequence[Any]) -> Experiment:
    arms = tuple(Variant(v["name"], float(v["weight"]), v["profile"]) for v in json.loads(row[4]))
    return Experiment(row[0], row[1], row[2], row[3], arms, *row[5:])


def _with_allocations(db: sqlite_utils.Database, experiments: list[Experiment]) -> list[Experiment]:
    """The experiments with their automatic splits attached (one query for all of them)."""
    automatic = [e.experiment_id for e in experiments if e.allocation == "automatic"]
    if not automatic:
        return experiments
    marks = ", ".join("?" for _ in automatic)
    history: dict[int, list[Allocation]] = {}
    for experiment_id, effective_from, shares in db.execute(
        "SELECT experiment_id, effective_from, shares FROM experiment_allocations "
        f"WHERE experiment_id IN ({marks}) ORDER BY experiment_id, effective_from",
        automatic,
    ):
        history.setdefault(experiment_id, []).append(Allocation(effective_from, json.loads(shares)))
    return [replace(e, allocations=tuple(history.get(e.experiment_id, ()))) for e in experiments]


def get_experiment(db: sqlite_utils.Database, experiment_id: int) -> Experiment:
    """One experiment, or ExperimentError when there is none with that id."""
    if not -(2**63) <= experiment_id < 2**63:  # SQLite integers are 64-bit; a URL's may not be
        raise ExperimentError(f"no experiment with id {experiment_id}")
    row = db.execute(
        f"SELECT {_COLUMNS} FROM experiments WHERE experiment_id = ?", (experiment_id,)
    ).fetchone()
    if row is None:
        raise ExperimentError(f"no experiment with id {experiment_id}")
    return _with_allocations(db, [_from_row(row)])[0]


def list_experiments(db: sqlite_utils.Database) -> list[Experiment]:
    """Every experiment, newest first."""
    sql = f"SELECT {_COLUMNS} FROM experiments ORDER BY experiment_id DESC"
    return _with_allocations(db, [_from_row(r) for r in db.execute(sql)])


def running_experiments(db: sqlite_utils.Database) -> list[Experiment]:
    """The experiments running now (at most one per context)."""
    sql = f"SELECT {_COLUMNS} FROM experiments WHERE status = 'running' ORDER BY experiment_id"
    return _with_allocations(db, [_from_row(r) for r in db.execute(sql)])


def start_experiment(db: sqlite_utils.Database, experiment_id: int) -> Experiment:
    """Start a draft. Refused when another experiment already runs on an overlapping context
    ('all' overlaps every context), because a visitor must see one experiment's profile."""
    with db.conn:
        experiment = get_experiment(db, experiment_id)
        if experiment.status != "draft":
            raise ExperimentError(
                f"only a draft can start; experiment {experiment_id} is {experiment.status}"
            )
        for other in running_experiments(db):
            if "all" in (other.context, experiment.context) or other.context == experiment.context:
                raise ExperimentError(
                    f"experiment {other.experiment_id} ({other.name!r}) already runs on context "
                    f"{other.context!r}; stop it first"
                )
        db.conn.execute(
            "UPDATE experiments SET status = 'running', started_at = ? WHERE experiment_id = ?",
            (utc_now_iso(), experiment_id),
        )
    return get_experiment(db, experiment_id)


def stop_experiment(db: sqlite_utils.Database, experiment_id: int) -> Experiment:
    """Stop a running experiment: from now on everyone gets the shop's own settings."""
    with db.conn:
        experiment = get_experiment(db, experiment_id)
        if experiment.status != "running":
            raise ExperimentError(
                f"only a running experiment can stop; experiment {experiment_id} is "
                f"{experiment.status}"
            )
        db.conn.execute(
            "UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE experiment_id = ?",
            (utc_now_iso(), experiment_id),
        )
    return get_experiment(db, experiment_id)


def record_winner(
    db: sqlite_utils.Database, experiment_id: int, variant: str, promoted_by: str
) -> Experiment:
    """Mark `variant` as the promoted winner of a stopped experiment.

    The caller writes the variant's profile into the shop settings first (each change audited
    in settings_changes); the winner is recorded last, so a crash in between leaves the
    experiment promotable again rather than marked as promoted with settings unchanged.
    """
    experiment = check_promotable(db, experiment_id, variant)
    with db.conn:
        db.conn.execute(
            "UPDATE experiments SET winner = ?, promoted_at = ?, promoted_by = ? "
            "WHERE experiment_id = ?",
            (variant, utc_now_iso(), promoted_by, experiment.experiment_id),
        )
    return get_experiment(db, experiment_id)


def check_promotable(db: sqlite_utils.Database, experiment_id: int, variant: str) -> Experiment:
    """The experiment, if `variant` of it may be promoted now; ExperimentError saying why not."""
    experiment = get_experiment(db, experiment_id)
    experiment.variant(variant)
    if experiment.status != "stopped":
        raise ExperimentError(
            f"stop experiment {experiment_id} before promoting a winner; it is {experiment.status}"
        )
    if experiment.winner is not None:
        raise ExperimentError(f"experiment {experiment_id} already promoted {experiment.winner!r}")
    return experiment


def backdate_stopped_experiment(
    db: sqlite_utils.Database,
    experiment_id: int,
    *,
    created_at: str,
    started_at: str,
    stopped_at: str,
) -> None:
    """Mark an experiment stopped with the given times (generated demo history)."""
    with db.conn:
        db.conn.execute(
            "UPDATE experiments SET status = 'stopped', created_at = ?, started_at = ?, "
            "stopped_at = ? WHERE experiment_id = ?",
            (created_at, started_at, stopped_at, experiment_id),
        )
