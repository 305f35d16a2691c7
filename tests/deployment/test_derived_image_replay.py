"""The derived image's build, replayed without Docker: a fresh virtualenv stands for the base image's
/opt/utask (SDK, server and builtin plugins installed from this repository as regular wheels, the plugin
scaffold inside the `utask` wheel), then the deployer's repository laid out by install-utask.sh
gets a scaffolded plugin, installed as its Dockerfile installs every plugin of plugins/; `make check-local`
checks its templates and runs the plugin's tests; `utask` serves with the image's environment and the
compose file's configuration, and both the example task and one using the new plugin run to DONE."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.foundation.conftest import clean_environ
from tests.foundation.test_cli import wait_for_ping

from .conftest import BIN, REPO, install, run
from .test_static import compose_environment, stages, values

SYSTEM_PYTHON = "/usr/bin/python3.11"
UV = BIN / "uv"
ADMIN = ("admin", "1234")

pytestmark = pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON) or not UV.exists(),
                                reason="needs /usr/bin/python3.11 and uv")

GREET_TEMPLATE = """\
name: greet-someone
description: Runs the action plugin scaffolded into plugins/
title_format: "Greet {{.input.name}}"
auto_runnable: true
allow_all_resolver_usernames: true
inputs:
  - name: name
    regex: "^[A-Za-z]{1,32}$"
steps:
  greet:
    description: The deployer's own action
    action:
      type: greet
      configuration:
        message: "Hi {{.input.name}}, from plugins/"
result_format:
  message: "{{.step.greet.output.message}}"
