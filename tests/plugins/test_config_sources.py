"""Configuration sources of init plugins (`utask_config_sources`): `CONFIGURATION_FROM=<scheme>:<argument>`
reads the server's configuration items from a plugin's loader, like µTask's configstore providers registered
by init plugins. The plugin is a real distribution (module + `.dist-info` on the path)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from utask.core.config import store as config_store
from utask.core.config.errors import ConfigError
from utask.core.config.store import ConfigStore

from tests.foundation.conftest import UTASK_BIN, clean_environ, free_port, utask_env
from tests.foundation.test_cli import wait_for_ping

MODULE = "utask_config_vault"
PLUGIN = '''
import json

from utask_sdk import hookimpl


def load(argument):
    """`vault:<path of a JSON object of items>`, standing in for a secret store's client."""
    with open(argument) as f:
        return json.load(f)


@hookimpl
def utask_config_sources():
    return {"vault": load}
'''


@pytest.fixture
def vault_dist() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="utask-config-source-", dir="/tmp"))
    folder.chmod(0o755)
    (folder / f"{MODULE}.py").write_text(PLUGIN)
    info = folder / "utask_config_vault-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: utask-config-vault\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text(f"[utask.plugins]\nvault = {MODULE}\n")
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    sys.path.insert(0, str(folder))
    config_store._sources = None  # plugins are looked up once per process
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)
        config_store._sources = None
        shutil.rmtree(folder, ignore_errors=True)


def test_a_plugin_scheme_provides_items(vault_dist, tmp_path):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"utask_cfg": '{"admin_usernames": ["a"]}', "basic-auth": '{"a": "b"}'}))
    store = ConfigStore.from_spec(f"vault:{secrets},env:CFG", {"CFG_BASIC_AUTH": '{"a": "env"}'})
    assert store.require("utask-cfg").value == '{"admin_usernames": ["a"]}'
    assert store.require("utask-cfg").source == f"vault:{secrets}"
    # it ranks with the environment: the same item from both is ambiguous, as between two env providers
    assert [it.value for it in store.get_all("basic-auth")] == ['{"a": "b"}', '{"a": "env"}']
    with pytest.raises(ConfigError, match="ambiguous: 2 items of the same priority"):
        store.get("basic-auth")
    with pytest.raises(ConfigError, match=r'provider "vault:/nope.json": FileNotFoundError: .*nope.json'):
        ConfigStore.from_spec("vault:/nope.json", {})
    with pytest.raises(ConfigError, match=r'provider "vaul:x": failed to instantiate provider factory \(known: env:'
                                          r'PREFIX, file:PATH, filelist:DIR, filetree:DIR, vault:... \(init plugin\)\)'):
        ConfigStore.from_spec("vaul:x", {})


def test_serve_configured_by_an_init_plugin(vault_dist, fresh_database, tmp_path):
    items = {k.removeprefix("CFG_").lower().replace("_", "-"): v
             for k, v in utask_env(fresh_database()).items() if k.startswith("CFG_")}
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps(items))
    secrets.chmod(0o644)
    port = free_port()
    (tmp_path / "templates").mkdir()
    env = clean_environ(CONFIGURATION_FROM=f"vault:{secrets}", SERVER_PORT=str(port), PYTHONPATH=str(vault_dist))
    proc = subprocess.Popen([UTASK_BIN, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_ping(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert client.get("/meta", auth=("admin", "1234")).json()["username"] == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
