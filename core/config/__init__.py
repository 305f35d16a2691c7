"""µTask's configuration: configstore providers, items, `utask-cfg` (reference §9.4–9.5).

    settings = load_settings()        # from CONFIGURATION_FROM; None when unset (embedded default)
    settings.database_url, settings.keyring, settings.utask (UtaskConfig), settings.basic_auth,
    settings.groups_auth, settings.callback (CallbackConfig | None), settings.store (ConfigStore)
    settings.template_config_items()  # `.config` for templates, secrets concealed, numbers exact
    parse_go_duration("1h30m") -> timedelta; parse_go_duration_ns(...) -> int

Every problem raises `ConfigError`, whose str() is one line naming the item.
"""

from .durations import DurationError, format_go_duration, parse_go_duration, parse_go_duration_ns
from .errors import ConfigError
from .settings import (
    DEV_PASSWORD,
    DEV_USERNAME,
    CallbackConfig,
    Settings,
    data_dir,
    development_settings,
    load_settings,
    parse_config_value,
    settings_from_store,
)
from .store import CONFIGURATION_FROM, ConfigStore, Item
from .utask_cfg import ALWAYS_CONCEALED, DatabaseConfig, NotifyAction, UtaskConfig

__all__ = [
    "ALWAYS_CONCEALED",
    "CONFIGURATION_FROM",
    "DEV_PASSWORD",
    "DEV_USERNAME",
    "CallbackConfig",
    "ConfigError",
    "ConfigStore",
    "DatabaseConfig",
    "DurationError",
    "Item",
    "NotifyAction",
    "Settings",
    "UtaskConfig",
    "data_dir",
    "development_settings",
    "format_go_duration",
    "load_settings",
    "parse_config_value",
    "parse_go_duration",
    "parse_go_duration_ns",
    "settings_from_store",
]
