"""The `utask` command line: the composition root (configuration → database → app → HTTP server).

Subcommands are registered from `SUBCOMMANDS`: each entry is `register(subparsers)` (a callable, or a
"module:function" string imported on start) that adds its parser and sets `func=handler(args) -> int`.
Later issues add theirs (`utask plugins`, `utask plugin new`, `utask templates check`,
`utask audit verify`) by appending one line to `SUBCOMMANDS` (keep those modules light to import: they
are imported on every start, `serve` included).

Every expected failure (bad configuration, unreachable or too-new database, bad flag) prints ONE line
`utask: <problem>` on stderr and exits with status 1 (2 for usage errors); never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

_T0 = time.monotonic()
log = logging.getLogger("utask")

Register = Callable[[Any], None]


class CLIError(Exception):
    """An expected failure: printed as one line, exit status 1."""


# -- environment helpers -------------------------------------------------------------------------------
_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off", ""}


def _env_bool(name: str) -> bool:
    raw = os.environ.get(name, "")
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise CLIError(f"invalid boolean {raw!r} in ${name}")


def _flag_bool(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    return port


# -- logging ----------------------------------------------------------------------------------------------
class _TextFormatter(logging.Formatter):
    """logrus' text format, as µTask prints: time="RFC 3339" level=info msg="..."."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        msg = record.getMessage()
        if record.exc_info:
            msg += " " + " ".join(self.formatException(record.exc_info).split())
        return f'time="{ts}" level={record.levelname.lower()} msg={json.dumps(msg, ensure_ascii=False)}'


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(fmt: str = "text", debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JSONFormatter() if fmt == "json" else _TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("alembic", "uvicorn.access", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


# -- configuration + database (shared by serve and migrate) ------------------------------------------------
def _announce_development() -> None:
    from utask.core.config import DEV_PASSWORD, DEV_USERNAME

    banner = ("DEVELOPMENT SETUP: no CONFIGURATION_FROM, so utask runs on its embedded PostgreSQL with a generated "
              f"encryption key and basic auth {DEV_USERNAME}/{DEV_PASSWORD} ({DEV_USERNAME} is administrator). "
              "Do NOT use this in production: set CONFIGURATION_FROM (e.g. env:CFG with CFG_DATABASE, "
              "CFG_UTASK_CFG, CFG_ENCRYPTION_KEY)")
    log.warning(banner)


def open_settings() -> tuple[Any, Any]:
    """(settings, embedded server or None). Starts the embedded PostgreSQL when nothing is configured."""
    from utask.core.config import ConfigError, data_dir, development_settings, load_settings

    try:
        settings = load_settings()
    except ConfigError as e:
        raise CLIError(str(e)) from None
    if settings is not None:
        for key in settings.utask.unknown_keys:
            log.warning('configuration item "utask-cfg": unknown key "%s" is ignored', key)
        return settings, None

    import psycopg
    from utask.core.storage.embedded import EmbeddedPostgres, EmbeddedPostgresError

    server = EmbeddedPostgres.default(purpose="serve")
    try:
        server.start()
        _ensure_database(server.url("postgres"), "utask")
        settings = development_settings(server.url("utask"), data_dir())
    except (EmbeddedPostgresError, ConfigError, OSError, psycopg.Error) as e:
        server.stop()
        raise CLIError(f"embedded PostgreSQL ({server.base_dir}): {' '.join(str(e).split())}") from None
    except BaseException:
        server.stop()
        raise
    _announce_development()
    return settings, server


def _ensure_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run_migrations(url: str) -> Any:
    from sqlalchemy.exc import DBAPIError, OperationalError
    from utask.core.storage import DatabaseURLError, MigrationError, migrate, redact

    try:
        return migrate(url)
    except (MigrationError, DatabaseURLError) as e:
        raise CLIError(f"database: {e}") from None
    except OperationalError as e:
        reason = " ".join(str(e.orig or e).split())
        raise CLIError(f'database: cannot use {redact(url)} (configuration item "database"): {reason}') from None
    except DBAPIError as e:
        reason = " ".join(str(e.orig or e).split())
        raise CLIError(f"database: migration failed: {reason}") from None


# -- serve ------------------------------------------------------------------------------------------------
def _serve_options(args: argparse.Namespace) -> Any:
    from .app import ServeOptions

    if not 0 < args.http_port <= 65535:
        raise CLIError("Incorrect HTTP port range")
    if args.logs_format not in ("text", "json", "gelf"):
        raise CLIError(f"unknown logs format {args.logs_format!r} (text or json)")
    return ServeOptions(
        templates_paths=tuple(p for p in args.templates_path.split(":") if p),
        functions_path=args.functions_path,
        scripts_path=args.scripts_path,
        region=args.region,
        http_host=args.http_host,
        http_port=args.http_port,
        debug=args.debug,
        maintenance_mode=args.maintenance_mode,
        logs_format="json" if args.logs_format == "gelf" else args.logs_format,
    )


class _Stopped(Exception):
    """SIGTERM/SIGINT outside uvicorn's own handling (start-up, or the signal uvicorn re-raises after its
    graceful shutdown): unwinds the stack so the embedded database is stopped, then exit 0."""


def _raise_stopped(signum: int, frame: Any) -> None:
    raise _Stopped(signum)


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    options = _serve_options(args)
    setup_logging(options.logs_format, options.debug)
    for flag, default in (("init_path", "./init"), ("plugins_path", "./plugins")):
        if getattr(args, flag) != default:
            log.warning("--%s is ignored: Go plugins do not apply; install Python plugin distributions instead",
                        flag.replace("_", "-"))
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    embedded = None
    try:
        settings, embedded = open_settings()
        return _serve(settings, embedded, options, args)
    except _Stopped:
        return 0
    finally:
        if embedded is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the database running
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            embedded.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(settings: Any, embedded: Any, options: Any, args: argparse.Namespace) -> int:
    import asyncio

    from utask.core.storage import Database

    run_migrations(settings.database_url)
    database = Database.connect(settings.database_url, pool=settings.utask.database_config,
                                keyring=settings.keyring)
    host = options.http_host or ("127.0.0.1" if settings.development else "0.0.0.0")
    if host != options.http_host:
        options = type(options)(**{**options.__dict__, "http_host": host})
    try:
        return asyncio.run(_serve_async(settings, database, options))
    finally:
        database.dispose()


async def _serve_async(settings: Any, database: Any, options: Any) -> int:
    """Plugins, templates, engine and API share one event loop: workers' pipes and the pools are bound to it."""
    import uvicorn

    from .app import create_app
    from .server import Runtime, ServerStartError

    try:
        runtime = await Runtime.start(settings, options)
    except ServerStartError as exc:
        raise CLIError(str(exc)) from None
    try:
        app = create_app(settings, database, options)
        runtime.mount_api(app, database)
        host = options.http_host
        shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
        url = f"http://{shown}:{options.http_port}"
        config = uvicorn.Config(app, host=host, port=options.http_port, log_config=None,
                                access_log=options.debug, lifespan="on", timeout_graceful_shutdown=10)
        server = uvicorn.Server(config)
        original_startup = server.startup

        async def startup(sockets: Any = None) -> None:
            await original_startup(sockets=sockets)
            if server.started:
                elapsed = time.monotonic() - _T0
                log.info("utask serving on %s (ready in %.2fs)", url, elapsed)
                lines = [f"utask is serving on {url}  (ping: {url}/unsecured/mon/ping)",
                         f"dashboard: {url}/ui/dashboard/"]
                if settings.development:
                    from utask.core.config import DEV_PASSWORD, DEV_USERNAME

                    lines.append(f"development credentials: {DEV_USERNAME} / {DEV_PASSWORD}  "
                                 f"(try: curl -u {DEV_USERNAME}:{DEV_PASSWORD} {url}/template)")
                print("\n".join(lines), flush=True)

        server.startup = startup  # type: ignore[method-assign]
        original_shutdown = server.shutdown

        async def shutdown(sockets: Any = None) -> None:
            # Long-lived responses (the dashboard's event streams) end first: uvicorn's graceful shutdown
            # waits for every open response, so an open stream would hold it for its whole timeout.
            for hook in list(getattr(app.state, "before_server_shutdown", ())):
                try:
                    await hook()
                except Exception as exc:  # noqa: BLE001 - shutting down regardless
                    log.warning("shutdown hook failed: %s", exc)
            await original_shutdown(sockets=sockets)

        server.shutdown = shutdown  # type: ignore[method-assign]
        try:
            await server.serve()
        except _Stopped:
            pass
        except SystemExit:  # uvicorn exits when it cannot bind; say it in our one line instead
            if server.started:
                raise
        if not server.started and not server.should_exit:
            raise CLIError(f"cannot listen on {host}:{options.http_port} (is the port already in use?)")
        return 0
    finally:
        await runtime.stop()


def register_serve(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="run the µTask server (default command)")
    add_serve_arguments(p)
    p.set_defaults(func=cmd_serve)


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--templates-path", default=env("TEMPLATES", "./templates"),
                   help="colon-separated template folders ($TEMPLATES, default ./templates)")
    # µTask binds $FUNCTIONS but never reads it; we honour it.
    p.add_argument("--functions-path", default=env("FUNCTIONS", "./functions"),
                   help="functions folder ($FUNCTIONS, default ./functions)")
    p.add_argument("--scripts-path", default=env("SCRIPTS", "./scripts"),
                   help="scripts folder ($SCRIPTS, default ./scripts)")
    p.add_argument("--region", default=env("REGION", "default"), help="region of this instance ($REGION)")
    p.add_argument("--http-port", type=_port, default=None, help="HTTP port ($SERVER_PORT, default 8081)")
    p.add_argument("--http-host", default=env("SERVER_HOST", ""),
                   help="listen address ($SERVER_HOST; default 0.0.0.0, 127.0.0.1 for the embedded default)")
    # Like the Go flags: `--debug`, `--debug=true`, `--debug=false`.
    p.add_argument("--debug", nargs="?", const=True, default=None, type=_flag_bool, help="debug logs ($DEBUG)")
    p.add_argument("--maintenance-mode", nargs="?", const=True, default=None, type=_flag_bool,
                   help="refuse writes, run no collectors ($MAINTENANCE_MODE)")
    p.add_argument("--logs-format", default=env("LOGS_FORMAT", "text"), help="text or json ($LOGS_FORMAT)")
    # µTask's folders of Go `.so` plugins: accepted so existing command lines keep working; Python plugins are
    # installed distributions discovered through entry points instead.
    p.add_argument("--init-path", default=env("INIT", "./init"), help=argparse.SUPPRESS)
    p.add_argument("--plugins-path", default=env("PLUGINS", "./plugins"), help=argparse.SUPPRESS)


def _resolve_env_defaults(args: argparse.Namespace) -> None:
    """Flags whose environment variable needs parsing (done after argparse so errors are one line)."""
    if getattr(args, "http_port", "absent") is None:
        raw = os.environ.get("SERVER_PORT", "8081")
        try:
            args.http_port = int(raw)
        except ValueError:
            raise CLIError(f"invalid $SERVER_PORT {raw!r}") from None
    for flag, name in (("debug", "DEBUG"), ("maintenance_mode", "MAINTENANCE_MODE")):
        if getattr(args, flag, "absent") is None:
            setattr(args, flag, _env_bool(name))


# -- migrate, version ---------------------------------------------------------------------------------------
def cmd_migrate(args: argparse.Namespace) -> int:
    setup_logging("text", False)
    settings, embedded = open_settings()
    try:
        result = run_migrations(settings.database_url)
    finally:
        if embedded is not None:
            embedded.stop()
    if result.stamped:
        print(f"took over a µTask database: stamped {result.before or '0001_utask_011'}; now at {result.after}")
    elif result.applied:
        print(f"migrated from {result.before or 'an empty database'} to {result.after} "
              f"({', '.join(result.applied)})")
    else:
        print(f"database already at {result.after}")
    return 0


def register_migrate(subparsers: Any) -> None:
    p = subparsers.add_parser("migrate", help="apply pending database migrations and exit")
    p.set_defaults(func=cmd_migrate)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("utask")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
        return "0.0.0+unknown"


def cmd_version(args: argparse.Namespace) -> int:
    print(f"utask {version()}")
    return 0


def register_version(subparsers: Any) -> None:
    p = subparsers.add_parser("version", help="print the version")
    p.set_defaults(func=cmd_version)


# -- the registry of subcommands -------------------------------------------------------------------------
# Append here. An entry is a register callable (always loaded), or `(names, "package.module:function")`: the
# module is imported only when one of `names` is the command being run (or for `utask --help`), so the
# other subsystems' import time never slows down `utask serve`.
SUBCOMMANDS: list[Register | str | tuple[tuple[str, ...], str]] = [
    register_serve,
    register_migrate,
    register_version,
    (("audit",), "utask.core.engine.cli:register"),
    # The plugin host's commands, with the init plugins added to `utask plugins`.
    (("plugins", "plugin"), "utask.hostapi.plugins_cli:register"),
    (("templates",), "utask.core.templates.cli:register"),
]


def _load(entry: Register | str) -> Register:
    if callable(entry):
        return entry
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name or "register")


