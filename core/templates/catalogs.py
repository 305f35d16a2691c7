"""Action catalogs: which action types exist and how their raw configuration is checked at load.

Validation is synchronous (it runs at template load, before anything executes), so the catalog
protocol is sync. Implementations:
- `PluginHostCatalog.build(host, templates, functions)` (async): asks the plugin host
  (`await host.validate(type, base, config)`) about every configuration the templates use, up front;
- `InstalledPluginsCatalog`: the installed action plugins, loaded in this process for `validate` only
  (the `utask templates check` default, no server needed);
- `StaticCatalog`: type names with optional validator callables (`--actions`, tests).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

from utask.core.templates.functions import FunctionRegistry
from utask.core.templates.models import TaskTemplate

#: Names of the templates being imported together (µTask's "being imported" list). Catalogs whose
#: plugins check references to other templates (subtask, batch) read it during validation.
KNOWN_TEMPLATES: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "utask_known_templates", default=frozenset()
)


@runtime_checkable
class ActionCatalog(Protocol):
    """The action types that exist and their configuration check (a plugin's `validate`)."""

    def has(self, action_type: str) -> bool: ...

    def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        """Raise any exception whose str() is the plugin's message when the raw config is refused.

        `base_config`/`config` are decoded JSON (dicts, lists, str, bool, None, JSONNumber), as written.
        """
        ...


class StaticCatalog:
    """A catalog of known types with optional validators (CLI `--actions`, tests)."""

    def __init__(self, types: Iterable[str] = (), validators: dict[str, Any] | None = None,
                 metadata_schemas: dict[str, Any] | None = None) -> None:
        self.types = set(types) | set(validators or {})
        self.validators = dict(validators or {})
        self.metadata_schemas = dict(metadata_schemas or {})

    def has(self, action_type: str) -> bool:
        return action_type in self.types

    def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        check = self.validators.get(action_type)
        if check is not None:
            check(base_config, config)

    def metadata_schema(self, action_type: str) -> Any:
        return self.metadata_schemas.get(action_type)


class PluginHostCatalog:
    """Sync catalog over the async plugin host: results of `host.validate` gathered beforehand."""

    def __init__(self, types: Iterable[str], results: dict[tuple[str, str, str], str | None],
                 metadata_schemas: dict[str, Any] | None = None) -> None:
        self.types = set(types)
        self.results = results
        self.metadata_schemas = dict(metadata_schemas or {})

    @staticmethod
    def _key(action_type: str, base_config: Any, config: Any) -> tuple[str, str, str]:
        from utask.core.templates.jsonenc import dumps

        return action_type, dumps(base_config), dumps(config)

    @classmethod
    async def build(cls, host: Any, templates: Iterable[TaskTemplate],
                    functions: FunctionRegistry | None = None,
                    known_templates: Iterable[str] | None = None) -> PluginHostCatalog:
        """Validate through `await host.validate(type, base, config)` everything `templates` use.

        `known_templates` (default: the names of `templates`) is exposed through KNOWN_TEMPLATES while
        the host validates, for plugins checking references to other templates.
        """
        templates = list(templates)
        names = set(known_templates) if known_templates is not None else {t.name for t in templates}
        token = KNOWN_TEMPLATES.set(frozenset(names))
        try:
            return await cls._build(host, templates, functions)
        finally:
            KNOWN_TEMPLATES.reset(token)

    @classmethod
    async def _build(cls, host: Any, templates: list[TaskTemplate],
                     functions: FunctionRegistry | None) -> PluginHostCatalog:
        types = set(host.action_types())
        functions = functions or FunctionRegistry()
        results: dict[tuple[str, str, str], str | None] = {}
        for base, config, action_type in _plugin_calls(templates, functions):
            if action_type not in types:
                continue
            key = cls._key(action_type, base, config)
            if key in results:
                continue
            try:
                await host.validate(action_type, base, config)
                results[key] = None
            except Exception as exc:  # the plugin's message is the validation error
                results[key] = str(exc)
        return cls(types, results, _host_metadata_schemas(host, types))

    def has(self, action_type: str) -> bool:
        return action_type in self.types

    def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        message = self.results.get(self._key(action_type, base_config, config))
        if message:
            raise ValueError(message)

    def metadata_schema(self, action_type: str) -> Any:
        return self.metadata_schemas.get(action_type)


def _host_metadata_schemas(host: Any, types: Iterable[str]) -> dict[str, Any]:
    """Metadata JSON schemas the plugins declare (linting of `.step.X.metadata...`, §1.4): through
    `host.metadata_schema(type)` when the host offers it, else the in-process plugin objects it holds."""
    schema_of = getattr(host, "metadata_schema", None)
    if callable(schema_of):
        return {t: schema_of(t) for t in types}
    entries = getattr(host, "entries", None) or {}
    out: dict[str, Any] = {}
    for t in types:
        plugin = getattr(entries.get(t), "plugin", None)
        if getattr(plugin, "metadata_schema", None) is not None:
            out[t] = plugin.metadata_schema
    return out


def _plugin_calls(templates: Iterable[TaskTemplate], functions: FunctionRegistry):
    """(base, config, final type) of every executor level in the templates, following functions."""
    for tpl in templates:
        bases = tpl.base_configurations or {}
        for st in tpl.steps.values():
            execs = [st.action] + ([st.pre_hook] if st.pre_hook else [])
            for ex in execs:
                base = bases.get(ex.base_configuration)
                t, config, seen = ex.type, ex.configuration, set()
                while t in functions and t not in seen:
                    seen.add(t)
                    fn = functions.get(t)
                    assert fn is not None
                    t, config = fn.action.type, fn.action.configuration
                yield base, config, t
    for name in functions:
        fn = functions.get(name)
        assert fn is not None
        if fn.pre_hook is not None:
            yield None, fn.pre_hook.configuration, fn.pre_hook.type



class InstalledPluginsCatalog:
    """Action plugins registered under the `utask.plugins` entry points, validated in this process.

    Only `validate` runs (the plugin's configuration check on the merged raw configuration) — no
    execution, so no sandbox is needed. Plugins that fail to load are listed in `load_errors`.
    """

    def __init__(self, plugin_settings: dict[str, dict[str, Any]] | None = None) -> None:
        self.plugins: dict[str, Any] = {}
        self.load_errors: dict[str, str] = {}
        self.plugin_settings = plugin_settings or {}
        try:
            from utask_sdk import _runtime
        except ImportError:  # pragma: no cover - the SDK is a dependency of the server
            return
        self._runtime = _runtime
        pm = _runtime.plugin_manager()
        for ep in metadata.entry_points(group="utask.plugins"):
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # a broken plugin must not hide the others
                self.load_errors[ep.name] = str(exc)
        try:
            for plugin in _runtime.action_plugins(pm):
                self.plugins[plugin.name] = plugin
                # The server's settings for it (e.g. the script plugin's scripts_path), as the host gives them.
                plugin.settings = dict(getattr(plugin, "default_settings", {}) or {}) | self.plugin_settings.get(
                    plugin.name, {})
        except Exception as exc:  # pragma: no cover
            self.load_errors["*"] = str(exc)

    def has(self, action_type: str) -> bool:
        return action_type in self.plugins

    def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        from utask.core.plugins import wire
        from utask_sdk import protocol

        plugin = self.plugins[action_type]
        # Through the wire encoding, as in the sandbox: the plugin sees the same values either way (numbers
        # as int or ExactFloat, not the server's JSONNumber).
        request = protocol.loads(wire.encode({"op": "validate", "base": base_config, "config": config})[4:])
        reply = self._runtime.handle(plugin, request, None, "")
        if not reply.get("ok"):
            raise ValueError(reply.get("error", {}).get("message", "invalid configuration"))

    def metadata_schema(self, action_type: str) -> Any:
        plugin = self.plugins.get(action_type)
        return getattr(plugin, "metadata_schema", None) if plugin is not None else None

    def types(self) -> list[str]:
        return sorted(self.plugins)


class CombinedCatalog:
    """Installed plugins plus extra type names accepted without configuration checks."""

    def __init__(self, primary: Any, extra: StaticCatalog) -> None:
        self.primary = primary
        self.extra = extra

    def has(self, action_type: str) -> bool:
        return self.primary.has(action_type) or self.extra.has(action_type)

    def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        if self.primary.has(action_type):
            self.primary.validate(action_type, base_config, config)

    def metadata_schema(self, action_type: str) -> Any:
        getter = getattr(self.primary, "metadata_schema", None)
        return getter(action_type) if getter and self.primary.has(action_type) else None
