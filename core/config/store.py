"""µTask's configstore: items gathered from the providers listed in `CONFIGURATION_FROM`.

Providers (reference §9.4): `env:PREFIX`, `file:PATH`, `filelist:DIR`, `filetree:DIR`. Each item is
(key, value, priority); among items sharing a key only those of the highest priority are kept ("squash").
The `+refresh` variants of the Go library watch for changes; here they load once, like the plain ones,
because the server reads its configuration at start-up only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIGURATION_FROM = "CONFIGURATION_FROM"
ENV_PRIORITY = 15
FILETREE_PRIORITY = 5
FILETREE_UPPER_PRIORITY = 10  # configstore: a capitalised file name means higher priority


@dataclass(frozen=True)
class Item:
    key: str
    value: str
    priority: int = 0
    source: str = ""


def transform_key(name: str) -> str:
    """configstore's key normalisation: case-insensitive, `_` equivalent to `-`."""
    return name.strip().lower().replace("_", "-")


def _env_items(prefix: str, environ: Mapping[str, str]) -> list[Item]:
    """Variables `PREFIX_...` (compared case-insensitively, `_` and `-` alike); no prefix: every variable."""
    if prefix and not prefix.endswith("_"):
        prefix += "_"
    start = transform_key(prefix)
    source = f"env:{prefix.upper() or 'all'}"
    items = []
    for name, value in environ.items():
        key = transform_key(name)
        if key.startswith(start) and len(key) > len(start):
            items.append(Item(key[len(start):], value, ENV_PRIORITY, source))
    return items


def _file_items(path: str) -> list[Item]:
    import yaml  # imported on use: ~0.1 s of start-up that env-only configurations never need

    source = f"file:{path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(None, f'provider "{source}": {e.strerror or e}') from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(None, f'provider "{source}": invalid YAML: {e}') from e
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(None, f'provider "{source}": expected a YAML list of {{key, value, priority}}')
    items = []
    for n, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
            raise ConfigError(None, f'provider "{source}": entry {n} has no "key"')
        value = entry.get("value", "")
        if not isinstance(value, str):
            # configstore values are strings; a structured YAML value is taken as its JSON text, which
            # is what every consumer of such an item parses anyway.
            value = json.dumps(value)
        priority = entry.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ConfigError(None, f'provider "{source}": entry {n} ("{entry["key"]}"): priority must be an integer')
        items.append(Item(entry["key"], value, priority, source))
    return items


def _filelist_items(dirname: str) -> list[Item]:
    try:
        names = sorted(os.listdir(dirname))
    except OSError as e:
        raise ConfigError(None, f'provider "filelist:{dirname}": {e.strerror or e}') from e
    items: list[Item] = []
    for name in names:
        path = os.path.join(dirname, name)
        if os.path.isfile(path):
            items += _file_items(path)
    return items


def _filetree_priority(name: str) -> int:
    return FILETREE_UPPER_PRIORITY if name[:1].isupper() else FILETREE_PRIORITY


