"""Init plugins (trusted, in the server process) are visible: `utask plugins` (text and --json) lists them
with their distribution, version and hooks, and `utask serve` names them in its start-up log.

The init plugin is a real distribution: a module and its `.dist-info` (entry point of the group
`utask.plugins`) in a folder on the path, found by the same discovery as the server's.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from utask_sdk import hookimpl

from tests.foundation.conftest import UTASK_BIN, clean_environ, free_port, utask_env
from tests.foundation.test_cli import wait_for_ping

MODULE = "utask_init_company"
DIST, VERSION = "utask-init-company", "1.2.0"
ENTRY_POINT = "company-sso"
HOOKS = ["utask_auth_providers", "utask_group_providers", "utask_extra_routes", "utask_http_middlewares"]

README = Path(__file__).resolve().parents[2] / "sdk" / "README.md"


def readme_example() -> str:
    """The init plugin of the SDK's README (section Hooks), as written there."""
    text = README.read_text()
    hooks = text[text.index("### Hooks"):text.index("## The sandbox your code runs in")]
    found = re.search(r"```python\n(# utask_init_company\.py.*?)```", hooks, re.S)
    assert found, "the README's init plugin example is gone"
    return found.group(1)


@pytest.fixture(scope="module")
def init_dist() -> Iterator[Path]:
    """A folder holding the plugin's module and its distribution metadata, on `sys.path` meanwhile.

    Readable by the sandbox's unprivileged uid: the server hands its `sys.path` to the plugin workers."""
    folder = Path(tempfile.mkdtemp(prefix="utask-init-plugin-", dir="/tmp"))
    folder.chmod(0o755)
    (folder / f"{MODULE}.py").write_text(readme_example())
    info = folder / f"{DIST.replace('-', '_')}-{VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n")
    (info / "entry_points.txt").write_text(f"[utask.plugins]\n{ENTRY_POINT} = {MODULE}\n")
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)
        shutil.rmtree(folder, ignore_errors=True)


EXPECTED_ROW = {"name": ENTRY_POINT, "distribution": DIST, "version": VERSION, "module": MODULE, "hooks": HOOKS}


def test_utask_plugins_says_when_there_is_no_init_plugin(capsys):
    # First in this module: the module-scoped `init_dist` is not installed yet.
    from utask.hostapi.cli import main

    assert main(["plugins"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("init plugins: none")


def test_describe_lists_init_plugins_only(init_dist):
    from utask.core.plugins.init_plugins import describe_init_plugins, init_hook_names, summary
    from utask.core.plugins.manager import build_manager

    assert init_hook_names() == ("utask_auth_providers", "utask_group_providers", "utask_config_sources",
                                 "utask_extra_routes", "utask_http_middlewares")
    rows = describe_init_plugins(build_manager())
    # The builtin action plugins implement no init hook: only the company plugin is listed.
    assert rows == [EXPECTED_ROW]
    assert summary(rows) == f"{ENTRY_POINT} ({DIST} {VERSION}: {', '.join(HOOKS)})"
    assert summary([]) == "none"


def test_describe_names_plugins_registered_by_module():
    from utask.core.plugins.init_plugins import describe_init_plugins, summary
    from utask.core.plugins.manager import build_manager

    pm = build_manager(modules=("tests.plugins.readme_example",), entry_points=False)
    assert describe_init_plugins(pm) == []  # an action plugin only

    class Groups:
        @hookimpl
        def utask_group_providers(self):
            return [lambda username: ["staff"]]

    pm.register(Groups(), name="groups")
    rows = describe_init_plugins(pm)
    assert rows == [{"name": "groups", "distribution": None, "version": None,
                     "module": f"{__name__}.test_describe_names_plugins_registered_by_module.<locals>.Groups",
                     "hooks": ["utask_group_providers"]}]
    assert summary(rows).startswith("groups (tests.plugins.test_init_plugins.")


def test_utask_plugins_lists_init_plugins_in_text_and_json(init_dist, capsys):
    from utask.hostapi.cli import main

    assert main(["plugins", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["init_plugins"] == [EXPECTED_ROW]
    # The action plugins' listing is unchanged beside it.
    assert "echo" in {row["name"] for row in document["plugins"]} and document["server_protocol"]

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "sandbox layers applied:" in out  # the action plugins' part
    lines = out.splitlines()
    start = lines.index("init plugins (trusted, run inside the server process):")
    assert lines[start + 1].split() == ["NAME", "DISTRIBUTION", "VERSION", "HOOKS"]
    assert lines[start + 2].split() == [ENTRY_POINT, DIST, VERSION, *", ".join(HOOKS).split()]


def test_serve_logs_init_plugins_at_start_up_and_runs_them(init_dist, fresh_database, tmp_path):
    """`utask serve` with the README's init plugin installed: logged at start-up, and each hook works as
    the README says."""
    port = free_port()
    (tmp_path / "templates").mkdir()
    env = clean_environ(**utask_env(fresh_database()), SERVER_PORT=str(port), PYTHONPATH=str(init_dist))
    proc = subprocess.Popen([UTASK_BIN, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_ping(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            # The provider names the caller; the group provider adds its group; the middleware stamps.
            r = client.get("/company/whoami", headers={"x-company-token": "t-42"})
            assert r.json() == {"user": "alice", "groups": ["company-staff"], "admin": False}, r.text
            assert r.headers["x-served-by"] == "company"
            # µTask's routes use the same providers.
            assert client.get("/meta", headers={"x-company-token": "t-42"}).json()["username"] == "alice"
            # No token: the default provider (basic-auth here); its groups from groups-auth.
            r = client.get("/company/whoami", auth=("admin", "1234"))
            assert r.json() == {"user": "admin", "groups": ["admins"], "admin": True}, r.text
            # A provider's exception refuses the request; so does the default without credentials.
            refused = client.get("/company/whoami", headers={"x-company-token": "nope"})
            assert refused.status_code == 401 and refused.headers["x-served-by"] == "company"
            assert client.get("/company/whoami").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    logged = [line for line in lines if "init plugins loaded:" in line]
    assert len(logged) == 1, err
    assert logged[0].endswith(f'level=info msg="init plugins loaded: {ENTRY_POINT} ({DIST} {VERSION}: '
                              f'{", ".join(HOOKS)})"'), logged
    ready = next(i for i, line in enumerate(lines) if "plugins ready:" in line)
    assert lines[ready + 1] == logged[0]
