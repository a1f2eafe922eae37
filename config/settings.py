"""The one settings object: every process-wide knob, its type, default, help and env var.

Settings are data (datasette's SETTINGS, gorse's documented config): the docs'
configuration table and the tests are generated from `SETTINGS_SPEC`, so a knob cannot
exist undocumented.
Per-shop values (blend weights, rules, campaign delays) live in the shop's own store, not here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from config.errors import ConfigError

MAX_INTERVAL_MINUTES = 1440.0


def _setting(default: Any, env: str, help: str, secret: bool = False) -> Any:
    return field(default=default, metadata={"env": env, "help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration, read once from the environment by `load_settings`."""

    data_dir: Path = _setting(
        Path("./data"),
        "SHOPREC_DATA_DIR",
        "Folder holding one sub-folder (SQLite file + models) per shop.",
    )
    store_url: str = _setting(
        "",
        "SHOPREC_STORE_URL",
        "Where shops' data lives: empty = one SQLite file per shop under the data dir; "
        "postgresql://... = one schema per shop in that database, shared by every host.",
        secret=True,
    )
    shared_models_dir: str = _setting(
        "",
        "SHOPREC_SHARED_MODELS_DIR",
        "Folder every serving host mounts: training publishes each shop's models there and a "
        "host copies the current version into its own data dir; empty = models stay local.",
    )
    default_shop: str = _setting(
        "demo", "SHOPREC_SHOP", "Shop used when a command is given no --shop."
    )
    redis_url: str = _setting(
        "",
        "REDIS_URL",
        "Redis for RQ queues and the serving cache; empty = in-process cache, no queues.",
    )
    secret_key: str = _setting(
        "",
        "SHOPREC_SECRET_KEY",
        "Signs admin sessions and email-block URLs; required outside development.",
        secret=True,
    )
    public_url: str = _setting(
        "http://127.0.0.1:8000",
        "SHOPREC_PUBLIC_URL",
        "Base URL the shop and platforms reach shoprec at.",
    )
    shopify_api_key: str = _setting("", "SHOPIFY_API_KEY", "Shopify app client id.")
    shopify_api_secret: str = _setting(
        "", "SHOPIFY_API_SECRET", "Shopify app secret: OAuth and webhook HMAC key.", secret=True
    )
    shopify_api_secret_previous: str = _setting(
        "",
        "SHOPIFY_API_SECRET_PREVIOUS",
        "The app secret before a rotation: Shopify may sign webhooks with it for up to an hour.",
        secret=True,
    )
    shopify_scopes: str = _setting(
        "read_products,read_orders,read_customers,read_inventory,"
        "write_app_proxy,write_pixels,read_customer_events",
        "SHOPIFY_SCOPES",
        "Comma-separated Admin API scopes asked for at install (the last three: the storefront "
        "app proxy and the web pixel; integrations/shopify/shopify.app.toml lists the same).",
    )
    shopify_api_version: str = _setting(
        "2026-10", "SHOPIFY_API_VERSION", "The one pinned Shopify Admin API version."
    )
    klaviyo_api_key: str = _setting("", "KLAVIYO_API_KEY", "Klaviyo private API key.", secret=True)
    klaviyo_base_url: str = _setting(
        "https://a.klaviyo.com",
        "SHOPREC_KLAVIYO_BASE_URL",
        "Where Klaviyo pushes go; only changed to point at a local stand-in (tests, staging).",
    )
    mailchimp_api_key: str = _setting(
        "", "MAILCHIMP_API_KEY", "Mailchimp Marketing API key (ends in -<dc>).", secret=True
    )
    mailchimp_transactional_key: str = _setting(
        "", "MAILCHIMP_TRANSACTIONAL_KEY", "Mailchimp Transactional (Mandrill) key.", secret=True
    )
    http_timeout_s: float = _setting(
        10.0, "SHOPREC_HTTP_TIMEOUT", "Timeout in seconds of every outbound HTTP call."
    )
    cache_ttl_s: int = _setting(
        1800, "SHOPREC_CACHE_TTL", "Seconds a cached candidate list or rendered answer lives."
    )
    default_limit: int = _setting(
        8, "SHOPREC_DEFAULT_LIMIT", "Items per list when a request gives no limit."
    )
    max_limit: int = _setting(50, "SHOPREC_MAX_LIMIT", "Largest limit a request may ask for.")
    events_rate_limit: int = _setting(
        120,
        "SHOPREC_EVENTS_RATE_LIMIT",
        "Events one visitor (visitor_id, else session_id, else IP) may post per window; "
        "more get 429.",
    )
    events_rate_window_s: int = _setting(
        60, "SHOPREC_EVENTS_RATE_WINDOW", "Seconds of the events rate-limit window."
    )
    log_level: str = _setting("INFO", "SHOPREC_LOG_LEVEL", "Python logging level name.")
    log_format: str = _setting(
        "text",
        "SHOPREC_LOG_FORMAT",
        "'text' (one readable line per event) or 'json' (one JSON object per line with ts, "
        "level, logger, message and every extra field: shop, request_id, job_id).",
    )
    worker_heartbeat_max_age_s: int = _setting(
        480,
        "SHOPREC_WORKER_HEARTBEAT_MAX_AGE",
        "With REDIS_URL, /readyz needs an RQ worker heartbeat younger than this many seconds "
        "(an idle RQ worker beats about every 405 s).",
    )
    secure_cookies: bool = _setting(
        True,
        "SHOPREC_SECURE_COOKIES",
        "Admin session cookie only over HTTPS; false (0, false, no or off) for local "
        "development on plain http.",
    )
    retrain_max_age_hours: float = _setting(
        24.0,
        "SHOPREC_RETRAIN_MAX_AGE_HOURS",
        "With a worker running, each shop's models are retrained at least this often (hours).",
    )
    retrain_growth_percent: float = _setting(
        2.0,
        "SHOPREC_RETRAIN_GROWTH_PERCENT",
        "...and sooner, once the shop has this many percent more orders than the models were "
        "trained on, or its product set changed (checked every SHOPREC_RETRAIN_CHECK_MINUTES).",
    )
    retrain_check_minutes: float = _setting(
        15.0,
        "SHOPREC_RETRAIN_CHECK_MINUTES",
        "How often the worker checks whether a shop's retrain is due (minutes).",
    )
    sync_interval_minutes: float = _setting(
        15.0,
        "SHOPREC_SYNC_INTERVAL_MINUTES",
        "How often each connected shop is synced incrementally (minutes): webhooks bring "
        "changes at once, the sync catches what they missed.",
    )
    attribution_window_hours: int = _setting(
        24,
        "SHOPREC_ATTRIBUTION_WINDOW_HOURS",
        "Hours after a recommendation click in which a purchase of that item is credited to it "
        "(a shop's 'attribution_window_hours' setting overrides it).",
    )

    def shop_dir(self, shop: str) -> Path:
        """Folder of one shop's SQLite file and model artifacts."""
        return self.data_dir / shop