"""


def uv_install(python: Path, *args: str, cwd: Path | None = None) -> None:
    """uv with the local paths; the dependencies come from uv's cache (filled by `make install`), the index
    only when the cache lacks them."""
    base = [str(UV), "pip", "install", "-q", "--python", str(python)]
    done = subprocess.run(base + ["--offline", *args], capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        done = subprocess.run(base + list(args), capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def readable_dir() -> Iterator[Path]:
    """The sandbox drops plugin executions to an unprivileged uid that must read the venv (pytest's tmp_path
    is private)."""
    path = Path(tempfile.mkdtemp(prefix="utask-deploy-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def image(readable_dir: Path) -> Path:
    """The base image's /opt/utask, replayed: the builder stage's COPY sources, then its installs."""
    builder = stages(REPO / "Dockerfile")[0]
    src = readable_dir / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.pyc")
    for copy in values(builder, "COPY"):
        *sources, _dest = copy.split()
        for name in sources:
            origin = REPO / name.rstrip("/")
            if origin.is_dir():
                shutil.copytree(origin, src / origin.name, ignore=ignore)
            else:
                shutil.copy2(origin, src / origin.name)
    install_run = values(builder, "RUN")[0]
    assert "./sdk" in install_run and ". ./builtin-plugins/*" in install_run  # what is replayed below

    venv = readable_dir / "opt-utask"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    plugins = sorted(str(p.parent.relative_to(src)) for p in (src / "builtin-plugins").glob("*/pyproject.toml"))
    # Non-editable: wheels built from the copied sources, as `pip install ./sdk . ./builtin-plugins/*` does.
    # Without build isolation (setuptools installed once, here) the fourteen builds take ~5 s instead of ~30 s:
    # the same setuptools backend builds the same wheels, only not in a fresh environment each.
    uv_install(python, "setuptools>=69", "wheel")
    uv_install(python, "--no-build-isolation", "./sdk", ".", *plugins, cwd=src)
    # The builder's second RUN compiles bytecode; the plugin scaffold comes inside the `utask` wheel.
    assert values(builder, "RUN")[1].startswith("/opt/utask/bin/python -m compileall")
    package_dir = run(str(python), "-c", "import utask.core, os; print(os.path.dirname(os.path.dirname(utask.core.__file__)))",
                      check=True).stdout.strip()
    assert (Path(package_dir) / "scaffold" / "cookiecutter.json").is_file()
    # Regular installs, not editable ones pointing back into a source tree.
    assert Path(package_dir).is_relative_to(venv) and not list(Path(package_dir).parent.glob("__editable__*"))
    return venv


def healthcheck(python: str, port: int) -> subprocess.CompletedProcess:
    """The base image's HEALTHCHECK command, run with the image's interpreter."""
    (final,) = [s for s in stages(REPO / "Dockerfile")[1:]]
    command = json.loads(values(final, "HEALTHCHECK")[0].split(" CMD ", 1)[1])
    assert command[0] == "python"
    return run(python, *command[1:], env={"SERVER_PORT": str(port), "PATH": "/usr/bin:/bin"})


def test_derived_image_builds_checks_and_runs_the_example_and_a_new_plugin(
        image: Path, readable_dir: Path, fresh_database, port: int) -> None:
    utask, python = str(image / "bin" / "utask"), str(image / "bin" / "python")
    deployer = readable_dir / "my-utask"
    assert install(deployer).returncode == 0

    # `make plugin NAME=greet` runs `utask plugin new` in the base image: the scaffold must be found there.
    env = {"PATH": f"{image / 'bin'}:/usr/bin:/bin", "HOME": str(readable_dir)}
    scaffolded = run(utask, "plugin", "new", "greet", "-o", str(deployer / "plugins"), env=env, check=True)
    assert scaffolded.stdout.strip().endswith("plugins/utask-plugin-greet")
    (deployer / "templates" / "greet-someone.yaml").write_text(GREET_TEMPLATE)

    # The derived Dockerfile: every folder of plugins/ holding a pyproject.toml, installed as a wheel.
    plugin_dirs = [p.parent for p in sorted((deployer / "plugins").glob("*/pyproject.toml"))]
    assert [p.name for p in plugin_dirs] == ["utask-plugin-greet"]
    uv_install(image / "bin" / "python", "--no-build-isolation", *map(str, plugin_dirs))
    uv_install(image / "bin" / "python", "pytest>=8,<9")  # the `check` stage's addition

    # `make check`, without Docker: templates checked with the installed plugins, the plugin's tests run.
    check_env = clean_environ(HOME=str(readable_dir))
    checked = run("make", "-C", str(deployer), "check-local", f"UTASK={utask}", f"PYTHON={python}", env=check_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 passed" in checked.stdout

    # The image's environment (TEMPLATES, FUNCTIONS, SCRIPTS point at the copied folders) and the compose
    # file's configuration items, with a scratch database instead of the `db` service.
    config = compose_environment(deployer / "docker-compose.yaml")
    config["CFG_DATABASE"] = fresh_database()
    serve_env = clean_environ(**config, TEMPLATES=str(deployer / "templates"),
                              FUNCTIONS=str(deployer / "functions"), SCRIPTS=str(deployer / "scripts"),
                              SERVER_PORT=str(port), SERVER_HOST="127.0.0.1", HOME=str(readable_dir))
    serve_env["PATH"] = f"{image / 'bin'}:{serve_env.get('PATH', '/usr/bin:/bin')}"
    # ENTRYPOINT ["utask"] + CMD ["serve"], from a working directory without templates of its own.
    proc = subprocess.Popen([utask, "serve"], env=serve_env, cwd="/", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_ping(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=ADMIN, timeout=10) as client:
            names = {t["name"] for t in client.get("/template").json()}
            assert {"hello-world", "greet-someone"} <= names

            hello = _run_task(client, "hello-world", {"name": "Ada"})
            assert hello["result"] == {"greeting": "Hello Ada!", "shout": "DONE"}
            greet = _run_task(client, "greet-someone", {"name": "Grace"})
            assert greet["result"] == {"message": "Hi Grace, from plugins/"}
        assert healthcheck(python, port).returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert healthcheck(python, port).returncode != 0  # and it notices when the server is gone


def _run_task(client: httpx.Client, template: str, inputs: dict) -> dict:
    created = client.post("/task", json={"template_name": template, "input": inputs})
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 30
    while True:
        task = client.get(f"/task/{created.json()['id']}").json()
        if task["state"] in ("DONE", "BLOCKED") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert task["state"] == "DONE", task
    return task


def test_compose_key_is_what_the_derived_compose_uses() -> None:
    """Both compose files carry the same development configuration (one source of truth for the docs)."""
    with tempfile.TemporaryDirectory() as tmp:
        assert install(Path(tmp) / "d").returncode == 0
        derived = compose_environment(Path(tmp) / "d" / "docker-compose.yaml")
    base = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["services"]["utask"]["environment"]
    assert {k: v for k, v in base.items() if k.startswith(("CFG_", "CONFIGURATION"))} == derived
