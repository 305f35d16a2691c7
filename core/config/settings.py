"""Everything the server reads from configuration, loaded once at start-up.

`load_settings()` reads the configstore described by `CONFIGURATION_FROM`; `development_settings()` is
the embedded default (no configuration at all). Any problem raises `ConfigError` (one line).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utask.core.crypto import KeyConfigError, KeyRing, generate_key_json
from utask.core.gojson import JSONNumber
from utask.core.gojson import loads as go_loads

from .errors import ConfigError
from .store import ConfigStore, Item
from .utask_cfg import UtaskConfig

log = logging.getLogger("utask.config")

DEV_USERNAME = "admin"
DEV_PASSWORD = "1234"


@dataclass(frozen=True)
class CallbackConfig:
    base_url: str
    path_prefix: str = ""


@dataclass
class Settings:
    database_url: str
    keyring: KeyRing
    utask: UtaskConfig
    basic_auth: dict[str, str] = field(default_factory=dict)
    groups_auth: dict[str, list[str]] = field(default_factory=dict)
    # None: neither `callback-config` nor utask-cfg.base_url; callback URLs are then relative to the API
    # (`/unsecured/callback/<id>?t=...`), not a start-up error (deliberate difference, DESIGN §6).
    callback: CallbackConfig | None = None
    store: ConfigStore = field(default_factory=lambda: ConfigStore([]))
    development: bool = False  # the embedded default: dev credentials, generated key

    def template_config_items(self) -> dict[str, Any]:
        """The items templates see as `.config` (reference §9.4), concealed ones left out.

        Each value is parsed as JSON, else YAML (numbers kept exact as `JSONNumber`), else kept as the
        raw string; empty values are skipped.
        """
        concealed = {c.lower() for c in self.utask.concealed_secrets}
        out: dict[str, Any] = {}
        for item in self.store.items():
            # A `filetree:` sub-folder publishes each file under `folder/file` too: concealing the folder
            # (`encryption-key/`) must conceal its files, or a template could read a key by its file name.
            key = item.key.lower()
            if key in concealed or key.split("/", 1)[0] in concealed or item.value == "":
                continue
            out[item.key] = parse_config_value(item.value)
        return out

    def item(self, key: str) -> Item | None:
        return self.store.get(key)


# YAML loading for `.config` values: numbers exact (as JSON would give them), timestamps left as text.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
_loader: Any = None


def _exact_loader() -> Any:
    """A SafeLoader subclass, built on first use (PyYAML costs ~0.1 s of start-up otherwise)."""
    global _loader
    if _loader is not None:
        return _loader
    import yaml

    class ExactLoader(yaml.SafeLoader):
        pass

    def construct_number(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        text = loader.construct_scalar(node)
        if _JSON_NUMBER.match(text):
            return JSONNumber(text)
        value = (yaml.SafeLoader.construct_yaml_int if node.tag.endswith(":int")
                 else yaml.SafeLoader.construct_yaml_float)(loader, node)
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return text
        return JSONNumber(repr(value) if isinstance(value, float) else str(value))

    ExactLoader.add_constructor("tag:yaml.org,2002:int", construct_number)
    ExactLoader.add_constructor("tag:yaml.org,2002:float", construct_number)
    ExactLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    _loader = ExactLoader
    return _loader


def parse_config_value(text: str) -> Any:
    try:
        return go_loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.load(text, Loader=_exact_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return text


def _json_item(item: Item) -> Any:
    try:
        return json.loads(item.value)
    except ValueError as e:
        raise ConfigError(item.key, f"invalid JSON: {e}") from None


def _parse_basic_auth(item: Item | None) -> dict[str, str]:
    if item is None or not item.value.strip():
        return {}
    data = _json_item(item)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(item.key, 'must be a JSON object {"user": "password", ...}')
    return data


def _parse_groups_auth(item: Item | None) -> dict[str, list[str]]:
    if item is None or not item.value.strip():
        return {}
    data = _json_item(item)
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(u, str) for u in v) for v in data.values()
    ):
        raise ConfigError(item.key, 'must be a JSON object {"group": ["user", ...], ...}')
    return data


def _parse_callback(item: Item | None, utask: UtaskConfig) -> CallbackConfig | None:
    if item is None:
        return CallbackConfig(utask.base_url) if utask.base_url else None
    data = _json_item(item)
    if not isinstance(data, dict):
        raise ConfigError(item.key, 'must be a JSON object {"base_url": ..., "path_prefix": ...}')
    base_url, prefix = data.get("base_url", ""), data.get("path_prefix", "")
    if not isinstance(base_url, str) or not isinstance(prefix, str):
        raise ConfigError(item.key, '"base_url" and "path_prefix" must be strings')
    if not base_url:
        base_url = utask.base_url
    return CallbackConfig(base_url, prefix) if base_url or prefix else None  # a prefix alone: relative URLs


def keyring_from_items(items: list[Item]) -> KeyRing:
    if not items:
        raise ConfigError("encryption-key", "no item found")
    try:
        return KeyRing.from_values([it.value for it in items])
    except KeyConfigError as e:
        raise ConfigError("encryption-key", str(e)) from None


def settings_from_store(store: ConfigStore) -> Settings:
    utask = UtaskConfig.from_text(store.require("utask-cfg").value)
    db_item_name = utask.database_config.config_name
    database_url = store.require(db_item_name).value.strip()
    if not database_url:
        raise ConfigError(db_item_name, "empty database URL")
    return Settings(
        database_url=database_url,
        keyring=keyring_from_items(store.get_all("encryption-key")),
        utask=utask,
        basic_auth=_parse_basic_auth(store.get("basic-auth")),
        groups_auth=_parse_groups_auth(store.get("groups-auth")),
        callback=_parse_callback(store.get("callback-config"), utask),
        store=store,
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings | None:
    """Settings from `CONFIGURATION_FROM`, or None when it is not set (the caller uses the embedded default)."""
    store = ConfigStore.from_environment(environ)
    if store is None:
        return None
    return settings_from_store(store)


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's data folder for the embedded default: $UTASK_DATA_DIR, else $XDG_DATA_HOME/utask, else
    ~/.local/share/utask; for root, /var/lib/utask (PostgreSQL then runs as an unprivileged user, which
    could not enter root's 0700 home without loosening it)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("UTASK_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    if environ.get("XDG_DATA_HOME"):
        return Path(environ["XDG_DATA_HOME"]) / "utask"
    if os.geteuid() == 0:
        return Path("/var/lib/utask")
    return Path(os.path.expanduser("~")) / ".local" / "share" / "utask"


def development_key(directory: Path) -> str:
    """The embedded default's encryption key: generated once (mode 0600), reused on every restart."""
    path = directory / "encryption-key.json"
    directory.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate_key_json())
    os.chmod(path, 0o600)
    return path.read_text()


def development_settings(database_url: str, directory: Path) -> Settings:
    """The embedded default: generated key, basic auth admin/1234, admin is administrator."""
    key = development_key(directory)
    utask = UtaskConfig.from_dict({"admin_usernames": [DEV_USERNAME], "application_name": "µTask (development)"})
    items = [
        Item("database", database_url, 0, "embedded"),
        Item("encryption-key", key, 0, "embedded"),
        Item("utask-cfg", json.dumps(utask.raw), 0, "embedded"),
        Item("basic-auth", json.dumps({DEV_USERNAME: DEV_PASSWORD}), 0, "embedded"),
    ]
    return Settings(
        database_url=database_url,
        keyring=keyring_from_items([items[1]]),
        utask=utask,
        basic_auth={DEV_USERNAME: DEV_PASSWORD},
        store=ConfigStore(items),
        development=True,
    )
