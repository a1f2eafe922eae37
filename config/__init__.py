"""Process-wide settings: `load_settings()` once per process, then pass `Settings` down."""

from config.errors import ConfigError
from config.settings import SETTINGS_SPEC, Settings, load_settings

__all__ = ["SETTINGS_SPEC", "ConfigError", "Settings", "load_settings"]
