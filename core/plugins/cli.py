"""`utask plugins` and `utask plugin new NAME` (wired into the `utask` command by hostapi/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any


def scaffold_dir() -> str:
    """The cookiecutter scaffold: shipped in the distribution as `utask.scaffold` (the repository's
    `plugin-template/`, which an editable install maps to directly)."""
    from importlib.util import find_spec

    spec = find_spec("utask.scaffold")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if os.path.isfile(os.path.join(location, "cookiecutter.json")):
            return str(location)
    # A source tree that is not installed.
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "plugin-template")


def register(subparsers: Any) -> None:
    listing = subparsers.add_parser("plugins", help="list action plugins, their sandbox profile and layers")
    listing.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    listing.add_argument("--utask-cfg", metavar="FILE",
                         help="a utask-cfg JSON file whose `sandbox` section applies (default: $CFG_UTASK_CFG)")
    listing.set_defaults(func=cmd_plugins)

    plugin = subparsers.add_parser("plugin", help="plugin development")
    plugin_sub = plugin.add_subparsers(dest="plugin_command", required=True)
    new = plugin_sub.add_parser("new", help="create a plugin distribution from the cookiecutter template")
    new.add_argument("name", help="the action type, e.g. `hello`")
    new.add_argument("-o", "--output-dir", default=".", help="where to create the project (default: .)")
    new.add_argument("--author", default="", help="author name written into pyproject.toml")
    new.set_defaults(func=cmd_plugin_new)


def _sandbox_section(path: str | None) -> dict[str, Any] | None:
    raw = None
    if path:
        with open(path) as f:
            raw = f.read()
    elif os.environ.get("CFG_UTASK_CFG"):
        raw = os.environ["CFG_UTASK_CFG"]
    if not raw:
        return None
    return json.loads(raw).get("sandbox")


def cmd_plugins(args: argparse.Namespace) -> int:
    from .host import PluginHost

    host = PluginHost.from_config(_sandbox_section(getattr(args, "utask_cfg", None)), strict=False)

    async def collect() -> list[dict[str, Any]]:
        # Every plugin's own worker, not the catalog process: its layers are those its executions get.
        await host.start(prestart=("all",))
        try:
            return host.describe()
        finally:
            await host.stop()

    rows = asyncio.run(collect())
    from .wire import PROTOCOL_VERSION

    if getattr(args, "json", False):
        print(json.dumps({"server_protocol": PROTOCOL_VERSION, "plugins": rows}, indent=2, default=str))
        return 1 if any(r["status"] == "refused" for r in rows) else 0
    print(f"server protocol {PROTOCOL_VERSION}")
    header = ("NAME", "VERSION", "DISTRIBUTION", "PROTOCOL", "NETWORK", "STATUS")
    table = [header] + [(r["name"], r["version"], r["distribution"] or "-", r["protocol"],
                         "yes" if r["network"] else "no", r["status"]) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    for r in rows:
        if r["refused"]:
            print(f"\n{r['name']}: refused: {r['refused']}")
            continue
        print(f"\n{r['name']}: sandbox layers applied: {', '.join(r['layers_applied']) or 'none'}")
        for layer, why in r["layers_missing"].items():
            print(f"  missing {layer}: {why}")
    return 1 if any(r["status"] == "refused" for r in rows) else 0


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from cookiecutter.main import cookiecutter

    name = args.name
    if not name.isidentifier() or not name.islower():
        print(f"utask plugin new: {name!r} is not a valid action type (lower-case letters, digits, _)",
              file=sys.stderr)
        return 2
    path = cookiecutter(scaffold_dir(), no_input=True, output_dir=args.output_dir,
                        extra_context={"plugin_name": name, "author": getattr(args, "author", "") or ""})
    print(path)
    return 0
