"""Experiment statistics on simulated traffic whose true rates are known."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.experiment_stats import (
    NO_DIFFERENCE,
    NOT_YET,
    WINNER,
    VariantSample,
    analyse_experiment,
    relative_lift,
    sample_size_proportions,
    two_proportion_p_value,
    wilson_interval,
)


def simulate(name, rng, impressions, ctr, sessions, conversion, order_value=40.0):
    """One arm: clicks ~ Binomial(impressions, ctr); each session converts with probability
    `conversion` and then spends an exponential amount around order_value."""
    clicks = int(rng.binomial(impressions, ctr))
    converted = rng.random(sessions) < conversion
    revenue = np.where(converted, rng.exponential(order_value, sessions), 0.0)
    return VariantSample(name, impressions, clicks, int(converted.sum()), revenue)


def test_sample_size_matches_the_textbook_figure():
    # 5% baseline, +10% relative, alpha 0.05 two-sided, power 0.8: 31,234 per arm
    # (the figure of Evan Miller's calculator and statsmodels' NormalIndPower, pooled form)
    assert abs(sample_size_proportions(0.05, 0.10) - 31_234) <= 2
    assert sample_size_proportions(0.0, 0.10) is None


def test_a_real_ctr_difference_in_a_large_log_names_the_winner():
    rng = np.random.default_rng(42)
    arms = [
        simulate("control", rng, 400_000, 0.040, 60_000, 0.020),
        simulate("same", rng, 400_000, 0.040, 60_000, 0.020),
        simulate("better", rng, 400_000, 0.046, 60_000, 0.020),
    ]
    report = analyse_experiment(arms, primary="ctr", mde=0.1)
    assert (report.verdict, report.winner) == (WINNER, "better")
    same, better = report.variants[1].comparisons["ctr"], report.variants[2].comparisons["ctr"]
    assert better.p_value < 1e-6 and better.has_sample
    assert same.p_value > report.alpha  # equal true CTRs: no significance
    assert better.relative_lift == pytest.approx(0.15, abs=0.03)
    # every interval covers its true rate
    for result, true_ctr in zip(report.variants, (0.040, 0.040, 0.046), strict=True):
        assert result.ctr.low < true_ctr < result.ctr.high
    assert report.alpha == pytest.approx(0.025)  # Bonferroni over two comparisons


def test_equal_true_rates_in_a_large_log_say_no_difference():
    rng = np.random.default_rng(7)
    arms = [
        simulate("control", rng, 300_000, 0.05, 80_000, 0.03),
        simulate("b", rng, 300_000, 0.05, 80_000, 0.03),
    ]
    for metric in ("ctr", "conversion"):
        report = analyse_experiment(arms, primary=metric, mde=0.1)
        assert report.verdict == NO_DIFFERENCE, report.reason


def test_a_small_sample_is_not_yet_conclusive_even_with_a_large_true_lift():
    rng = np.random.default_rng(3)
    arms = [
        simulate("control", rng, 800, 0.04, 200, 0.02),
        simulate("b", rng, 800, 0.06, 200, 0.03),
    ]
    report = analyse_experiment(arms, primary="ctr", mde=0.1)
    assert report.verdict == NOT_YET and report.winner is None
    comparison = report.variants[1].comparisons["ctr"]
    assert not comparison.has_sample and comparison.needed_per_variant > 800
    assert "sample too small for b" in report.reason


def test_revenue_per_session_uses_welch_and_finds_a_real_lift():
    rng = np.random.default_rng(11)
    arms = [
        simulate("control", rng, 10_000, 0.05, 50_000, 0.05, order_value=40.0),
        simulate("richer", rng, 10_000, 0.05, 50_000, 0.05, order_value=52.0),
    ]
    report = analyse_experiment(arms, primary="revenue", mde=0.2)
    assert (report.verdict, report.winner) == (WINNER, "richer")
    revenue = report.variants[0].revenue_per_session
    assert revenue.low < 0.05 * 40.0 < revenue.high


def test_wilson_interval_and_z_test_edge_cases():
    zero = wilson_interval(0, 50)
    assert zero.value == 0.0 and zero.low == pytest.approx(0.0, abs=1e-12) and zero.high < 0.1
    assert wilson_interval(0, 0).n == 0
    assert two_proportion_p_value(0, 100, 0, 100) is None
    assert two_proportion_p_value(50, 1000, 50, 1000) == pytest.approx(1.0)


def test_bad_input_is_refused_with_the_reason():
    arm = VariantSample("a", 10, 1, 0, np.zeros(3))
    with pytest.raises(InputError, match="2 or 3 variants"):
        analyse_experiment([arm])
    with pytest.raises(InputError, match="primary metric must be one of"):
        analyse_experiment([arm, arm], primary="ctrr")
    with pytest.raises(InputError, match="clicks <= impressions"):
        analyse_experiment([arm, VariantSample("b", 1, 5, 0, np.zeros(1))])


def test_relative_lift_interval_covers_the_true_lift():
    rng = np.random.default_rng(5)
    reference = np.where(rng.random(200_000) < 0.05, rng.exponential(40.0, 200_000), 0.0)
    treatment = np.where(rng.random(200_000) < 0.06, rng.exponential(40.0, 200_000), 0.0)
    lift = relative_lift(treatment, reference)
    assert lift.low < 0.2 < lift.high and lift.p_value < 0.05
    assert relative_lift(treatment, np.zeros(10)).relative is None  # nothing to divide by


def test_guardrails_flag_a_click_winner_that_loses_revenue_and_block_its_verdict():
    rng = np.random.default_rng(3)
    control = VariantSample("control", 4000, 400, 250, np.where(rng.random(1000) < 0.25, 50.0, 0.0))
    content = VariantSample("content", 4000, 600, 200, np.where(rng.random(1000) < 0.20, 45.0, 0.0))
    on_ctr = analyse_experiment([control, content], primary="ctr", mde=0.5)
    assert on_ctr.verdict == "blocked by a guardrail" and on_ctr.winner is None
    assert "content loses" in on_ctr.reason
    assert {b.metric for b in on_ctr.guardrails["content"]} == {"revenue", "conversion"}
    assert not on_ctr.promotable("content") and on_ctr.promotable("control")
    default = analyse_experiment([control, content], mde=0.5)
    assert default.primary_metric == "revenue"
    assert default.guardrails == on_ctr.guardrails


def test_a_small_or_noisy_loss_is_not_a_guardrail_breach():
    flat = np.full(500, 10.0)
    control = VariantSample("a", 1000, 100, 500, flat)
    slightly_worse = VariantSample("b", 1000, 100, 490, np.full(500, 9.8))  # -2%
    assert analyse_experiment([control, slightly_worse], mde=0.5).guardrails == {}
