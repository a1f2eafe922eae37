"""Automatic traffic allocation for an experiment: Thompson sampling on revenue per session.

Each arm's revenue per session is modelled as (chance a session converts) x (mean order value
of a converting session), and the two parts get their own conjugate posteriors:

- conversion ~ Beta(1 + conversions, 1 + sessions - conversions): a flat prior, exact for
  yes/no outcomes;
- order value: converting sessions' revenues treated as exponential with rate L, and
  L ~ Gamma(2 + conversions, rate = prior_aov + revenue), so the mean order value 1/L starts
  at the pooled average order value of all arms (the prior is worth one order) and follows
  the arm's own average as its orders come in.

Why not a normal posterior on per-session revenue: revenue per session is mostly zeros with a
long positive tail, so with the few dozen conversions an early test has, a normal posterior is
too narrow and too eager to move traffic on one large order. Splitting it into a Bernoulli part
and an exponential part keeps draws positive, widens them where orders are few (the
exponential is heavy-tailed on purpose), and both posteriors draw in closed form, so a round
of reallocation costs a few milliseconds of numpy, not an MCMC run.

Each arm's new share is the probability, estimated from `draws` Monte Carlo draws with a fixed
seed, that its revenue per session is the highest; then every arm is lifted to the minimum
share (exploration never stops, so a variant that was unlucky early can recover), and the
whole split is scaled into the traffic the holdout leaves, which never changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import InputError

HOLDOUT = "holdout"
DEFAULT_DRAWS = 20_000
DEFAULT_SEED = 20_240_601


@dataclass(frozen=True)
class ArmEvidence:
    """What one arm has earned so far: exposed sessions, sessions with an attributed order,
    and the attributed revenue of those sessions."""

    name: str
    sessions: int
    conversions: int
    revenue: float


def _check(arms: Sequence[ArmEvidence], holdout_share: float, min_share: float) -> None:
    if len(arms) < 2:
        raise InputError(f"automatic allocation needs at least 2 arms, got {len(arms)}")
    names = [a.name for a in arms]
    if len(set(names)) != len(names) or HOLDOUT in names:
        raise InputError(f"arm names must differ and not be {HOLDOUT!r}, got {names}")
    for arm in arms:
        if arm.sessions < 0 or not 0 <= arm.conversions <= arm.sessions or arm.revenue < 0:
            raise InputError(
                f"arm {arm.name!r} needs 0 <= conversions <= sessions and revenue >= 0, got "
                f"sessions={arm.sessions}, conversions={arm.conversions}, revenue={arm.revenue}"
            )
    if not 0.0 <= holdout_share < 1.0:
        raise InputError(f"holdout share must be in [0, 1), got {holdout_share!r}")
    if not 0.0 <= min_share <= 1.0 / len(arms):
        raise InputError(
            f"minimum share must be between 0 and 1/{len(arms)} of the variants' traffic, "
            f"got {min_share!r}"
        )


def probability_best(
    arms: Sequence[ArmEvidence], draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """Per arm (in order), the posterior probability that its revenue per session is highest.

    Float array of shape (arms,) summing to 1. Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    conversions = np.array([a.conversions for a in arms], dtype=float)
    sessions = np.array([a.sessions for a in arms], dtype=float)
    revenue = np.array([a.revenue for a in arms], dtype=float)
    total_conversions = conversions.sum()
    prior_aov = revenue.sum() / total_conversions if total_conversions > 0 else 1.0
    prior_aov = max(prior_aov, 1e-9)
    # (draws, arms): conversion rate x mean order value = revenue per session
    rate = rng.beta(1.0 + conversions, 1.0 + sessions - conversions, size=(draws, len(arms)))
    order_rate = rng.gamma(2.0 + conversions, 1.0 / (prior_aov + revenue), size=(draws, len(arms)))
    per_session = rate / order_rate
    wins = np.bincount(np.argmax(per_session, axis=1), minlength=len(arms))
    result: np.ndarray = wins / float(draws)
    return result


def thompson_shares(
    arms: Sequence[ArmEvidence],
    holdout_share: float,
    min_share: float,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> dict[str, float]:
    """The new split: {HOLDOUT: holdout_share, arm: share, ...}, shares of all traffic
    summing to 1.

    min_share is a fraction of the variants' traffic (what the holdout leaves): each arm gets
    at least min_share x (1 - holdout_share). Raises InputError naming a bad argument.
    """
    _check(arms, holdout_share, min_share)
    if draws < 1:
        raise InputError(f"draws must be at least 1, got {draws}")
    best = probability_best(arms, draws, seed)
    floored = min_share + (1.0 - min_share * len(arms)) * best
    variants_share = 1.0 - holdout_share
    shares = {HOLDOUT: float(holdout_share)}
    for arm, share in zip(arms, floored, strict=True):
        shares[arm.name] = float(share * variants_share)
    # Put float rounding on the largest arm so the split sums to exactly 1.
    largest = max((a.name for a in arms), key=lambda name: shares[name])
    shares[largest] += 1.0 - sum(shares.values())
    return shares
