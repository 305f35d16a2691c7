"""`utask templates check` and `utask templates schema`.

    utask templates check [--functions-path DIR]... [--scripts-path DIR] [--actions echo,http,...] [--no-plugins] PATH...

PATH is a template file or a directory of templates (`*.yaml`, not recursive, like `--templates-path`).
Function folders are read recursively. One line per problem on stdout
(`<file>: template "<name>": step "<step>": field "<field>": <µTask message>`), a summary on stderr,
exit status 1 when anything is wrong.

Action types: the installed action plugins (entry points `utask.plugins`) are loaded in this process
for their configuration checks only (nothing is executed). `--actions` adds type names accepted
without a configuration check (plugins not installed here, e.g. `--actions http,email,subtask,input`);
`--no-plugins` uses only `--actions`.

    utask templates schema [template|function] [--output FILE]

prints the JSON schema of template or function files, for editors.

The CLI owner wires `register(subparsers)` into `utask`; `python -m utask.core.templates.cli` works too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from utask.core.templates.catalogs import CombinedCatalog, InstalledPluginsCatalog, StaticCatalog
from utask.core.templates.check import check_paths
from utask.core.templates.jsonschemas import function_schema, template_schema


def _split_list(values: list[str] | None, sep: str) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(sep) if x.strip())
    return out


def build_catalog(actions: list[str], use_plugins: bool, scripts_path: str | None = None) -> Any:
    static = StaticCatalog(actions)
    if not use_plugins:
        return static
    settings = {"script": {"scripts_path": os.path.abspath(scripts_path)}} if scripts_path else {}
    return CombinedCatalog(InstalledPluginsCatalog(settings), static)


def cmd_check(args: argparse.Namespace) -> int:
    actions = _split_list(args.actions, ",")
    catalog = build_catalog(actions, not args.no_plugins, args.scripts_path)
    report = check_paths(
        list(args.paths),
        function_dirs=_split_list(args.functions_path, ":"),
        actions=catalog,
        known_templates=set(_split_list(args.known_templates, ",")),
    )
    for problem in report.problems:
        print(problem)
    n_templates, n_functions = len(report.templates), len(report.functions)
    print(
        f"{n_templates} template(s), {n_functions} function(s) checked: "
        + ("OK" if report.ok else f"{len(report.problems)} problem(s)"),
        file=sys.stderr,
    )
    return 0 if report.ok else 1


def cmd_schema(args: argparse.Namespace) -> int:
    schema = template_schema() if args.kind == "template" else function_schema()
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `templates` command (with `check` and `schema`) to an argparse subparsers object."""
    parser = subparsers.add_parser("templates", help="check task templates and functions, print their JSON schemas")
    sub = parser.add_subparsers(dest="templates_command", required=True)

    check = sub.add_parser("check", help="validate template files and function folders (no database)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="template file or directory of templates")
    check.add_argument("--functions-path", action="append", metavar="DIR",
                       help="function folder (recursive); repeatable or colon-separated")
    check.add_argument("--actions", action="append", metavar="TYPES",
                       help="comma-separated action types accepted without configuration check")
    check.add_argument("--no-plugins", action="store_true", help="do not load the installed action plugins")
    check.add_argument("--scripts-path", metavar="DIR",
                       help="the script plugin's folder, as `utask serve --scripts-path` (default ./scripts)")
    check.add_argument("--known-templates", action="append", metavar="NAMES",
                       help="comma-separated template names that exist elsewhere (subtask/batch targets)")
    check.set_defaults(func=cmd_check)

    schema = sub.add_parser("schema", help="print the JSON schema of template or function files")
    schema.add_argument("kind", nargs="?", choices=("template", "function"), default="template")
    schema.add_argument("--output", "-o", metavar="FILE")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="utask")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
