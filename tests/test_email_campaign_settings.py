"""The per-shop campaigns setting: defaults, providers' required keys, and messages that name
the key, the rule and the value."""

from __future__ import annotations

import pytest

from email_blocks.campaign_settings import (
    DEFAULT_METRIC,
    CampaignSettingsError,
    parse_campaign_settings,
)


def test_defaults_run_nothing_until_a_provider_is_set() -> None:
    settings = parse_campaign_settings({})
    assert [settings.rules[c].delay_days for c in ("post_purchase", "browse", "win_back")] == [
        7,
        3,
        30,
    ]
    assert settings.rules["browse"].window_days == 7
    assert settings.active("post_purchase") is None
    klaviyo = parse_campaign_settings({"push": {"provider": "klaviyo"}})
    assert klaviyo.active("post_purchase") is not None
    assert klaviyo.push.options["metric"] == DEFAULT_METRIC


def test_a_disabled_campaign_is_not_active() -> None:
    settings = parse_campaign_settings(
        {"push": {"provider": "klaviyo"}, "browse": {"enabled": False, "window_days": 14}}
    )
    assert settings.active("browse") is None and settings.rules["browse"].window_days == 14


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([], "campaigns must be an object, got []"),
        ({"browse": "soon"}, "campaigns.browse must be an object, got 'soon'"),
        ({"post_purchase": {"enabled": "yes"}}, "campaigns.post_purchase.enabled must be true"),
        ({"win_back": {"delay_days": 400}}, "campaigns.win_back.delay_days must be a whole"),
        ({"browse": {"delay_days": 2.5}}, "campaigns.browse.delay_days must be a whole number"),
        ({"browse": {"window_days": 0}}, "campaigns.browse.window_days must be a whole number"),
        ({"push": {"provider": "sendgrid"}}, "campaigns.push.provider must be one of"),
        ({"push": {"provider": "klaviyo", "metric": ""}}, "campaigns.push.metric must be a name"),
        ({"push": {"provider": "klaviyo", "list_id": "x"}}, "campaigns.push.list_id is not a"),
        (
            {"push": {"provider": "mailchimp", "list_id": "L1", "journey_id": 3}},
            "campaigns.push.step_id is required for mailchimp",
        ),
        (
            {"push": {"provider": "mailchimp", "list_id": "a/b"}},
            "campaigns.push.list_id must match",
        ),
        (
            {"push": {"provider": "mailchimp", "list_id": "L1", "event_name": "a b"}},
            "campaigns.push.event_name must match",
        ),
        (
            {"push": {"provider": "mailchimp_transactional", "template_name": "t"}},
            "campaigns.push.from_email must be an email address, got None",
        ),
    ],
)
def test_each_bad_value_is_named(raw: object, problem: str) -> None:
    with pytest.raises(CampaignSettingsError) as caught:
        parse_campaign_settings(raw)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
