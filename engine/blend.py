"""The hybrid: per context and slot, a weighted blend of each model's normalized scores.

Each source's scores are divided by their best allowed value, so a weight means a share of
influence whatever the model's scale. Untrusted models (too little data) hand their weight
to content and trending; a shopper with thin history moves weight to popularity the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine.base import CONTEXT_SLOTS
from engine.errors import InputError
from engine.slot_specs import TABLES

SOURCES: tuple[str, ...] = (
    "rules",
    "confidence",
    "collaborative",
    "content",
    "taste",
    "popularity",
    "trending",
    "newness",
    "sequence",
)
# Sources that need no learned pattern: never handed over for lack of data.
ALWAYS_TRUSTED = ("content", "popularity", "trending", "newness")
# A source with nothing for a request hands its weight here first, when this one has
# something: an anchor whose pairs all fall under the rules' support floor keeps its plain
# co-purchases (confidence, no floor) instead of drifting to content and trending.
HANDOVER = {"rules": "confidence"}
FILL_WEIGHT = 1e-3  # popularity under everything: a list is never short while items remain

# The design's default (50% collaborative, 30% content, 20% rules), adapted to what each slot
# is for (engine.slot_specs, where each says why). Keys are "context/slot"; owners override
# per context or per "context/slot".
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = TABLES.weights


def validate_weights(
    weights: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    """Check owner weights: keys 'context' or 'context/slot', sources among SOURCES, >= 0."""
    checked: dict[str, dict[str, float]] = {}
    for key, mix in (weights or {}).items():
        context, _, slot = key.partition("/")
        if context not in CONTEXT_SLOTS or (slot and slot not in CONTEXT_SLOTS[context]):
            raise InputError(
                f"weights key must be a context or 'context/slot' of "
                f"{sorted(CONTEXT_SLOTS)}, got {key!r}"
            )
        for source, value in mix.items():
            if source not in SOURCES:
                raise InputError(f"weights source must be one of {list(SOURCES)}, got {source!r}")
            if not np.isfinite(value) or value < 0:
                raise InputError(f"weight of {source!r} in {key!r} must be >= 0, got {value!r}")
        if sum(mix.values()) <= 0:
            raise InputError(f"weights for {key!r} must not all be zero")
        checked[key] = {s: float(v) for s, v in mix.items()}
    return checked


@dataclass(frozen=True)
class BlendPlan:
    """The weights one request is blended with, after trust and cold-start shifts."""

    weights: dict[str, float]
    fill: bool


def base_weights(
    context: str,
    slot: str,
    overrides: Mapping[str, Mapping[str, float]],
    learned: Mapping[str, Mapping[str, float]] | None = None,
) -> Mapping[str, float]:
    """The mix a slot starts from: the owner's ('context/slot', else 'context'), else the
    weights validation chose for this shop, else the built-in default."""
    key = f"{context}/{slot}"
    return (
        overrides.get(key)
        or overrides.get(context)
        or (learned or {}).get(key)
        or DEFAULT_WEIGHTS[key]
    )


def plan_weights(
    context: str,
    slot: str,
    overrides: Mapping[str, Mapping[str, float]],
    trusted: Mapping[str, float],
    evidence: float,
    adaptive: bool = True,
    learned: Mapping[str, Mapping[str, float]] | None = None,
) -> BlendPlan:
    """Weights for one request.

    overrides: validated owner weights ('context/slot' wins over 'context'); they win over
        learned, the shop's validated weights per 'context/slot' (engine.blend_search).
    trusted: per source, how far its model can be trusted for this request: True / 1.0
        keeps its weight, False / 0.0 hands it all to content and trending, a share in
        between hands over the rest (rules borrowed from similar products, say).
    evidence: 0..1, how much history anchors this request (0 = anonymous, nothing viewed).
    adaptive: False serves the weights exactly (evaluation of one strategy alone).
    """
    base = base_weights(context, slot, overrides, learned)
    weights = {s: float(w) for s, w in base.items() if w > 0}
    if not adaptive:
        return BlendPlan(weights, fill=False)
    moved = 0.0
    for source in list(weights):
        if source in ALWAYS_TRUSTED:
            continue
        share = min(max(float(trusted.get(source, 0.0)), 0.0), 1.0)
        lost = weights[source] * (1.0 - share)
        heir = HANDOVER.get(source)
        if heir and lost and float(trusted.get(heir, 0.0)) >= 1.0:
            weights[heir] = weights.get(heir, 0.0) + lost
        else:
            moved += lost
        if share > 0:
            weights[source] *= share
        else:
            del weights[source]
    if moved:
        weights["content"] = weights.get("content", 0.0) + moved / 2
        weights["trending"] = weights.get("trending", 0.0) + moved / 2
    personal = sum(w for s, w in weights.items() if s not in ("popularity", "trending"))
    shift = personal * (1.0 - min(max(evidence, 0.0), 1.0))
    if shift > 0:
        for source in list(weights):
            if source not in ("popularity", "trending"):
                weights[source] *= 1.0 - shift / personal
        weights["popularity"] = weights.get("popularity", 0.0) + shift / 2
        weights["trending"] = weights.get("trending", 0.0) + shift / 2
    return BlendPlan(weights, fill=True)


def blend_scores(
    vectors: Mapping[str, np.ndarray],
    plan: BlendPlan,
    allowed: np.ndarray,
    limit: int,
    popular: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, np.ndarray]]:
    """Top items of the weighted blend of max-normalized source scores.

    vectors: source -> float32 (n_items,) raw scores (0 = no opinion).
    allowed: bool (n_items,), False for anchors and excluded ids.
    Returns (item indexes, blended scores, per item the source that contributed most, per
    source its weighted normalized part for those items), best first; ties break on the
    lower item index.
    """
    total: np.ndarray = np.zeros(allowed.size, np.float32)
    names = [s for s in plan.weights if s in vectors]
    parts = np.zeros((len(names), allowed.size), np.float32)
    for row, source in enumerate(names):
        vec = np.where(allowed, vectors[source], 0.0)
        top = float(vec.max()) if vec.size else 0.0
        if top > 0:
            parts[row] = vec * (plan.weights[source] / top)
    total = parts.sum(axis=0) if names else total
    if plan.fill:
        top = float(np.where(allowed, popular, 0.0).max()) if popular.size else 0.0
        if top > 0:
            total = total + FILL_WEIGHT * np.where(allowed, popular, 0.0) / top
    total = np.where(allowed, total, 0.0)
    candidates = np.flatnonzero(total > 0)
    if candidates.size > limit:
        cut = np.argpartition(-total[candidates], limit - 1)[:limit]
        threshold = total[candidates[cut]].min()
        candidates = candidates[total[candidates] >= threshold]
    order = np.lexsort((candidates, -total[candidates]))[:limit]
    chosen = candidates[order]
    if names:
        best = parts[:, chosen].argmax(axis=0)
        said = (parts[best, chosen] > 0).tolist()  # one array read, not one per item
        labels = [
            names[b] if spoke else "popularity"
            for b, spoke in zip(best.tolist(), said, strict=True)
        ]
    else:
        labels = ["popularity"] * chosen.size
    return chosen, total[chosen], labels, {n: parts[r, chosen] for r, n in enumerate(names)}
