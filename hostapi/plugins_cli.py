"""`utask plugins` with the init plugins, and `utask plugin new` (wired into `utask` by hostapi/cli.py).

The action plugins' listing (`utask.core.plugins.cli`) is kept as it is; this adds the init plugins
(trusted, in-process: auth and group providers, config sources, extra routes, HTTP middlewares) after it:
a second table in text, an `init_plugins` list in `--json`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Callable
from typing import Any


def register(subparsers: Any) -> None:
    from utask.core.plugins import cli as plugins_cli

    plugins_cli.register(subparsers)
    listing = subparsers.choices.get("plugins")
    if listing is None:  # pragma: no cover - the plugin host's CLI always registers it
        return
    base = listing.get_default("func")
    listing.description = ("List the action plugins (sandboxed; their sandbox profile and layers) and the "
                           "init plugins (trusted, in the server process; the hooks they implement).")

    def cmd_plugins(args: argparse.Namespace) -> int:
        return list_plugins(args, base)

    listing.set_defaults(func=cmd_plugins)


def init_plugin_rows() -> list[dict[str, Any]]:
    """The init plugins the server would load: the same discovery as `PluginHost.from_config`."""
    from utask.core.plugins.init_plugins import describe_init_plugins
    from utask.core.plugins.manager import build_manager

    return describe_init_plugins(build_manager())


def list_plugins(args: argparse.Namespace, action_listing: Callable[[argparse.Namespace], int]) -> int:
    from utask.core.plugins.init_plugins import table

    if getattr(args, "json", False):
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            status = action_listing(args)
        rows = init_plugin_rows()
        try:
            document = json.loads(captured.getvalue())
        except ValueError:
            document = None
        if not isinstance(document, dict):  # not the document we know: leave it alone, add ours after it
            print(captured.getvalue(), end="")
            print(json.dumps({"init_plugins": rows}, indent=2))
            return status
        document["init_plugins"] = rows
        print(json.dumps(document, indent=2, default=str))
        return status
    status = action_listing(args)
    print()
    print("\n".join(table(init_plugin_rows())))
    return status
