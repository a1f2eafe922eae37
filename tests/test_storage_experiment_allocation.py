"""Automatic allocation in the store: a visitor keeps the arm of their first exposure when the
split moves, and every figure (serving, attribution, verdict traffic) agrees on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlite_utils

from plugin.admin.experiment_assignment import RunningExperiments, assignment_for
from storage.attribution import attributed_lines
from storage.events import insert_events
from storage.experiment_allocation import (
    ArmResolver,
    first_exposure,
    record_allocation,
    serving_arm,
)
from storage.experiments import (
    HOLDOUT,
    ExperimentError,
    arm_is_settled,
    assign_variant,
    bucket_of,
    create_experiment,
    get_experiment,
    start_experiment,
)
from storage.performance import exposed_sessions

STARTED = "2026-03-01T00:00:00"
# The new split: "b" takes most of the variants' traffic; effective a minute after this.
MOVED_AT = datetime(2026, 3, 2, tzinfo=UTC)


def event(kind, ts, visitor, product="p1", context="product"):
    return {
        "ts": ts,
        "visitor_id": visitor,
        "customer_id": visitor.replace("v", "c"),
        "session_id": f"s-{visitor}-{ts[:10]}",
        "type": kind,
        "product_id": product,
        "context": context,
        "slot": "similar",
        "strategy": "blend",
        "request_id": f"r-{visitor}-{ts}",
        "position": 1,
    }


def visitors_between(experiment_id, low, high, count):
    """Visitor ids whose hash point lies in [low, high)."""
    found = []
    n = 0
    while len(found) < count:
        visitor = f"v{n}"
        if low <= bucket_of(experiment_id, visitor) < high:
            found.append(visitor)
        n += 1
    return found


@pytest.fixture
def moved(shop_db: sqlite_utils.Database):
    """An automatic experiment (holdout 10%, a/b at 45% each) whose split moved to a 10% / b 80%
    on 2026-03-02: points in [0.2, 0.55) were "a" before and are "b" after."""
    experiment_id = create_experiment(
        shop_db,
        "auto",
        "product",
        [{"name": "a", "profile": {}}, {"name": "b", "profile": {"limit": 8}}],
        holdout_share=0.1,
        allocation="automatic",
        min_share=0.1,
    )
    start_experiment(shop_db, experiment_id)
    shop_db.execute(
        "UPDATE experiments SET started_at = ? WHERE experiment_id = ?", (STARTED, experiment_id)
    )
    shop_db.conn.commit()
    effective = record_allocation(
        shop_db,
        get_experiment(shop_db, experiment_id),
        {HOLDOUT: 0.1, "a": 0.1, "b": 0.8},
        now=MOVED_AT,
    )
    assert effective == "2026-03-02T00:01:00"
    return shop_db, get_experiment(shop_db, experiment_id)


def test_a_visitor_first_seen_before_the_move_keeps_their_arm_and_is_attributed_to_it(moved):
    db, experiment = moved
    old, new = visitors_between(experiment.experiment_id, 0.2, 0.55, 2)
    assert assign_variant(experiment, old) == assign_variant(experiment, new) == "a"
    assert not arm_is_settled(experiment, old)
    insert_events(
        db,
        [
            event("impression", "2026-03-01T10:00:00", old),  # first exposure under the weights
            event("impression", "2026-03-03T09:00:00", old),
            event("click", "2026-03-03T09:01:00", old),
            event("impression", "2026-03-03T09:00:00", new),  # first exposure after the move
            event("click", "2026-03-03T09:01:00", new),
        ],
    )
    for visitor in (old, new):
        customer = visitor.replace("v", "c")
        db.execute(
            "INSERT INTO orders (order_id, customer_id, created_at, status, updated_at) "
            "VALUES (?, ?, ?, 'paid', ?)",
            (f"o-{visitor}", customer, "2026-03-03T12:00:00", "2026-03-03T12:00:00"),
        )
        db.execute(
            "INSERT INTO order_lines VALUES (?, 'p1#0', 'p1', ?, ?, 1, 30.0)",
            (f"o-{visitor}", customer, "2026-03-03T12:00:00"),
        )
    db.conn.commit()
    assert first_exposure(db, experiment, old) == "2026-03-01T10:00:00"

    # serving: the returning visitor keeps "a"; a visitor never exposed gets today's split
    assert serving_arm(db, experiment, old) == "a"
    assert serving_arm(db, experiment, new) == "b"
    unseen = visitors_between(experiment.experiment_id, 0.2, 0.55, 3)[2]
    assert serving_arm(db, experiment, unseen) == "b"
    served = assignment_for(db, old, "product", snapshots=RunningExperiments())
    assert served is not None and served.variant == "a"

    # attribution and the verdict's traffic put each visitor where they were served
    credited = {line.visitor_id: line.variant for line in attributed_lines(db, STARTED, "9999", 24)}
    assert credited == {old: "a", new: "b"}
    traffic = exposed_sessions(db, experiment, STARTED, "2026-03-04T00:00:00")
    assert traffic["a"]["impressions"] == 2 and traffic["b"]["impressions"] == 1
    assert ArmResolver(db, experiment, "2026-03-04T00:00:00").arm(old) == "a"


def test_the_holdout_never_moves(moved):
    db, experiment = moved
    (held,) = visitors_between(experiment.experiment_id, 0.0, 0.1, 1)
    assert arm_is_settled(experiment, held)
    assert serving_arm(db, experiment, held) == HOLDOUT
    with pytest.raises(ExperimentError, match="holdout keeps"):
        record_allocation(db, experiment, {HOLDOUT: 0.05, "a": 0.15, "b": 0.8})
    with pytest.raises(ExperimentError, match="sum to 1"):
        record_allocation(db, experiment, {HOLDOUT: 0.1, "a": 0.5, "b": 0.5})


def test_the_history_comes_with_the_experiment_and_fixed_ones_take_no_split(moved, shop_db):
    _db, experiment = moved
    assert experiment.allocation == "automatic" and experiment.min_share == 0.1
    assert [a.effective_from for a in experiment.allocations] == ["2026-03-02T00:01:00"]
    fixed_id = create_experiment(
        shop_db, "fixed", "cart", [{"name": "a"}, {"name": "b"}], holdout_share=0.0
    )
    start_experiment(shop_db, fixed_id)
    with pytest.raises(ExperimentError, match="not a running automatic"):
        record_allocation(shop_db, get_experiment(shop_db, fixed_id), {HOLDOUT: 0, "a": 1, "b": 0})
    with pytest.raises(ExperimentError, match="minimum share"):
        create_experiment(
            shop_db,
            "x",
            "home",
            [{"name": "a"}, {"name": "b"}],
            allocation="automatic",
            min_share=0.6,
        )
