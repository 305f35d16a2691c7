"""`utask serve` start-up with lazy plugin workers: no worker runs once the server answers (one catalog
process checked the plugins and validated the templates, then exited); the first task starts the worker of
the plugin it uses; `sandbox.prestart` starts the named ones with the server. What must still stop start-up
does: a plugin built for an incompatible protocol, a template with a bad step configuration, a `prestart`
naming no installed plugin — each with one line and no traceback."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.foundation.conftest import UTASK_BIN, clean_environ, run_cli, utask_env
from tests.foundation.test_cli import wait_for_ping

from .test_serve_end_to_end import ADMIN, wait_task

BAD_ECHO = """
name: bad-echo
description: a step configuration echo refuses
title_format: bad
steps:
  say:
    action:
      type: echo
      configuration:
        output: hi
        error_type: bogus
"""

FUTURE_PLUGIN = '''
from utask_sdk import ActionPlugin, hookimpl


class Future(ActionPlugin):
    name = "future"
    version = "9.0.0"
    protocol = "2.0.0"

    def execute(self, ctx, config):
        return {}


@hookimpl
def utask_action_plugins():
    return [Future()]
'''


def sandboxed_children(pid: int) -> list[str]:
    """The sandboxed processes (workers, catalog) `pid` started, by the plugin name in their policy."""
    names = []
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            if (child / "stat").read_text().rsplit(")", 1)[1].split()[1] != str(pid):
                continue
            argv = (child / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 4 and argv[3].endswith(b"boot.py"):
            names.append(json.loads(argv[4])["plugin"])
    return sorted(names)


def serve(env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([UTASK_BIN, "serve"], env=clean_environ(**env), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_serve_starts_without_workers_and_the_first_task_starts_the_one_it_needs(fresh_database, port, workdir):
    proc = serve({**utask_env(fresh_database()), "SERVER_PORT": str(port)}, workdir)
    try:
        wait_for_ping(proc, port)
        assert sandboxed_children(proc.pid) == []  # catalog gone, no worker yet
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=ADMIN, timeout=10) as client:
            created = client.post("/task", json={"template_name": "hello-world", "input": {"name": "Ada"}})
            assert created.status_code == 201, created.text
            assert wait_task(client, created.json()["id"], {"DONE", "BLOCKED"})["state"] == "DONE"
        assert sandboxed_children(proc.pid) == ["echo"]
    finally:
        stop(proc)


def test_prestart_starts_the_named_workers_with_the_server(fresh_database, port, workdir):
    cfg = {"admin_usernames": ["admin"], "sandbox": {"prestart": ["echo", "tag"], "idle_timeout": "1h"}}
    env = {**utask_env(fresh_database(), CFG_UTASK_CFG=json.dumps(cfg)), "SERVER_PORT": str(port)}
    proc = serve(env, workdir)
    try:
        wait_for_ping(proc, port)
        assert sandboxed_children(proc.pid) == ["echo", "tag"]
    finally:
        stop(proc)


def test_a_template_with_a_bad_step_configuration_stops_start_up(fresh_database, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad-echo.yaml").write_text(BAD_ECHO)
    env = utask_env(fresh_database(), TEMPLATES=str(tmp_path / "templates"))
    done = run_cli("serve", env=env, timeout=120)
    assert done.returncode != 0
    assert ("failed to create template 'bad-echo': Invalid task template: Invalid step say: Invalid executor "
            "action: Wrong error type: expecting 'client' or 'server'") in done.stderr
    assert "Traceback" not in done.stderr


def test_a_plugin_built_for_an_incompatible_protocol_stops_start_up(fresh_database, tmp_path):
    site = tmp_path / "site"
    (site / "future_plugin-9.0.0.dist-info").mkdir(parents=True)
    (site / "future_plugin.py").write_text(FUTURE_PLUGIN)
    (site / "future_plugin-9.0.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: future-plugin\nVersion: 9.0.0\n")
    (site / "future_plugin-9.0.0.dist-info" / "entry_points.txt").write_text(
        "[utask.plugins]\nfuture = future_plugin\n")
    (tmp_path / "templates").mkdir()
    env = utask_env(fresh_database(), TEMPLATES=str(tmp_path / "templates"), PYTHONPATH=str(site))
    done = run_cli("serve", env=env, timeout=120)
    assert done.returncode != 0
    assert ("plugins refused: plugin 'future' refused: plugin 'future' speaks protocol 2.0.0, this server speaks "
            "1.0.0: incompatible major version") in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("sandbox", "message"), [
    ({"prestart": ["nope"]}, "sandbox.prestart: unknown plugin 'nope' (installed: batch, cache, callback, echo,"),
    ({"idle_timeout": "soon"}, "sandbox.idle_timeout: invalid duration 'soon'"),
])
def test_bad_lifecycle_settings_stop_start_up_with_one_line(fresh_database, tmp_path, sandbox, message):
    (tmp_path / "templates").mkdir()
    cfg = {"admin_usernames": ["admin"], "sandbox": sandbox}
    env = utask_env(fresh_database(), TEMPLATES=str(tmp_path / "templates"), CFG_UTASK_CFG=json.dumps(cfg))
    done = run_cli("serve", env=env, timeout=120)
    assert done.returncode != 0
    assert f'configuration item "utask-cfg": {message}' in done.stderr
    assert "Traceback" not in done.stderr
