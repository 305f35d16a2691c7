"""What a plugin developer reported, through the real sandbox and the real `utask` command: an output JSON
cannot encode, `sys.exit` in `execute`, a socket call refused for want of network, a malformed `protocol`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from utask.core.plugins import PluginHost, PluginRefusedError
from utask.core.plugins.worker import NO_NETWORK_HINT
from utask_sdk.testing import Sandbox

from tests.foundation.conftest import run_cli, utask_env

MODULE = "tests.plugins.devx_plugins"
HINT = NO_NETWORK_HINT.format(name="devx")
LIMITS = {"timeout": "5s", "memory_mb": 128}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(sandbox={"defaults": LIMITS}, modules=[MODULE], entry_points=False) as sandbox:
        yield sandbox


def test_the_hint_names_the_plugin_and_both_places_to_set_network():
    assert HINT == (" (this plugin's sandbox profile has no network: set network in its SandboxProfile or in "
                    "utask-cfg sandbox.plugins.devx)")


# --- 3. an output JSON cannot encode ---------------------------------------------------------------------
def test_an_output_json_cannot_encode_is_a_fatal_error_with_no_output_stored(box):
    result = box.run("devx", {"do": "unserialisable"})
    assert result.error is not None and result.error.kind == "fatal"
    assert result.error.message == "plugin output can't be json.Marshal: json: unsupported type: object"
    assert result.output is None and result.metadata is None  # not "{'value': <object object at 0x...>}"
    assert result.logs == ["INFO returning an object"]  # what it logged is kept


def test_metadata_json_cannot_encode_is_the_same_error(box):
    result = box.run("devx", {"do": "unserialisable_metadata"})
    assert result.error is not None and result.error.kind == "fatal"
    assert result.error.message == "plugin output can't be json.Marshal: json: unsupported type: set"
    assert result.output is None and result.metadata is None


# --- 4. sys.exit in execute ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "message"), [
    (3, "plugin called sys.exit(3) without a result"),
    (0, "plugin called sys.exit(0) without a result"),
    (None, "plugin called sys.exit() without a result"),
    ("bye", "plugin called sys.exit('bye') without a result"),
])
def test_sys_exit_in_execute_is_a_server_error_naming_its_status(box, code, message):
    result = box.run("devx", {"do": "exit", "code": code})
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == message
    assert result.logs == ["INFO exiting"]


def test_a_process_that_ends_itself_reports_its_own_status(box):
    result = box.run("devx", {"do": "os_exit", "code": 4})
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == "plugin process exited with status 4 without a result"


# --- 5. a socket call refused without network ----------------------------------------------------------------
def test_a_connection_refused_by_the_sandbox_says_the_profile_has_no_network(box):
    result = box.run("devx", {"do": "connect"})
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == "[Errno 1] Operation not permitted" + HINT


def test_the_hint_follows_a_socket_error_the_plugin_turned_into_its_own(box):
    result = box.run("devx", {"do": "wrapped_connect"})
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == "cannot reach the service: [Errno 1] Operation not permitted" + HINT


def test_a_socket_object_refused_by_its_own_connect_gets_the_hint_too():
    # Without the seccomp layer creating the socket works, and Landlock (EACCES) or the private network
    # namespace (ENETUNREACH) refuse `sock.connect(...)`: a C method, raised in the plugin's own frame.
    with Sandbox(sandbox={"defaults": LIMITS}, modules=[MODULE], entry_points=False,
                 skip_layers=("seccomp",)) as box:
        result = box.run("devx", {"do": "raw_connect"})
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message in ("[Errno 13] Permission denied" + HINT, "[Errno 101] Network is unreachable" + HINT)


@pytest.mark.parametrize("config", [
    {"do": "write", "path": "/root/utask-devx-probe"},  # EACCES (Landlock, or the directory's mode)
    {"do": "write", "path": "/usr/utask-devx-probe"},  # EROFS/EACCES
    {"do": "kill", "pid": 1},  # EPERM, from os.kill
])
def test_permission_errors_of_files_and_processes_get_no_network_hint(box, config):
    result = box.run("devx", config)
    assert result.error is not None and result.error.kind == "server"
    assert "network" not in result.error.message
    assert any(text in result.error.message for text in ("Permission denied", "Read-only file system",
                                                         "Operation not permitted"))


def test_no_hint_when_the_operator_gave_the_plugin_network():
    cfg = {"defaults": LIMITS, "plugins": {"devx": {"network": True}}}
    with Sandbox(sandbox=cfg, modules=[MODULE], entry_points=False) as box:
        result = box.run("devx", {"do": "raw_connect", "host": "127.0.0.1", "port": 9})
    assert result.error is not None and "network" not in result.error.message  # connection refused, plainly


# --- 6. a malformed `protocol` attribute --------------------------------------------------------------------
BAD = "tests.plugins.bad_protocol_plugins"
BANANA = ("plugin 'banana' declares protocol 'banana', which is not a version (MAJOR.MINOR.PATCH, this server "
          "speaks 1.0.0; leave `protocol` unset to get the SDK's)")
NUMERIC = ("plugin 'numeric' declares protocol 1, which is not a version (MAJOR.MINOR.PATCH, this server "
           "speaks 1.0.0; leave `protocol` unset to get the SDK's)")


def test_a_malformed_protocol_refuses_that_plugin_by_name_and_the_others_run():
    host = PluginHost.from_config({"defaults": LIMITS}, modules=[BAD], entry_points=False, strict=False)

    async def go():
        await host.start()
        try:
            rows = {row["name"]: row for row in host.describe()}
            from utask.core.plugins import ExecutionIdentity

            fine = await host.execute("fine", config={}, identity=ExecutionIdentity("t", "r", "s"))
            return rows, fine
        finally:
            await host.stop()

    rows, fine = asyncio.run(go())
    assert host.refused == {"banana": BANANA, "numeric": NUMERIC}
    assert rows["banana"]["status"] == rows["numeric"]["status"] == "refused"
    assert rows["fine"]["status"] == "ready" and fine.error is None and fine.output == {"fine": True}


def test_a_malformed_protocol_stops_a_strict_start_naming_the_plugins():
    host = PluginHost.from_config({"defaults": LIMITS}, modules=[BAD], entry_points=False)
    with pytest.raises(PluginRefusedError) as err:
        asyncio.run(host.start())
    assert str(err.value) == f"plugin 'banana' refused: {BANANA}; plugin 'numeric' refused: {NUMERIC}"


@pytest.fixture
def bad_site(readable_dir: Path) -> Path:
    """The plugins installed as a distribution would be: a module and its dist-info with the entry points
    (where the sandbox's uid can read them)."""
    site = readable_dir / "site"
    dist = site / "bad_protocol_plugins-1.0.0.dist-info"
    dist.mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("bad_protocol_plugins.py"), site / "bad_protocol_plugins.py")
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-protocol-plugins\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[utask.plugins]\nbad = bad_protocol_plugins\n")
    return site


