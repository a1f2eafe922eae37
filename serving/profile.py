"""What a request is served with: the shop's "rules" and "weights", and a profile over them.

The EXPERIMENTS side assigns a visitor to a variant and hands its profile to
RecommendationService.recommend(params, profile=...). The profile is merged over the shop's
own settings for that request only (the owner's blocks and pins stay), and its hash is part
of every cache key it affects, so variants never share cached answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from engine.blend import validate_weights
from engine.errors import InputError
from engine.rule_settings import (
    SETTING_KEY,
    RuleSettings,
    RuleSettingsError,
    merge_rules,
    rule_settings_for,
    validate_rules,
)
from storage.shop_settings import get_shop_setting

logger = logging.getLogger(__name__)

PROFILE_KEYS = ("weights", "rules")
WEIGHTS_KEY = "weights"


@dataclass(frozen=True)
class ServingProfile:
    """Per-request overrides of the shop's "weights" and "rules" (an experiment's variant).

    key: a stable hash of both ('' without a profile), part of every cache key it affects.
    """

    weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    key: str = ""


def serving_profile(profile: Mapping[str, Any] | None) -> ServingProfile:
    """A checked profile {"weights": {...}, "rules": {...}}; InputError names what is wrong.

    Both parts have the shapes of the shop settings of the same names and are validated the
    same way (engine.blend.validate_weights, engine.rule_settings.validate_rules).
    """
    if not profile:
        return NO_PROFILE
    if not isinstance(profile, Mapping):
        raise InputError(f"profile must be a JSON object, got {profile!r}")
    unknown = sorted(set(profile) - set(PROFILE_KEYS))
    if unknown:
        raise InputError(f"profile has unknown keys {unknown}; known: {list(PROFILE_KEYS)}")
    weights, rules = profile.get("weights") or {}, profile.get("rules") or {}
    if not isinstance(weights, Mapping) or not all(
        isinstance(mix, Mapping) for mix in weights.values()
    ):
        raise InputError(f"profile.weights must map 'context[/slot]' to objects, got {weights!r}")
    validate_weights(weights)
    validate_rules(rules)
    canonical = json.dumps({"rules": rules, "weights": weights}, sort_keys=True, default=str)
    key = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return ServingProfile(weights, rules, key)


NO_PROFILE = ServingProfile()


def shop_rule_settings(
    db: sqlite_utils.Database,
    shop: str,
    context: str,
    slot: str,
    serving: ServingProfile = NO_PROFILE,
) -> RuleSettings:
    """The shop's rules for one list, the profile merged over them; a bad stored setting is
    logged and the defaults (with the profile) are used instead."""
    raw: Mapping[str, Any]
    try:
        raw = merge_rules(get_shop_setting(db, SETTING_KEY), serving.rules)
    except RuleSettingsError:
        logger.exception(
            "rules setting of shop %s is invalid; using the defaults", shop, extra={"shop": shop}
        )
        raw = dict(serving.rules)
    return rule_settings_for(raw, context, slot)


def weighted_models(
    db: sqlite_utils.Database, shop: str, models: Any, serving: ServingProfile = NO_PROFILE
) -> Any:
    """The models blended with the shop's "weights" setting and the profile's, if any.

    Read per request (one indexed row), so an owner's change shows on the next request
    rather than the next retrain. An invalid stored value is logged and ignored.
    """
    stored = get_shop_setting(db, WEIGHTS_KEY)
    try:
        shop_weights = validate_weights(stored) if stored else {}
    except (InputError, AttributeError, TypeError):
        logger.exception(
            "weights setting of shop %s is invalid; using the trained weights",
            shop,
            extra={"shop": shop},
        )
        shop_weights = {}
    if not shop_weights and not serving.weights:
        return models
    merged = {**models.weights, **shop_weights, **serving.weights}
    return models.with_weights(merged, adaptive=models.adaptive)


class SettingsMemo:
    """The shop's rule settings and blended models per settings generation, list and profile.

    Reading, parsing and validating the "rules" and "weights" settings cost more per request
    than the two rows they come from. The caller's generation carries the shop's settings
    stamp (storage.shop_settings.settings_stamp: every change adds a row), so a new value is
    read on the very next request, as before; an empty generation (no serving cache) reads
    every time. Values are shared between requests and must be treated as read-only.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self._max_entries = max_entries
        self._values: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def rule_settings(
        self,
        db: sqlite_utils.Database,
        shop: str,
        context: str,
        slot: str,
        serving: ServingProfile,
        generation: str,
    ) -> RuleSettings:
        """shop_rule_settings, once per (shop, generation, context, slot, profile)."""
        if not generation:
            return shop_rule_settings(db, shop, context, slot, serving)
        key = ("rules", shop, generation, context, slot, serving.key)
        return self._get(key, lambda: shop_rule_settings(db, shop, context, slot, serving))

    def models(
        self,
        db: sqlite_utils.Database,
        shop: str,
        models: Any,
        serving: ServingProfile,
        generation: str,
    ) -> Any:
        """weighted_models, once per (shop, generation, profile) for the same loaded models."""
        if not generation:
            return weighted_models(db, shop, models, serving)
        key = ("weights", shop, generation, serving.key)
        loaded, weighted = self._get(
            key, lambda: (models, weighted_models(db, shop, models, serving))
        )
        if loaded is not models:  # reloaded since (a retrain): blend the new ones
            loaded, weighted = models, weighted_models(db, shop, models, serving)
            self._put(key, (loaded, weighted))
        return weighted

    def _get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = compute()
        self._put(key, value)
        return value

    def _put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            if len(self._values) >= self._max_entries:
                self._values.clear()  # old generations pile up; a rebuild costs one read each
            self._values[key] = value
