"""The per-shop "campaigns" setting: which timed campaigns run, their delays and windows, and
which email platform receives the blocks. Plain data in, a validated `CampaignSettings` out,
with messages that name the key, the rule and the value (gorse style), so the admin and the
worker agree on what a setting means.

Example (every key optional; these are the defaults, except the provider):
    {"post_purchase": {"enabled": true, "delay_days": 7},
     "browse": {"enabled": true, "delay_days": 3, "window_days": 7},
     "win_back": {"enabled": true, "delay_days": 30},
     "push": {"provider": "klaviyo", "metric": "shoprec recommendations"}}
Providers: "none" (default: no timers are scheduled), "klaviyo", "mailchimp" (needs list_id,
optional journey_id + step_id or event_name) and "mailchimp_transactional" (needs
template_name and from_email).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from email_blocks.errors import EmailBlockError

SETTING_KEY = "campaigns"
CAMPAIGNS = ("post_purchase", "browse", "win_back")
PROVIDERS = ("none", "klaviyo", "mailchimp", "mailchimp_transactional")
DEFAULT_METRIC = "shoprec recommendations"
MAX_DAYS = 365
_DEFAULT_DELAYS = {"post_purchase": 7, "browse": 3, "win_back": 30}
_DEFAULT_WINDOWS = {"post_purchase": 0, "browse": 7, "win_back": 0}
_CAMPAIGN_KEYS = {"enabled", "delay_days", "window_days"}
_PUSH_KEYS = {
    "none": {"provider"},
    "klaviyo": {"provider", "metric"},
    "mailchimp": {"provider", "list_id", "journey_id", "step_id", "event_name"},
    "mailchimp_transactional": {"provider", "template_name", "from_email", "subject"},
}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")
_EVENT_NAME = re.compile(r"[A-Za-z0-9_-]{2,30}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")


class CampaignSettingsError(EmailBlockError, ValueError):
    """The shop's campaigns setting breaks one or more rules (all of them are listed)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class CampaignRule:
    """One campaign: whether it runs, days from the trigger to the send, and its window.

    window_days (browse only): views within one window of that many days get one block.
    """

    name: str
    enabled: bool
    delay_days: int
    window_days: int


@dataclass(frozen=True)
class PushSettings:
    """Where blocks go. `options` holds the provider's own keys (list_id, template_name...)."""

    provider: str = "none"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignSettings:
    """A shop's validated campaign rules and push target."""

    rules: Mapping[str, CampaignRule]
    push: PushSettings

    def active(self, campaign: str) -> CampaignRule | None:
        """The rule if the campaign runs (enabled and a provider configured), else None."""
        rule = self.rules[campaign]
        return rule if rule.enabled and self.push.provider != "none" else None


def _days(value: Any, path: str, problems: list[str], low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_DAYS:
        problems.append(f"{path} must be a whole number of days {low}..{MAX_DAYS}, got {value!r}")
        return low
    return value


def _rule(name: str, raw: Any, problems: list[str]) -> CampaignRule:
    path = f"{SETTING_KEY}.{name}"
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(f"{path} must be an object, got {raw!r}")
        raw = {}
    for key in sorted(set(raw) - _CAMPAIGN_KEYS):
        problems.append(f"{path}.{key} is not a setting; allowed: {sorted(_CAMPAIGN_KEYS)}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"{path}.enabled must be true or false, got {enabled!r}")
        enabled = False
    delay = _days(raw.get("delay_days", _DEFAULT_DELAYS[name]), f"{path}.delay_days", problems, 0)
    window = _DEFAULT_WINDOWS[name]
    if "window_days" in raw:
        if name != "browse":
            problems.append(f"{path}.window_days applies to browse only")
        else:
            window = _days(raw["window_days"], f"{path}.window_days", problems, 1)
    return CampaignRule(name, enabled, delay, window)


def _push(raw: Any, problems: list[str]) -> PushSettings:
    path = f"{SETTING_KEY}.push"
    if raw is None:
        return PushSettings()
    if not isinstance(raw, Mapping):
        problems.append(f"{path} must be an object, got {raw!r}")
        return PushSettings()
    provider = raw.get("provider", "none")
    if provider not in PROVIDERS:
        problems.append(f"{path}.provider must be one of {list(PROVIDERS)}, got {provider!r}")
        return PushSettings()
    for key in sorted(set(raw) - _PUSH_KEYS[provider]):
        problems.append(f"{path}.{key} is not a {provider} setting")
    options = {k: v for k, v in raw.items() if k != "provider"}
    _check_provider_options(provider, options, path, problems)
    return PushSettings(provider, options)


def _check_provider_options(
    provider: str, options: dict[str, Any], path: str, problems: list[str]
) -> None:
    def token(key: str, required: bool, pattern: re.Pattern[str] = _TOKEN) -> None:
        value = options.get(key)
        if value is None:
            if required:
                problems.append(f"{path}.{key} is required for {provider}")
            return
        if not isinstance(value, str | int) or not pattern.fullmatch(str(value)):
            problems.append(f"{path}.{key} must match {pattern.pattern}, got {value!r}")

    if provider == "klaviyo":
        metric = options.setdefault("metric", DEFAULT_METRIC)
        if not isinstance(metric, str) or not 0 < len(metric) < 128:
            problems.append(f"{path}.metric must be a name of 1-127 characters, got {metric!r}")
    elif provider == "mailchimp":
        token("list_id", True)
        token("journey_id", "step_id" in options)
        token("step_id", "journey_id" in options)
        token("event_name", False, _EVENT_NAME)
    elif provider == "mailchimp_transactional":
        token("template_name", True)
        sender = options.get("from_email")
        if not isinstance(sender, str) or not _EMAIL.fullmatch(sender):
            problems.append(f"{path}.from_email must be an email address, got {sender!r}")


def parse_campaign_settings(raw: Any) -> CampaignSettings:
    """Validate the stored setting (None = all defaults, no provider).

    Raises:
        CampaignSettingsError: listing every problem found.
    """
    problems: list[str] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise CampaignSettingsError([f"{SETTING_KEY} must be an object, got {raw!r}"])
    for key in sorted(set(raw) - {*CAMPAIGNS, "push"}):
        problems.append(f"{SETTING_KEY}.{key} is not a setting; allowed: {[*CAMPAIGNS, 'push']}")
    rules = {name: _rule(name, raw.get(name), problems) for name in CAMPAIGNS}
    push = _push(raw.get("push"), problems)
    if problems:
        raise CampaignSettingsError(problems)
    return CampaignSettings(rules, push)
