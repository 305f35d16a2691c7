"""The cookiecutter template: bake it, install the result in a fresh venv, run the baked tests there
(through the real sandbox), and `utask plugin new` wraps it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from utask.core.plugins import cli

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3.11"
UV = Path(sys.executable).parent / "uv"


def _uv_install(python: Path, *args: str) -> None:
    base = [str(UV), "pip", "install", "-q", "--python", str(python)]
    # The packages are in uv's cache after `make install`; fall back to the index when they are not.
    done = subprocess.run(base + ["--offline", *args], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(base + list(args), check=True, capture_output=True, text=True)


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON) or not UV.exists(), reason="needs /usr/bin/python3.11 and uv")
def test_baked_plugin_installs_in_a_fresh_venv_and_its_tests_pass(readable_dir):
    project = Path(cookiecutter(str(REPO / "plugin-template"), no_input=True, output_dir=str(readable_dir),
                                extra_context={"plugin_name": "greet_me"}))
    assert project.name == "utask-plugin-greet-me"
    assert (project / "utask_plugin_greet_me" / "__init__.py").exists() and (project / "README.md").exists()

    venv = readable_dir / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _uv_install(python, "--no-deps", "-e", str(REPO / "sdk"), "-e", str(REPO), str(project))
    _uv_install(python, "pluggy>=1.5", "pytest>=8")

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(readable_dir)}
    if "SANDBOX_REQUIRE" in os.environ:
        env["SANDBOX_REQUIRE"] = os.environ["SANDBOX_REQUIRE"]
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_utask_plugin_new(readable_dir, capsys):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plugin", "new", "hello", "-o", str(readable_dir)])
    assert args.func(args) == 0
    assert (readable_dir / "utask-plugin-hello" / "utask_plugin_hello" / "__init__.py").exists()
    bad = parser.parse_args(["plugin", "new", "Not-Valid", "-o", str(readable_dir)])
    assert bad.func(bad) == 2


def test_utask_plugins_lists_echo_with_its_layers(capsys):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plugins"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "echo" in out and "utask-plugin-echo" in out and "1.0.0" in out
    assert "sandbox layers applied:" in out


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON) or not UV.exists(), reason="needs /usr/bin/python3.11 and uv")
def test_readme_single_module_plugin_installed_editable(readable_dir):
    """The SDK README's `hello` (one module, no package), installed with `pip install -e`: its editable
    finder maps `hello_plugin` to `.../hello_plugin` without `.py`; the sandbox must still let it read the
    file, from any working directory."""
    project = readable_dir / "hello"
    project.mkdir()
    (project / "hello_plugin.py").write_text(
        "from utask_sdk import ActionPlugin, hookimpl\n\n"
        "class Hello(ActionPlugin):\n"
        "    name = 'hello'\n"
        "    version = '1.0.0'\n\n"
        "    def execute(self, ctx, config):\n"
        "        return {'greeting': 'hi ' + config['who']}\n\n"
        "@hookimpl\n"
        "def utask_action_plugins():\n"
        "    return [Hello()]\n")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "utask-plugin-hello"\nversion = "1.0.0"\ndependencies = ["utask-sdk>=0.1,<1"]\n\n'
        '[project.entry-points."utask.plugins"]\nhello = "hello_plugin"\n')
    venv = readable_dir / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _uv_install(python, "--no-deps", "-e", str(REPO / "sdk"), "-e", str(REPO), "-e", str(project))
    _uv_install(python, "pluggy>=1.5")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(readable_dir)}
    script = ("from utask_sdk.testing import run_action\n"
              "r = run_action('hello', {'who': 'you'})\n"
              "assert r.error is None, r\n"
              "print(r.output)\n")
    done = subprocess.run([str(python), "-c", script], cwd="/", env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "{'greeting': 'hi you'}" in done.stdout
