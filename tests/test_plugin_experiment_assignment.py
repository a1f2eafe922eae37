"""Experiment lifecycle in the store and the sticky, deterministic visitor assignment."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlite_utils

from plugin.admin.experiment_assignment import Assignment, RunningExperiments, assignment_for
from storage.experiments import (
    HOLDOUT,
    ExperimentError,
    assign_variant,
    create_experiment,
    get_experiment,
    record_winner,
    start_experiment,
    stop_experiment,
)

PROFILE_B = {"weights": {"product": {"content": 1.0}}}


def _ab(db: sqlite_utils.Database, context: str = "product", holdout: float = 0.0) -> int:
    return create_experiment(
        db,
        "content vs default",
        context,
        [{"name": "control", "weight": 1}, {"name": "content", "weight": 1, "profile": PROFILE_B}],
        holdout_share=holdout,
    )


def test_no_visitor_or_no_running_experiment_means_no_assignment(shop_db):
    experiment_id = _ab(shop_db)
    snapshots = RunningExperiments()
    assert assignment_for(shop_db, "v1", "product", snapshots=snapshots) is None  # still a draft
    start_experiment(shop_db, experiment_id)
    snapshots.clear()
    assert assignment_for(shop_db, None, "product", snapshots=snapshots) is None
    assert assignment_for(shop_db, "", "product", snapshots=snapshots) is None
    assert assignment_for(shop_db, "v1", "cart", snapshots=snapshots) is None


def test_assignment_is_sticky_and_follows_the_split(shop_db):
    experiment_id = _ab(shop_db, holdout=0.2)
    start_experiment(shop_db, experiment_id)
    snapshots = RunningExperiments()
    answers = [
        assignment_for(shop_db, f"visitor-{i}", "product", snapshots=snapshots) for i in range(6000)
    ]
    again = [
        assignment_for(shop_db, f"visitor-{i}", "product", snapshots=snapshots) for i in range(6000)
    ]
    assert answers == again
    counts = Counter(a.variant for a in answers if a is not None)
    # 20% holdout, then 50/50: expected 1200 / 2400 / 2400, binomial sd ~31-39
    assert abs(counts[HOLDOUT] - 1200) < 150
    assert abs(counts["control"] - 2400) < 200
    assert abs(counts["content"] - 2400) < 200
    holdout = next(a for a in answers if a is not None and a.holdout)
    assert holdout == Assignment(experiment_id, HOLDOUT, True, None)
    treated = next(a for a in answers if a is not None and a.variant == "content")
    assert treated.profile == PROFILE_B and not treated.holdout
    control = next(a for a in answers if a is not None and a.variant == "control")
    assert control.profile is None  # empty profile: the shop's own settings


def test_weights_split_traffic_unevenly(shop_db):
    experiment_id = create_experiment(
        shop_db,
        "three arms",
        "all",
        [{"name": "a", "weight": 2}, {"name": "b", "weight": 1}, {"name": "c", "weight": 1}],
    )
    experiment = start_experiment(shop_db, experiment_id)
    counts = Counter(assign_variant(experiment, f"v{i}") for i in range(8000))
    assert abs(counts["a"] - 4000) < 250 and abs(counts["b"] - 2000) < 200
    # 'all' covers every context
    got = assignment_for(shop_db, "v1", "email", snapshots=RunningExperiments())
    assert got is not None and got.experiment_id == experiment_id


def test_different_experiments_split_independently(shop_db):
    first = start_experiment(shop_db, _ab(shop_db, "product"))
    second = start_experiment(shop_db, _ab(shop_db, "cart"))
    pairs = Counter(
        (assign_variant(first, f"v{i}"), assign_variant(second, f"v{i}")) for i in range(4000)
    )
    # independent hashes: each of the four combinations near a quarter
    assert all(abs(n - 1000) < 150 for n in pairs.values()) and len(pairs) == 4


def test_snapshot_spares_the_query_until_it_expires(shop_db):
    now = [100.0]
    snapshots = RunningExperiments(ttl_s=5.0, clock=lambda: now[0])
    start_experiment(shop_db, _ab(shop_db))
    for i in range(50):
        assignment_for(shop_db, f"v{i}", "product", snapshots=snapshots)
    assert snapshots.reads == 1
    experiment = get_experiment(shop_db, 1)
    stop_experiment(shop_db, experiment.experiment_id)
    assert assignment_for(shop_db, "v1", "product", snapshots=snapshots) is not None  # stale
    now[0] += 5.0
    assert assignment_for(shop_db, "v1", "product", snapshots=snapshots) is None
    assert snapshots.reads == 2


def test_overlapping_experiments_cannot_run_together(shop_db):
    start_experiment(shop_db, _ab(shop_db, "product"))
    with pytest.raises(ExperimentError, match="already runs on context 'product'"):
        start_experiment(shop_db, _ab(shop_db, "product"))
    with pytest.raises(ExperimentError, match="already runs"):
        start_experiment(shop_db, _ab(shop_db, "all"))
    start_experiment(shop_db, _ab(shop_db, "cart"))


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([{"name": "a"}], "2 or 3 variants"),
        ([{"name": "a"}, {"name": "a"}], "must differ"),
        ([{"name": "a"}, {"name": HOLDOUT}], "other than 'holdout'"),
        ([{"name": "a", "weight": 0}, {"name": "b"}], "weight must be a number > 0"),
        ([{"name": "a", "profile": {"colour": 1}}, {"name": "b"}], "profile must be an object"),
    ],
)
def test_bad_definitions_are_refused_with_the_reason(shop_db, variants, message):
    with pytest.raises(ExperimentError, match=message):
        create_experiment(shop_db, "x", "product", variants)
    assert shop_db.execute("SELECT count(*) FROM experiments").fetchone()[0] == 0


def test_lifecycle_and_promotion_record(shop_db):
    experiment_id = _ab(shop_db)
    with pytest.raises(ExperimentError, match="only a running experiment can stop"):
        stop_experiment(shop_db, experiment_id)
    start_experiment(shop_db, experiment_id)
    with pytest.raises(ExperimentError, match="before promoting"):
        record_winner(shop_db, experiment_id, "content", "owner")
    stop_experiment(shop_db, experiment_id)
    with pytest.raises(ExperimentError, match="no variant 'nope'"):
        record_winner(shop_db, experiment_id, "nope", "owner")
    done = record_winner(shop_db, experiment_id, "content", "owner")
    assert (done.winner, done.promoted_by, done.status) == ("content", "owner", "stopped")
    with pytest.raises(ExperimentError, match="already promoted"):
        record_winner(shop_db, experiment_id, "control", "owner")