def test_utask_plugins_lists_the_refused_plugins_by_name(bad_site, tmp_path):
    cfg = tmp_path / "utask-cfg.json"
    cfg.write_text(json.dumps({"sandbox": {"defaults": {"timeout": "10s"}}}))
    env = {"PYTHONPATH": str(bad_site), "PATH": os.environ.get("PATH", "")}
    done = run_cli("plugins", "--utask-cfg", str(cfg), env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    assert f"banana: refused: {BANANA}" in done.stdout
    assert f"numeric: refused: {NUMERIC}" in done.stdout
    assert "fine: sandbox layers applied:" in done.stdout
    listed = run_cli("plugins", "--json", "--utask-cfg", str(cfg), env=env, timeout=300)
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["banana"]["refused"] == BANANA and rows["numeric"]["protocol"] == 1
    assert rows["fine"]["status"] == "ready"


def test_utask_serve_refuses_to_start_naming_the_plugin(bad_site, tmp_path, fresh_database):
    (tmp_path / "templates").mkdir()
    env = utask_env(fresh_database(), TEMPLATES=str(tmp_path / "templates"), PYTHONPATH=str(bad_site))
    done = run_cli("serve", env=env, timeout=120)
    assert done.returncode != 0
    assert f"plugins refused: plugin 'banana' refused: {BANANA}; plugin 'numeric' refused: {NUMERIC}" in done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
