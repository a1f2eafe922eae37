"""Settings: defaults, every env var binds, bad values are named, secrets never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import SETTINGS_SPEC, ConfigError, load_settings

DOCS_HOOK = Path(__file__).resolve().parents[1] / "docs" / "hooks" / "generated.py"


def test_defaults_load_from_empty_env() -> None:
    settings = load_settings({})
    assert settings.default_limit == 8 and settings.cache_ttl_s == 1800
    assert settings.redis_url == ""


@pytest.mark.parametrize(("name", "env", "default", "help_text"), SETTINGS_SPEC)
def test_every_env_var_binds(name: str, env: str, default: object, help_text: str) -> None:
    value = {int: "7", float: "2.5", bool: "False"}.get(type(default), "https://example.test")
    if name == "data_dir":
        value = "/srv/shoprec-data"
    if name == "log_level":
        value = "DEBUG"
    if name == "redis_url":
        value = "redis://127.0.0.1:6379/3"
    if name == "log_format":
        value = "json"
    settings = load_settings(
        {env: value, "SHOPREC_MAX_LIMIT": "50"}
        if name != "max_limit"
        else {env: value, "SHOPREC_DEFAULT_LIMIT": "1"}
    )
    assert str(getattr(settings, name)) == value
    assert help_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", False), ("false", False), ("No", False), ("off", False), ("1", True), ("TRUE", True),
     ("yes", True), ("on", True)],
)  # fmt: skip
def test_a_boolean_setting_reads_the_usual_words(raw: str, expected: bool) -> None:
    assert load_settings({"SHOPREC_SECURE_COOKIES": raw}).secure_cookies is expected


def test_a_boolean_setting_refuses_anything_else() -> None:
    with pytest.raises(ConfigError, match="SHOPREC_SECURE_COOKIES must be one of 1/true/yes/on"):
        load_settings({"SHOPREC_SECURE_COOKIES": "maybe"})


def test_an_unknown_log_format_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SHOPREC_LOG_FORMAT": "yaml"})
    assert "SHOPREC_LOG_FORMAT must be one of ['text', 'json']" in str(info.value)


def test_bad_values_are_all_named_and_secrets_hidden() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "SHOPREC_DEFAULT_LIMIT": "-3",
                "SHOPREC_CACHE_TTL": "soon",
                "REDIS_URL": "localhost:6379",
            }
        )
    message = str(info.value)
    expected = "SHOPREC_DEFAULT_LIMIT must be a positive integer, but the current value is '-3'"
    assert expected in message
    assert "SHOPREC_CACHE_TTL" in message and "REDIS_URL" in message


def test_klaviyo_pushes_go_to_the_configured_base_url() -> None:
    import responses

    from connectors.email.push import PushStep
    from worker.push import client_for

    with pytest.raises(ConfigError, match="SHOPREC_KLAVIYO_BASE_URL"):
        load_settings({"SHOPREC_KLAVIYO_BASE_URL": "127.0.0.1:9000"})
    settings = load_settings(
        {"KLAVIYO_API_KEY": "pk_x", "SHOPREC_KLAVIYO_BASE_URL": "http://127.0.0.1:9/"}
    )
    with responses.RequestsMock() as rsps:
        rsps.post("http://127.0.0.1:9/api/events", status=202, body="")
        client_for(settings, "klaviyo").send(PushStep("POST", "/api/events", {"data": {}}))
        assert len(rsps.calls) == 1


def test_every_setting_is_in_the_generated_configuration_page() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS_HOOK)
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (DOCS_HOOK.parents[1] / "configuration.md").read_text(encoding="utf-8")
    text = hooks.on_page_markdown(page)
    missing = [env for _, env, _, _ in SETTINGS_SPEC if f"| `{env}` |" not in text]
    assert not missing, f"the configuration page lacks settings {missing}"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("SHOPREC_SYNC_INTERVAL_MINUTES", "0"),
        ("SHOPREC_SYNC_INTERVAL_MINUTES", "1441"),
        ("SHOPREC_RETRAIN_CHECK_MINUTES", "-5"),
        ("SHOPREC_RETRAIN_MAX_AGE_HOURS", "0"),
    ],
)
def test_schedule_intervals_out_of_range_are_named(env: str, value: str) -> None:
    with pytest.raises(ConfigError, match=env):
        load_settings({env: value})


def test_schedule_intervals_may_be_fractions() -> None:
    settings = load_settings(
        {"SHOPREC_SYNC_INTERVAL_MINUTES": "0.5", "SHOPREC_RETRAIN_MAX_AGE_HOURS": "0.25"}
    )
    assert (settings.sync_interval_minutes, settings.retrain_max_age_hours) == (0.5, 0.25)
