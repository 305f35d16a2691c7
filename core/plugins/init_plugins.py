"""Init plugins as the operator sees them: which registered plugins implement the trusted, in-process hooks.

An init plugin is any plugin of the `utask.plugins` entry-point group (or registered by module) that
implements one of the SDK's hooks other than `utask_action_plugins`: auth and group providers, config
sources, extra routes, HTTP middlewares (`utask_sdk.hookspecs`). They run inside the server, so nothing
sandboxes them; `utask plugins` and the start-up log list them (name, distribution, version, hooks).
"""

from __future__ import annotations

from typing import Any

import pluggy
from utask_sdk import hookspecs

ACTION_HOOK = "utask_action_plugins"


def init_hook_names() -> tuple[str, ...]:
    """Every hook of the SDK's specification but the action plugins', in declaration order."""
    return tuple(name for name, value in vars(hookspecs).items()
                 if name.startswith("utask_") and name != ACTION_HOOK and callable(value))


def describe_init_plugins(pm: pluggy.PluginManager | None) -> list[dict[str, Any]]:
    """One row per plugin implementing an init hook: `{"name", "distribution", "version", "module",
    "hooks"}`; `distribution` and `version` are None for plugins registered by module, not entry point."""
    if pm is None:
        return []
    wanted = init_hook_names()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        implemented = {caller.name for caller in pm.get_hookcallers(plugin) or ()}
        hooks = [hook for hook in wanted if hook in implemented]
        if not hooks:
            continue
        dist = dists.get(id(plugin))
        module = getattr(plugin, "__name__", None) or type(plugin).__module__ + "." + type(plugin).__qualname__
        rows.append({
            "name": name,
            "distribution": dist.metadata["name"] if dist is not None else None,
            "version": dist.version if dist is not None else None,
            "module": module,
            "hooks": hooks,
        })
    return sorted(rows, key=lambda row: row["name"])


def summary(rows: list[dict[str, Any]]) -> str:
    """`name (distribution version: hook, hook), ...` for one log line; "none" without init plugins."""
    parts = []
    for row in rows:
        origin = f"{row['distribution']} {row['version']}" if row["distribution"] else row["module"]
        parts.append(f"{row['name']} ({origin}: {', '.join(row['hooks'])})")
    return ", ".join(parts) or "none"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The text listing of `utask plugins`."""
    if not rows:
        return ["init plugins: none"]
    lines = ["init plugins (trusted, run inside the server process):"]
    header = ("NAME", "DISTRIBUTION", "VERSION", "HOOKS")
    body = [(r["name"], r["distribution"] or f"- (module {r['module']})", r["version"] or "-", ", ".join(r["hooks"]))
            for r in rows]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    for row in [header, *body]:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return lines
