"""The app factory's ping and the CLI's extension points."""

from __future__ import annotations

import argparse

import pytest
from fastapi.testclient import TestClient
from utask.core.config import development_settings
from utask.core.storage import Database
from utask.hostapi import cli
from utask.hostapi.app import APP_EXTENSIONS, create_app


def test_ping_answers_pong_when_the_database_answers_else_500_empty(database_url: str, tmp_path) -> None:
    settings = development_settings(database_url, tmp_path)
    db = Database.connect(database_url, pool_size=1)
    try:
        r = TestClient(create_app(settings, db)).get("/unsecured/mon/ping")
        assert (r.status_code, r.text) == (200, "pong")
    finally:
        db.dispose()
    down = Database.connect("postgres://nobody@127.0.0.1:1/none?connect_timeout=1", pool_size=1)
    r = TestClient(create_app(settings, down)).get("/unsecured/mon/ping")
    assert (r.status_code, r.content) == (500, b"")


def test_app_extensions_plug_routes_in(tmp_path) -> None:
    def extension(app, settings, database, options) -> None:
        @app.get("/extra")
        def extra() -> dict:
            return {"region": options.region}

    APP_EXTENSIONS.append(extension)
    try:
        app = create_app(development_settings("host=/nonexistent dbname=x", tmp_path))
        assert TestClient(app).get("/extra").json() == {"region": "default"}
    finally:
        APP_EXTENSIONS.remove(extension)


def register_hello(subparsers) -> None:
    p = subparsers.add_parser("hello")
    p.add_argument("name")
    p.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)


def test_subcommands_register_from_the_list(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, (("hello",), f"{__name__}:register_hello"),
                                              (("broken",), "utask.no_such_module:register")])
    assert cli.main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"
    # lazily registered: another command never imports it, and a broken one only fails when asked for
    assert "hello" not in cli.build_parser("version")._subparsers._group_actions[0].choices
    assert cli.main(["version"]) == 0
    assert cli.main(["broken"]) == 1
    assert capsys.readouterr().err.startswith("utask: command 'broken' is unavailable: ModuleNotFoundError")


def test_go_style_boolean_flags() -> None:
    parser = cli.build_parser()
    for argv, debug in ((["serve", "--debug"], True), (["serve", "--debug=false"], False), (["serve"], False)):
        args = parser.parse_args(argv)
        cli._resolve_env_defaults(args)
        assert args.debug is debug
    assert isinstance(parser.parse_args(["serve", "--init-path", "x"]), argparse.Namespace)  # accepted, ignored


def register_crash(subparsers) -> None:
    p = subparsers.add_parser("crash")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(RuntimeError("boom\nsecond line")))


def test_unexpected_error_is_one_line_unless_debug(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, (("crash",), f"{__name__}:register_crash")])
    monkeypatch.delenv("DEBUG", raising=False)
    assert cli.main(["crash"]) == 1
    assert capsys.readouterr().err == (
        "utask: unexpected error: RuntimeError: boom second line (run with DEBUG=true for the traceback)\n")
    monkeypatch.setenv("DEBUG", "true")
    with pytest.raises(RuntimeError):
        cli.main(["crash"])
