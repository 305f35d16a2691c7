"""Discovery: one pluggy manager for the project "utask", hook specs from the SDK, entry points of the
group `utask.plugins`, strict `check_pending()`. Builtin plugins come through exactly the same path."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pluggy
from utask_sdk import hookspecs
from utask_sdk.plugin import ActionPlugin

ENTRY_POINT_GROUP = "utask.plugins"


class PluginLoadError(Exception):
    """A plugin distribution that cannot be registered (the server refuses to start)."""


@dataclass
class PluginEntry:
    plugin: ActionPlugin  # the in-process object: metadata and context templates only, never executed here
    source: dict[str, Any]  # how the worker finds it again
    distribution: str | None
    dist_version: str | None


def build_manager(modules: tuple[str, ...] = (), entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name in modules:
        pm.register(import_module(name), name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginLoadError(f"plugin {err.plugin!r} implements unknown hooks: {err}") from err
    return pm


def action_plugins(pm: pluggy.PluginManager) -> dict[str, PluginEntry]:
    """Action plugins by name; a name registered twice is a start-up error, as in µTask."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    values = {}
    if any(True for _ in dists):
        from importlib.metadata import entry_points

        values = {(ep.name, ep.dist.name if ep.dist else None): ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found: dict[str, PluginEntry] = {}
    for impl in pm.hook.utask_action_plugins.get_hookimpls():
        dist = dists.get(id(impl.plugin))
        if dist is not None:
            source: dict[str, Any] = {"entry_point": impl.plugin_name, "dist": dist.metadata["name"]}
            value = values.get((impl.plugin_name, dist.metadata["name"]))
            if value:
                source["value"] = value
        else:
            source = {"module": impl.plugin_name}
        for plugin in impl.function() or []:
            if not isinstance(plugin, ActionPlugin) or not plugin.name:
                raise PluginLoadError(f"{impl.plugin_name}: utask_action_plugins() must return ActionPlugin "
                                      f"instances with a name, got {plugin!r}")
            if plugin.name in found:
                raise PluginLoadError(f"Step executor conflict! '{plugin.name}' executor registered twice")
            found[plugin.name] = PluginEntry(
                plugin, source,
                dist.metadata["name"] if dist is not None else None,
                dist.version if dist is not None else None,
            )
    return found