SETTINGS_SPEC: tuple[tuple[str, str, Any, str], ...] = tuple(
    (f.name, f.metadata["env"], f.default, f.metadata["help"]) for f in fields(Settings)
)

_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
LOG_FORMATS = ("text", "json")


def _convert(name: str, env: str, raw: str, kind: Any, problems: list[str], secret: bool) -> Any:
    shown = "<hidden>" if secret else repr(raw)
    if kind in (int, "int"):
        try:
            value = int(raw)
        except ValueError:
            problems.append(f"{env} must be an integer, but the current value is {shown}")
            return None
        if value <= 0:
            problems.append(f"{env} must be a positive integer, but the current value is {shown}")
        return value
    if kind in (float, "float"):
        try:
            number = float(raw)
        except ValueError:
            problems.append(f"{env} must be a number, but the current value is {shown}")
            return None
        if not number > 0:
            problems.append(f"{env} must be a positive number, but the current value is {shown}")
        return number
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in (bool, "bool"):
        word = raw.lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        problems.append(
            f"{env} must be one of 1/true/yes/on or 0/false/no/off, but the current value is "
            f"{shown}"
        )
        return None
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read every setting from `environ` (default: the process environment) and validate.

    Keyword overrides (from CLI options or tests) win over the environment.
    Raises ConfigError listing every bad value, never echoing secrets.
    """
    env_map = os.environ if environ is None else environ
    problems: list[str] = []
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env = f.metadata["env"]
        if f.name in overrides and overrides[f.name] is not None:
            values[f.name] = overrides[f.name]
            continue
        raw = env_map.get(env)
        if raw is None or raw == "":
            continue
        values[f.name] = _convert(f.name, env, raw.strip(), f.type, problems, f.metadata["secret"])
    settings = Settings(**{k: v for k, v in values.items() if v is not None})
    if settings.log_level.upper() not in _LOG_LEVELS:
        problems.append(
            f"SHOPREC_LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, but the current value is "
            f"{settings.log_level!r}"
        )
    if settings.log_format not in LOG_FORMATS:
        problems.append(
            f"SHOPREC_LOG_FORMAT must be one of {list(LOG_FORMATS)}, but the current value is "
            f"{settings.log_format!r}"
        )
    for name, env in (
        ("retrain_check_minutes", "SHOPREC_RETRAIN_CHECK_MINUTES"),
        ("sync_interval_minutes", "SHOPREC_SYNC_INTERVAL_MINUTES"),
    ):
        minutes = getattr(settings, name)
        if not 0 < minutes <= MAX_INTERVAL_MINUTES:
            problems.append(
                f"{env} must be more than 0 and at most {MAX_INTERVAL_MINUTES} minutes (a day), "
                f"but the current value is {minutes!r}"
            )
    if not settings.retrain_max_age_hours > 0:
        problems.append(
            "SHOPREC_RETRAIN_MAX_AGE_HOURS must be more than 0, but the current value is "
            f"{settings.retrain_max_age_hours!r}"
        )
    if settings.max_limit < settings.default_limit:
        problems.append(
            f"SHOPREC_DEFAULT_LIMIT ({settings.default_limit}) must not exceed "
            f"SHOPREC_MAX_LIMIT ({settings.max_limit})"
        )
    if not settings.public_url.startswith(("http://", "https://")):
        problems.append(
            f"SHOPREC_PUBLIC_URL must start with http:// or https://, but the current value is "
            f"{settings.public_url!r}"
        )
    if not settings.klaviyo_base_url.startswith(("http://", "https://")):
        problems.append(
            f"SHOPREC_KLAVIYO_BASE_URL must start with http:// or https://, but the current "
            f"value is {settings.klaviyo_base_url!r}"
        )
    if settings.redis_url and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        problems.append(
            f"REDIS_URL must start with redis://, rediss:// or unix://, but the current value is "
            f"{settings.redis_url!r}"
        )
    if problems:
        raise ConfigError(problems)
    return settings
