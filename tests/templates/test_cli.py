"""`utask templates check` / `schema` through `python -m utask.core.templates.cli`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from utask.core.templates.cli import main

from .conftest import FIXTURES, FUNCTIONS, SCENARIOS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utask.core.templates.cli", "templates", *args],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )


def test_check_reports_one_line_per_problem_and_exit_status(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad-One\ndescription: broken\ntitle_format: 'x {{.input.nope}}'\n"
        "steps:\n  a:\n    retry_pattern: days\n    action: {type: echo, configuration: {}}\n"
        "  b:\n    dependencies: [zz]\n    action: {type: echo, configuration: {}}\n"
    )
    (tmp_path / "broken.yaml").write_text("name: [\n")
    (tmp_path / "ignored.yml").write_text("not: loaded\n")
    good = os.path.join(SCENARIOS, "functionEchoHelloWorld.yaml")
    proc = run("check", "--functions-path", FUNCTIONS, str(tmp_path), good)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'bad.yaml'}: ")
    assert lines[:2] == [
        f'{bad}: template "bad-one": step "a": field "retry_pattern": Invalid task template: Invalid step a: '
        "Invalid retry pattern: days Expecting(seconds|minutes|hours)",
        f'{bad}: template "bad-one": step "b": field "dependencies": Invalid task template: Invalid step b: '
        'Invalid dependency, no step with that name: "zz"',
    ]
    assert lines[2].startswith(f"{tmp_path / 'broken.yaml'}: failed to unmarshal template 'broken.yaml': ")
    assert len(lines) == 3
    assert "problem(s)" in proc.stderr


def test_check_lint_problem_names_the_field(tmp_path):
    f = tmp_path / "lint.yaml"
    f.write_text("name: lint\ndescription: lint\ntitle_format: 'x {{.input.nope}}'\nsteps: {}\n")
    proc = run("check", "--no-plugins", "--actions", "echo", str(f))
    assert proc.returncode == 1
    assert proc.stdout.strip() == (
        f'{f}: template "lint": field "title_format": Invalid task template: '
        "Invalid text-template handles within task template: Wrong input key: nope"
    )


def test_check_ok_and_actions_flag(capsys):
    ok = [os.path.join(SCENARIOS, n) for n in ("lintingObject.yaml", "functionPreHook.yaml")]
    assert main(["templates", "check", "--functions-path", FUNCTIONS, *ok]) == 0
    assert capsys.readouterr().out == ""
    # a type nobody provides fails, and is accepted once named with --actions
    tpl = os.path.join(FIXTURES, "scenarios", "lintingReservedStep.yaml")
    assert main(["templates", "check", tpl]) == 1
    capsys.readouterr()


def test_check_functions_folder(tmp_path, capsys):
    (tmp_path / "f.yaml").write_text("name: f::x\naction: {type: nope, configuration: {}}\n")
    (tmp_path / "g.yaml").write_text("name: g::x\naction: {type: echo, configuration: {error_type: bad}}\n")
    assert main(["templates", "check", "--functions-path", str(tmp_path), os.path.join(SCENARIOS, "lintingObject.yaml")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{tmp_path / 'f.yaml'}: field \"action\": function \"f::x\": Invalid function action: No runner for type 'nope'",
        f"{tmp_path / 'g.yaml'}: field \"action\": function \"g::x\": Invalid function action: "
        "Wrong error type: expecting 'client' or 'server'",
    ]
    assert main(["templates", "check", "--actions", "nope", "--functions-path", str(tmp_path / "f.yaml"),
                 os.path.join(SCENARIOS, "lintingObject.yaml")]) == 0


def test_schema_command(tmp_path):
    proc = run("schema", "function")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["required"] == ["name", "action"]
    out = tmp_path / "template.schema.json"
    assert main(["templates", "schema", "template", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["properties"]["steps"]["additionalProperties"] == {"$ref": "#/definitions/Step"}


def test_check_typed_plugin_fields_numbers_and_expressions(tmp_path):
    """Installed plugins validate in this process with the values the sandbox would give them: a YAML number
    for an `int` field (the cache plugin's `ttl`) is a number, an expression is checked once rendered."""
    f = tmp_path / "typed.yaml"
    f.write_text(
        "name: typed\ndescription: typed plugin fields\ntitle_format: typed\n"
        "inputs: [{name: ttl, type: number}]\n"
        "steps:\n"
        "  literal: {action: {type: cache, configuration: {action: set, key: a, value: 1, ttl: 60}}}\n"
        "  templated: {action: {type: cache, configuration: {action: set, key: b, value: 1, ttl: '{{.input.ttl}}'}}}\n"
        "  echoed: {action: {type: echo, configuration: {output: {}, unmarshal: '{{.input.ttl}}'}}}\n")
    proc = run("check", str(f))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    f.write_text(f.read_text().replace("ttl: 60", "ttl: sixty"))
    proc = run("check", str(f))
    assert proc.returncode == 1
    assert "field 'ttl': expected integer, got string \"sixty\"" in proc.stdout, proc.stdout


def test_check_says_when_a_path_holds_a_function(tmp_path):
    f = tmp_path / "echo-hello.yaml"
    f.write_text("name: echo-hello\naction: {type: echo, configuration: {output: {hello: world}}}\n")
    proc = run("check", str(f))
    assert proc.returncode == 1
    assert proc.stdout.strip() == (f'{f}: this is a function, not a template (it has "action" and no "steps"): '
                                   "pass its folder with --functions-path")


def test_check_with_the_scripts_folder_of_the_server(tmp_path):
    """The script plugin checks that a template's script exists in the server's scripts folder: `check`
    takes the same `--scripts-path` as `utask serve`."""
    scripts = tmp_path / "my-scripts"
    scripts.mkdir()
    (scripts / "hello.sh").write_text("#!/bin/sh\necho hi\n")
    (scripts / "hello.sh").chmod(0o755)
    f = tmp_path / "scripted.yaml"
    f.write_text("name: scripted\ndescription: runs a script\ntitle_format: scripted\n"
                 "steps:\n  run: {action: {type: script, configuration: {file_path: hello.sh}}}\n")
    assert run("check", str(f)).returncode == 1  # ./scripts of the working directory: no hello.sh there
    proc = run("check", "--scripts-path", str(scripts), str(f))
    assert proc.returncode == 0, proc.stdout + proc.stderr
