"""Thompson-sampling allocation on simulated evidence whose better arm is known."""

from __future__ import annotations

import math

import pytest

from engine.errors import InputError
from engine.experiment_allocation import (
    HOLDOUT,
    ArmEvidence,
    probability_best,
    thompson_shares,
)


def test_a_clearly_better_arm_gains_share_and_the_holdout_keeps_its_own():
    arms = [
        ArmEvidence("control", 2_000, 60, 60 * 40.0),  # 3% converting, 40 per order: 1.2/session
        ArmEvidence("bigger", 2_000, 90, 90 * 40.0),  # 4.5%: 1.8/session
    ]
    shares = thompson_shares(arms, holdout_share=0.1, min_share=0.1)
    assert shares[HOLDOUT] == 0.1
    # P(best) is about 0.96 for "bigger": it takes most of what the floor leaves (max 0.81)
    assert shares["bigger"] > 0.75
    assert 0.09 <= shares["control"] < 0.15
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=1e-12)


def test_revenue_not_conversion_decides():
    # Same conversions, but "premium" sells orders twice the value.
    arms = [
        ArmEvidence("control", 3_000, 90, 90 * 40.0),
        ArmEvidence("premium", 3_000, 90, 90 * 80.0),
    ]
    best = probability_best(arms)
    assert best[1] > 0.95


def test_the_floor_holds_for_a_hopeless_arm_among_three():
    arms = [
        ArmEvidence("control", 5_000, 200, 8_000.0),
        ArmEvidence("b", 5_000, 20, 800.0),
        ArmEvidence("c", 5_000, 300, 12_000.0),
    ]
    shares = thompson_shares(arms, holdout_share=0.2, min_share=0.15)
    for name in ("control", "b", "c"):
        assert shares[name] >= 0.15 * 0.8 - 1e-12
    assert shares[HOLDOUT] == 0.2
    assert shares["c"] > shares["control"]
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=1e-12)


def test_without_evidence_the_split_is_even():
    arms = [ArmEvidence("a", 0, 0, 0.0), ArmEvidence("b", 0, 0, 0.0)]
    shares = thompson_shares(arms, holdout_share=0.0, min_share=0.1)
    assert shares["a"] == pytest.approx(0.5, abs=0.02)


def test_same_evidence_same_split_and_the_seed_is_what_varies_it():
    arms = [ArmEvidence("a", 300, 10, 400.0), ArmEvidence("b", 300, 12, 430.0)]
    assert thompson_shares(arms, 0.1, 0.1) == thompson_shares(arms, 0.1, 0.1)
    assert thompson_shares(arms, 0.1, 0.1, seed=1) != thompson_shares(arms, 0.1, 0.1, seed=2)


@pytest.mark.parametrize(
    ("arms", "holdout", "floor"),
    [
        ([ArmEvidence("a", 10, 1, 5.0)], 0.0, 0.1),  # one arm
        ([ArmEvidence("a", 10, 11, 5.0), ArmEvidence("b", 10, 1, 5.0)], 0.0, 0.1),
        ([ArmEvidence("a", 10, 1, 5.0), ArmEvidence("b", 10, 1, 5.0)], 1.0, 0.1),
        ([ArmEvidence("a", 10, 1, 5.0), ArmEvidence("b", 10, 1, 5.0)], 0.0, 0.6),
        ([ArmEvidence("a", 10, 1, 5.0), ArmEvidence(HOLDOUT, 10, 1, 5.0)], 0.0, 0.1),
    ],
)
def test_bad_arguments_are_named(arms, holdout, floor):
    with pytest.raises(InputError):
        thompson_shares(arms, holdout, floor)