def _read(path: str, source: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(None, f'provider "{source}": {path}: {e.strerror or e}') from e
    except UnicodeDecodeError as e:
        raise ConfigError(None, f'provider "{source}": {path}: not UTF-8 text') from e


def _filetree_items(dirname: str) -> list[Item]:
    """One item per file, as mounted Kubernetes secrets.

    A top-level file gives the item named after it. A file inside a sub-directory gives two items:
    one keyed by the top-level directory name (so several files of `encryption-key/` are several
    encryption keys) and one keyed by its relative path. Hidden entries (Kubernetes' `..data` links)
    are skipped.
    """
    source = f"filetree:{dirname}"
    try:
        entries = sorted(os.listdir(dirname))
    except OSError as e:
        raise ConfigError(None, f'provider "{source}": {e.strerror or e}') from e
    items: list[Item] = []

    def browse(path: str, basename: str) -> None:
        for name in sorted(os.listdir(path)):
            if name.startswith("."):
                continue
            full = os.path.join(path, name)
            if os.path.isdir(full):
                browse(full, os.path.join(basename, name))
                continue
            value = _read(full, source)
            items.append(Item(basename, value, _filetree_priority(basename), source))
            rel = os.path.join(basename, name)
            items.append(Item(rel, value, _filetree_priority(rel), source))

    for name in entries:
        if name.startswith("."):
            continue
        full = os.path.join(dirname, name)
        if os.path.isdir(full):
            browse(full, name)
        else:
            items.append(Item(transform_key(name), _read(full, source), _filetree_priority(name), source))
    return items


def _provider_items(spec: str, environ: Mapping[str, str]) -> list[Item]:
    name, _, arg = spec.partition(":")
    name, arg = name.strip(), arg.strip()
    base = name.removesuffix("+refresh")
    if base == "env":
        return _env_items(arg, environ)
    if base == "file":
        return _file_items(arg) if arg else []
    if base == "filelist":
        return _filelist_items(arg) if arg else []
    if base == "filetree":
        return _filetree_items(arg) if arg else []
    loader = plugin_config_sources().get(base)
    if loader is None:
        known = ", ".join(["env:PREFIX", "file:PATH", "filelist:DIR", "filetree:DIR",
                           *(f"{scheme}:... (init plugin)" for scheme in sorted(plugin_config_sources()))])
        raise ConfigError(None, f'provider "{spec}": failed to instantiate provider factory (known: {known})')
    return _plugin_items(base, arg, loader)


PLUGIN_PRIORITY = ENV_PRIORITY  # an init plugin's source ranks with the environment


def _plugin_items(scheme: str, arg: str, loader: Callable[[str], Any]) -> list[Item]:
    source = f"{scheme}:{arg}"
    try:
        found = loader(arg)
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - an init plugin's failure, reported as the provider's
        raise ConfigError(None, f'provider "{source}": {type(e).__name__}: {e}') from e
    if not isinstance(found, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise ConfigError(None, f'provider "{source}": the init plugin\'s loader must return a dict of strings')
    return [Item(transform_key(key), value, PLUGIN_PRIORITY, source) for key, value in found.items()]


_sources: dict[str, Callable[[str], Any]] | None = None


def plugin_config_sources() -> dict[str, Callable[[str], Any]]:
    """Configuration sources of init plugins (`utask_config_sources` hook), by scheme; loaded once, and only
    when `CONFIGURATION_FROM` names a scheme that is not one of configstore's."""
    global _sources
    if _sources is None:
        from utask.core.plugins.manager import build_manager

        sources: dict[str, Callable[[str], Any]] = {}
        for result in build_manager().hook.utask_config_sources():
            for scheme, loader in (result or {}).items():
                if callable(loader) and scheme not in ("env", "file", "filelist", "filetree"):
                    sources.setdefault(str(scheme), loader)
        _sources = sources
    return _sources


class ConfigStore:
    """The squashed item list of a set of providers."""

    def __init__(self, items: list[Item]) -> None:
        best: dict[str, int] = {}
        for it in items:
            key = it.key.lower()
            best[key] = max(best.get(key, it.priority), it.priority)
        # Keys are case-insensitive in configstore; keep the providers' order for stable results.
        self._items = [it for it in items if it.priority == best[it.key.lower()]]

    @classmethod
    def from_spec(cls, spec: str, environ: Mapping[str, str] | None = None) -> ConfigStore:
        """`spec` is the text of `CONFIGURATION_FROM`: comma-separated `provider:argument`."""
        environ = os.environ if environ is None else environ
        items: list[Item] = []
        for part in spec.split(","):
            if part.strip():
                items += _provider_items(part, environ)
        return cls(items)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ConfigStore | None:
        """The store `CONFIGURATION_FROM` describes, or None when it is unset or empty."""
        environ = os.environ if environ is None else environ
        spec = environ.get(CONFIGURATION_FROM, "").strip()
        return cls.from_spec(spec, environ) if spec else None

    def items(self) -> list[Item]:
        return list(self._items)

    def get_all(self, key: str) -> list[Item]:
        key = key.lower()
        return [it for it in self._items if it.key.lower() == key]

    def get(self, key: str) -> Item | None:
        """The single item of that key, None if absent; several of the same priority are an error."""
        found = self.get_all(key)
        if not found:
            return None
        if len(found) > 1:
            raise ConfigError(key, f"ambiguous: {len(found)} items of the same priority "
                              f"({', '.join(sorted({it.source for it in found}))})")
        return found[0]

    def require(self, key: str) -> Item:
        item = self.get(key)
        if item is None:
            raise ConfigError(key, "no item found (set it, e.g. CFG_"
                              f"{key.upper().replace('-', '_')} with CONFIGURATION_FROM=env:CFG)")
        return item
