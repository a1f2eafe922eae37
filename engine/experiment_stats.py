"""A/B test statistics: per-variant rates and means with confidence intervals, tests against
the control, the sample each variant needs, and a verdict.

Fixed-horizon testing: a variant is judged only once every arm has the sample sized for the
minimum detectable effect; looking earlier and stopping at the first p < 0.05 would declare
false winners far more often than 5% of the time. With several variants the significance level
is split between the comparisons (Bonferroni), so three arms do not double the false-alarm rate.

Units: CTR is per impression; conversion rate and revenue are per exposed session (a session
that was shown at least one recommendation of the experiment).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from engine.errors import InputError

METRICS: tuple[str, ...] = ("ctr", "conversion", "revenue")
# Revenue per session is what a shop is paid in: it is the verdict's metric unless the owner
# asks for another; CTR and conversion are read beside it.
PRIMARY_METRIC = "revenue"
WINNER, NO_DIFFERENCE, NOT_YET = "winner", "no difference", "not yet conclusive"
BLOCKED = "blocked by a guardrail"
# Guardrails: a variant whose revenue or conversion falls at least this far below the
# control's, significant at this level (not split over the comparisons, unlike a winner's),
# is flagged whatever the verdict's metric says: wrongly holding back a variant costs a few
# more days of testing, wrongly promoting one costs sales every day after.
GUARDRAIL_METRICS: tuple[str, ...] = ("revenue", "conversion")
GUARDRAIL_LOSS = 0.05
GUARDRAIL_ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    """A rate or mean with its confidence interval; n is the number of units behind it."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """A variant against the control on one metric."""

    metric: str
    relative_lift: float | None  # (variant - control) / control; None when control is 0
    p_value: float | None  # None when there is nothing to test yet
    needed_per_variant: int | None  # units each arm needs for the MDE; None: unknown yet
    has_sample: bool


@dataclass(frozen=True)
class VariantSample:
    """What one arm saw. session_revenue: float array of shape (sessions,), the attributed
    revenue of each exposed session, zeros included (its length is the session count)."""

    name: str
    impressions: int
    clicks: int
    converted_sessions: int
    session_revenue: np.ndarray

    @property
    def sessions(self) -> int:
        """Exposed sessions."""
        return int(len(self.session_revenue))


@dataclass(frozen=True)
class VariantResult:
    """One arm's figures; comparisons is empty for the control."""

    name: str
    ctr: Estimate
    conversion: Estimate
    revenue_per_session: Estimate
    comparisons: dict[str, Comparison]


@dataclass(frozen=True)
class GuardrailBreach:
    """A variant losing revenue or conversion against the control beyond the guardrail."""

    variant: str
    metric: str
    relative_lift: float
    p_value: float

    @property
    def message(self) -> str:
        """What the owner reads beside the variant."""
        label = "revenue per session" if self.metric == "revenue" else "conversion"
        return (
            f"{self.variant} loses {-100 * self.relative_lift:.1f}% {label} against the control "
            f"(p = {self.p_value:.3f})"
        )


@dataclass(frozen=True)
class ExperimentReport:
    """Every arm's figures, the verdict on the primary metric with its reason, and the
    guardrail breaches (variant name -> breaches; a variant with any is not promotable)."""

    variants: list[VariantResult]
    primary_metric: str
    verdict: str
    winner: str | None
    reason: str
    alpha: float  # per comparison, after the Bonferroni split
    guardrails: dict[str, list[GuardrailBreach]] = field(default_factory=dict)

    def promotable(self, variant: str) -> bool:
        """Whether promoting `variant` passes every guardrail."""
        return not self.guardrails.get(variant)


def wilson_interval(successes: int, trials: int, alpha: float = 0.05) -> Estimate:
    """Rate with the Wilson score interval (sane near 0 and with small samples)."""
    if trials <= 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    z = float(stats.norm.ppf(1 - alpha / 2))
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
    )
    return Estimate(rate, max(0.0, centre - half), min(1.0, centre + half), trials)