class _VersionAction(argparse.Action):
    """`--version`, reading the distribution metadata only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"utask {version()}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other failure
        self.exit(2, f"utask: {' '.join(message.split())} (see utask --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `command`, lazily registered subcommands other than that one are left out."""
    parser = _Parser(prog="utask", description="µTask for Python: automation engine driven by YAML task templates")
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for entry in SUBCOMMANDS:
        if not isinstance(entry, tuple):
            _load(entry)(subparsers)
            continue
        names, target = entry
        if command is not None and command not in names:
            continue
        try:
            register = _load(target)
        except Exception as e:  # a broken subsystem must not take `utask serve` or `--help` down with it
            if command is not None:
                raise CLIError(f"command {command!r} is unavailable: {type(e).__name__}: {e}") from None
            print(f"utask: warning: commands {', '.join(names)} unavailable ({type(e).__name__}: {e})",
                  file=sys.stderr)
            continue
        register(subparsers)
    return parser


def _lazy_names() -> set[str]:
    return {n for entry in SUBCOMMANDS if isinstance(entry, tuple) for n in entry[0]}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A bare `utask` (or `utask --http-port 9000`) serves, as the Go binary does.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["serve", *argv]
    try:
        known = argv[0] in _lazy_names() or argv[0] in ("serve", "migrate", "version")
        parser = build_parser(argv[0] if known else None)  # unknown: everything, for the error's list
    except CLIError as e:
        print(f"utask: {e}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    try:
        _resolve_env_defaults(args)
        return int(args.func(args) or 0)
    except CLIError as e:
        print(f"utask: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        # A bug, not a configuration problem: still one line, unless the operator asks for the traceback.
        if os.environ.get("DEBUG", "").strip().lower() in _TRUE or getattr(args, "debug", False):
            raise
        print(f"utask: unexpected error: {type(e).__name__}: {' '.join(str(e).split())} "
              "(run with DEBUG=true for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