def mean_interval(values: np.ndarray, alpha: float = 0.05) -> Estimate:
    """Mean of a float array of shape (n,) with a Student-t interval."""
    n = int(len(values))
    if n == 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    mean = float(np.mean(values))
    if n == 1:
        return Estimate(mean, mean, mean, 1)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float | None:
    """Two-sided pooled z-test of two rates; None when a side has no trials or nothing varies."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (s2 / n2 - s1 / n1) / se
    return float(2 * stats.norm.sf(abs(z)))


def welch_p_value(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided Welch t-test of two means; None with fewer than 2 units or zero variance."""
    if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
        return None
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def sample_size_proportions(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Units per arm to detect a relative lift `mde` on a rate `baseline` (two-sided).

    None when the baseline is 0 or the target rate would exceed 1 (no meaningful size).
    """
    target = baseline * (1 + mde)
    if baseline <= 0 or target >= 1:
        return None
    z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    mean = (baseline + target) / 2
    spread = z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(
        baseline * (1 - baseline) + target * (1 - target)
    )
    return math.ceil(spread**2 / (target - baseline) ** 2)


def sample_size_means(
    baseline_mean: float, std: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Units per arm to detect a relative change `mde` of a mean with standard deviation std."""
    delta = abs(baseline_mean) * mde
    if delta <= 0 or std <= 0:
        return None
    z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return math.ceil(2 * (z_a + z_b) ** 2 * std**2 / delta**2)


def _lift(control: float, variant: float) -> float | None:
    return None if control == 0 else (variant - control) / control


def _compare(
    control: VariantSample, arm: VariantSample, mde: float, alpha: float, power: float
) -> dict[str, Comparison]:
    ctr_c = control.clicks / control.impressions if control.impressions else 0.0
    conv_c = control.converted_sessions / control.sessions if control.sessions else 0.0
    ctr_needed = sample_size_proportions(ctr_c, mde, alpha, power)
    conv_needed = sample_size_proportions(conv_c, mde, alpha, power)
    both = np.concatenate([control.session_revenue, arm.session_revenue])
    std = float(np.std(both, ddof=1)) if len(both) > 1 else 0.0
    rev_c = float(np.mean(control.session_revenue)) if control.sessions else 0.0
    rev_needed = sample_size_means(rev_c, std, mde, alpha, power)
    arm_ctr = arm.clicks / arm.impressions if arm.impressions else 0.0
    arm_conv = arm.converted_sessions / arm.sessions if arm.sessions else 0.0
    arm_rev = float(np.mean(arm.session_revenue)) if arm.sessions else 0.0

    def has(needed: int | None, a: int, b: int) -> bool:
        return needed is not None and min(a, b) >= needed

    return {
        "ctr": Comparison(
            "ctr",
            _lift(ctr_c, arm_ctr),
            two_proportion_p_value(
                control.clicks, control.impressions, arm.clicks, arm.impressions
            ),
            ctr_needed,
            has(ctr_needed, control.impressions, arm.impressions),
        ),
        "conversion": Comparison(
            "conversion",
            _lift(conv_c, arm_conv),
            two_proportion_p_value(
                control.converted_sessions, control.sessions, arm.converted_sessions, arm.sessions
            ),
            conv_needed,
            has(conv_needed, control.sessions, arm.sessions),
        ),
        "revenue": Comparison(
            "revenue",
            _lift(rev_c, arm_rev),
            welch_p_value(control.session_revenue, arm.session_revenue),
            rev_needed,
            has(rev_needed, control.sessions, arm.sessions),
        ),
    }


def _check(samples: Sequence[VariantSample], primary: str, mde: float) -> None:
    if not 2 <= len(samples) <= 3:
        raise InputError(f"an experiment compares 2 or 3 variants, got {len(samples)}")
    if primary not in METRICS:
        raise InputError(f"primary metric must be one of {list(METRICS)}, got {primary!r}")
    if not 0 < mde <= 1:
        raise InputError(f"minimum detectable effect must be in (0, 1], got {mde!r}")
    for s in samples:
        if min(s.impressions, s.clicks, s.converted_sessions) < 0 or s.clicks > s.impressions:
            raise InputError(f"variant {s.name!r}: counts must be >= 0 and clicks <= impressions")
        if s.converted_sessions > s.sessions:
            raise InputError(f"variant {s.name!r}: more converted sessions than sessions")


def analyse_experiment(
    samples: Sequence[VariantSample],
    primary: str = PRIMARY_METRIC,
    mde: float = 0.1,
    alpha: float = 0.05,
    power: float = 0.8,
) -> ExperimentReport:
    """Figures per arm (samples[0] is the control) and a verdict on the primary metric.

    Args:
        samples: 2 or 3 arms, the control first.
        primary: the metric the verdict is about: 'revenue' (per session, the default),
            'conversion' or 'ctr'. Guardrails on revenue and conversion apply whatever it is.
        mde: the minimum relative lift worth detecting (0.1 = 10%); it sizes the sample.
        alpha, power: the test's significance level (before the Bonferroni split) and power.
    """
    _check(samples, primary, mde)
    per_test = alpha / (len(samples) - 1)
    control = samples[0]
    results = []
    for index, arm in enumerate(samples):
        results.append(
            VariantResult(
                arm.name,
                wilson_interval(arm.clicks, arm.impressions),
                wilson_interval(arm.converted_sessions, arm.sessions),
                mean_interval(arm.session_revenue),
                {} if index == 0 else _compare(control, arm, mde, per_test, power),
            )
        )
    verdict, winner, reason = _verdict(results, primary, per_test)
    breaches = guardrail_breaches(results)
    if winner is not None and breaches.get(winner):
        reason = f"{reason}, but {breaches[winner][0].message}"
        verdict, winner = BLOCKED, None
    return ExperimentReport(results, primary, verdict, winner, reason, per_test, breaches)


def guardrail_breaches(
    results: Sequence[VariantResult],
    loss: float = GUARDRAIL_LOSS,
    alpha: float = GUARDRAIL_ALPHA,
) -> dict[str, list[GuardrailBreach]]:
    """Variants (not the control) whose revenue or conversion is at least `loss` below the
    control's with p < `alpha`, each with what it loses."""
    breaches: dict[str, list[GuardrailBreach]] = {}
    for result in results[1:]:
        for metric in GUARDRAIL_METRICS:
            c = result.comparisons[metric]
            if (
                c.relative_lift is not None
                and c.p_value is not None
                and c.relative_lift <= -loss
                and c.p_value < alpha
            ):
                breach = GuardrailBreach(result.name, metric, c.relative_lift, c.p_value)
                breaches.setdefault(result.name, []).append(breach)
    return breaches


def _value(result: VariantResult, metric: str) -> float:
    return {
        "ctr": result.ctr,
        "conversion": result.conversion,
        "revenue": result.revenue_per_session,
    }[metric].value


def _verdict(
    results: list[VariantResult], metric: str, alpha: float
) -> tuple[str, str | None, str]:
    comparisons = [(r, r.comparisons[metric]) for r in results[1:]]
    short = [r.name for r, c in comparisons if not c.has_sample]
    if short:
        needed = [c.needed_per_variant for _, c in comparisons]
        need_text = (
            "unknown until the control has some successes"
            if any(n is None for n in needed)
            else f"{max(n for n in needed if n is not None):,} per variant"
        )
        return NOT_YET, None, f"sample too small for {', '.join(short)} (needs {need_text})"
    better = [
        r
        for r, c in comparisons
        if c.p_value is not None and c.p_value < alpha and (c.relative_lift or 0) > 0
    ]
    worse = [
        r
        for r, c in comparisons
        if c.p_value is not None and c.p_value < alpha and (c.relative_lift or 0) < 0
    ]
    if better:
        best = max(better, key=lambda r: _value(r, metric))
        return WINNER, best.name, f"{best.name} beats the control on {metric} (p < {alpha:.3g})"
    if len(worse) == len(comparisons):
        control = results[0].name
        return WINNER, control, f"the control beats every variant on {metric} (p < {alpha:.3g})"
    return (
        NO_DIFFERENCE,
        None,
        f"no variant differs from the control on {metric} at p < {alpha:.3g}",
    )


@dataclass(frozen=True)
class Lift:
    """Treatment against a reference group on a per-unit mean (e.g. revenue per visitor)."""

    treatment: Estimate
    reference: Estimate
    relative: float | None  # (treatment - reference) / reference
    low: float | None  # confidence interval of `relative` (delta method)
    high: float | None
    p_value: float | None  # Welch t-test of the two means


def relative_lift(treatment: np.ndarray, reference: np.ndarray, alpha: float = 0.05) -> Lift:
    """Relative lift of the mean of `treatment` over `reference` (float arrays, one value per
    unit), with a delta-method interval: var(T/R) ~ var(T)/R^2 + T^2 var(R)/R^4."""
    t_est, r_est = mean_interval(treatment, alpha), mean_interval(reference, alpha)
    if r_est.n < 2 or t_est.n < 2 or r_est.value == 0:
        return Lift(t_est, r_est, None, None, None, welch_p_value(treatment, reference))
    var_t = float(np.var(treatment, ddof=1)) / t_est.n
    var_r = float(np.var(reference, ddof=1)) / r_est.n
    ratio = t_est.value / r_est.value
    se = math.sqrt(var_t / r_est.value**2 + t_est.value**2 * var_r / r_est.value**4)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return Lift(
        t_est,
        r_est,
        ratio - 1,
        ratio - 1 - z * se,
        ratio - 1 + z * se,
        welch_p_value(treatment, reference),
    )
